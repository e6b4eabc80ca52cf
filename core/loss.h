#ifndef MNEMO_CORE_LOSS_H_
#define MNEMO_CORE_LOSS_H_

#include <cstdint>

#include "absl/types/span.h"
#include "core/tensor.h"

namespace mnemo {

// Softmax cross-entropy over logits (batch x classes) with integer labels,
// averaged over the batch; numerically stable (log-sum-exp with the row max).
struct SoftmaxCrossEntropy {
  // Returns the mean loss; writes dLoss/dLogits into *grad_logits when not null;
  // counts rows whose arg-max equals the label into *correct when not null.
  static float Compute(const Tensor& logits, absl::Span<const int32_t> labels,
                       Tensor* grad_logits, int* correct);
};

// Index of the largest logit in each row.
void ArgMaxRows(const Tensor& logits, int32_t* out);

// Softmax of each row into *probabilities (resized to the logits' shape;
// reused when it has it), stable for any finite logits.
void SoftmaxRows(const Tensor& logits, Tensor* probabilities);

}  // namespace mnemo

#endif  // MNEMO_CORE_LOSS_H_
