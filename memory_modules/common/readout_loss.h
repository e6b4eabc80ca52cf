#ifndef MNEMO_MEMORY_MODULES_COMMON_READOUT_LOSS_H_
#define MNEMO_MEMORY_MODULES_COMMON_READOUT_LOSS_H_

// The read-out cross-entropy of a memory with learnable class values: the
// memory's prediction for query b is the attention-weighted mix of its slots'
// class distributions,
//
//   a_bm   = softmax_m(s_bm),  s_bm = cos(q_b, k_m) / T
//   p_b    = sum_m a_bm softmax(v_m)               (v_m: slot m's value logits)
//   loss   = mean over all B queries of -log p_b[y_b]
//
// computed in the log domain, so that no probability underflows: with
// z_bm = s_bm + log softmax(v_m)[y_b],
//
//   loss_b = LSE_m s_bm - LSE_m z_bm
//
// and, with r_bm = softmax_m(z_b) (how much slot m explains y_b),
//
//   dloss_b/ds_bm  = a_bm - r_bm
//   dloss_b/dv_mc  = r_bm (softmax(v_m)_c - [c = y_b]).
//
// Unlike the contrastive loss every query counts: the memory predicts a class
// for it whether or not its class is stored. An empty memory gives 0.

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "memory_modules/common/similarity.h"

namespace mnemo::memory {

// From the cosines (B x n) and the values (n x C): returns the loss, ADDS
// dLoss/dcosines into *grad_cosines (already B x n) when it is not null, and
// writes dLoss/dvalues (n x C) into *grad_values when it is not null. Labels
// must be in [0, C) and temperature > 0.
template <typename T>
T ReadoutLossFromCosines(const ConstMatrixRef<T>& cosines, const ConstMatrixRef<T>& values,
                         absl::Span<const int> labels, T temperature, Matrix<T>* grad_cosines,
                         Matrix<T>* grad_values);

// The whole loss from raw features (B x d), raw keys (n x d, normalised here)
// and values (n x C): writes the gradients by each (any may be null). Errors
// on mismatched sizes, labels outside [0, C) or temperature <= 0.
template <typename T>
absl::StatusOr<T> MemoryReadoutLoss(const ConstMatrixRef<T>& features, absl::Span<const int> labels,
                                    const ConstMatrixRef<T>& keys, const ConstMatrixRef<T>& values,
                                    T temperature, Matrix<T>* grad_features, Matrix<T>* grad_keys,
                                    Matrix<T>* grad_values);

}  // namespace mnemo::memory

#endif  // MNEMO_MEMORY_MODULES_COMMON_READOUT_LOSS_H_
