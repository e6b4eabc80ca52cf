#ifndef MNEMO_MEMORY_MODULES_COMMON_CONTRASTIVE_LOSS_H_
#define MNEMO_MEMORY_MODULES_COMMON_CONTRASTIVE_LOSS_H_

// The memory contrastive loss: pulls each query towards the stored items of
// its class and away from the others. For query b with label y_b, against the
// n stored keys k_m with labels l_m, at temperature T:
//
//   s_bm   = cos(q_b, k_m) / T
//   P_b    = { m : l_m = y_b }                       (the positives)
//   loss_b = -log( sum_{m in P_b} exp s_bm / sum_m exp s_bm )
//          = LSE_m s_bm - LSE_{m in P_b} s_bm        (each LSE with its own max)
//   loss   = mean of loss_b over the queries whose P_b is not empty
//
// A query without a positive (its class absent from memory) contributes 0
// and gets zero gradient; an empty memory, or no query with a positive,
// gives 0. The gradient by s_bm is softmax_m(s_b) - [m in P_b] softmax over
// P_b, divided by the number of queries counted.

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "memory_modules/common/similarity.h"

namespace mnemo::memory {

// From the cosines (B x n) of the queries with the keys: returns the loss and
// ADDS dLoss/dcosines into *grad_cosines (already B x n) when it is not null.
// *counted, when not null, receives the number of queries with a positive.
// Sizes must agree (labels: B, key_labels: n) and temperature be > 0.
template <typename T>
T ContrastiveLossFromCosines(const ConstMatrixRef<T>& cosines, absl::Span<const int> labels,
                             absl::Span<const int> key_labels, T temperature,
                             Matrix<T>* grad_cosines, int* counted = nullptr);

// The whole loss from raw features (B x d) and raw keys (n x d), both
// normalised here: writes dLoss/dfeatures (B x d) into *grad_features and,
// when grad_keys is not null, dLoss/dkeys (n x d) into *grad_keys, through
// the normalisations. Errors on mismatched sizes or temperature <= 0.
template <typename T>
absl::StatusOr<T> MemoryContrastiveLoss(const ConstMatrixRef<T>& features,
                                        absl::Span<const int> labels, const ConstMatrixRef<T>& keys,
                                        absl::Span<const int> key_labels, T temperature,
                                        Matrix<T>* grad_features, Matrix<T>* grad_keys);

}  // namespace mnemo::memory

#endif  // MNEMO_MEMORY_MODULES_COMMON_CONTRASTIVE_LOSS_H_
