#include "memory_modules/common/vote.h"

#include <algorithm>

namespace mnemo::memory {

Retrieval Vote(const TopK& top, absl::Span<const int> slot_labels,
               absl::Span<const float> certainty) {
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
