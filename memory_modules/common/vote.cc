#include "memory_modules/common/vote.h"

#include <algorithm>

namespace mnemo::memory {

Retrieval Vote(const TopK& top, absl::Span<const int> slot_labels,
               absl::Span<const float> certainty, VoteRule rule) {
  Retrieval answer;
  answer.label.assign(top.rows, -1);
  answer.confidence.assign(top.rows, 0.0f);
  answer.slot.assign(top.rows, -1);
  if (top.k == 0) return answer;
  auto weight = [&](int slot, float cosine) {
    const float clipped = std::clamp(cosine, 0.0f, 1.0f);
    return certainty.empty() ? clipped : clipped * certainty[slot];
  };
  for (int r = 0; r < top.rows; ++r) {
    const int* index = top.index.data() + static_cast<size_t>(r) * top.k;
    const float* score = top.score.data() + static_cast<size_t>(r) * top.k;
    if (rule == VoteRule::kMargin) {
      int best = 0;
      for (int j = 1; j < top.k; ++j) {
        if (weight(index[j], score[j]) > weight(index[best], score[best])) best = j;
      }
      const int label = slot_labels[index[best]];
      float other = -1.0f, lowest = 2.0f;
      for (int j = 0; j < top.k; ++j) {
        const float w = weight(index[j], score[j]);
        lowest = std::min(lowest, w);
        if (slot_labels[index[j]] != label) other = std::max(other, w);
      }
      const float runner_up = top.k == 1 ? 0.0f : (other >= 0.0f ? other : lowest);
      answer.label[r] = label;
      answer.slot[r] = index[best];
      answer.confidence[r] = std::clamp(weight(index[best], score[best]) - runner_up, 0.0f, 1.0f);
      continue;
    }
    // k is small: summing each class over the k neighbours beats a map.
    // Neighbours come best first, so the first class to reach the largest
    // sum is the tie-break winner and its first neighbour its best one.
    int winner = 0;
    float winner_sum = -1.0f;
    for (int j = 0; j < top.k; ++j) {
      const int label = slot_labels[index[j]];
      bool counted = false;
      for (int i = 0; i < j && !counted; ++i) counted = slot_labels[index[i]] == label;
      if (counted) continue;
      float sum = 0.0f;
      for (int i = j; i < top.k; ++i) {
        if (slot_labels[index[i]] == label) sum += weight(index[i], score[i]);
      }
      if (sum > winner_sum) {
        winner = j;
        winner_sum = sum;
      }
    }
    answer.label[r] = slot_labels[index[winner]];
    answer.slot[r] = index[winner];
    answer.confidence[r] = std::clamp(winner_sum / static_cast<float>(top.k), 0.0f, 1.0f);
  }
  return answer;
}

}  // namespace mnemo::memory
