#ifndef MNEMO_MEMORY_MODULES_COMMON_VOTE_H_
#define MNEMO_MEMORY_MODULES_COMMON_VOTE_H_

#include "absl/types/span.h"
#include "core/memory_module.h"
#include "core/memory_settings.h"
#include "memory_modules/common/top_k.h"

namespace mnemo::memory {

// Turns each row's top-k neighbours (scores are cosines) into the memory's
// answer. Neighbour j votes for slot_labels[slot] with weight
//   w_j = clip(cosine_j, 0, 1) * certainty[slot]
// (certainty: how sure the slot is of its class, in [0, 1]; empty = all 1).
// The class with the largest summed weight wins; on a tie, the class whose
// best neighbour ranks higher. Then
//   confidence = (sum of the winner's weights) / k,   slot = its best neighbour
// with k the number of neighbours there were (top.k: fewer than requested
// when the memory holds fewer items, so that a small memory can still be
// confident). With k = 1 this is the best match's clipped cosine times its
// certainty. A row with no neighbour (empty memory) answers label -1,
// slot -1, confidence 0.
//
// VoteRule::kMargin instead: the neighbour of the largest weight answers
// (its class and slot; the better-ranked on a tie), and
//   confidence = w_best - (the largest weight of a neighbour of another class)
// or, when all k are of its class, w_best - (the smallest weight among them),
// which is at most the lead over the nearest item of another class beyond
// the k. A class with few items answers when its nearest item is clearly
// nearer than any other class's, however many items those classes hold.
// With k = 1 it is the best match's weight, as the similarity vote's.
Retrieval Vote(const TopK& top, absl::Span<const int> slot_labels,
               absl::Span<const float> certainty, VoteRule rule = VoteRule::kSimilarity);

}  // namespace mnemo::memory

#endif  // MNEMO_MEMORY_MODULES_COMMON_VOTE_H_
