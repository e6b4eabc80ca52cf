#ifndef MNEMO_CORE_LOSS_H_
#define MNEMO_CORE_LOSS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/config.pb.h"
#include "core/tensor.h"

namespace mnemo {

class Backend;

// What a network's output is trained for (model.loss, model.huber_delta and
// model.label_smoothing).
struct LossSpec {
  config::Model::Loss kind = config::Model::SOFTMAX_CROSS_ENTROPY;
  float huber_delta = 1.0f;
  // SOFTMAX_CROSS_ENTROPY: e in [0, 1); the target of class c is (1 - e) on c
  // plus e / classes on every class (PyTorch's label_smoothing).
  float label_smoothing = 0.0f;
};

// model.loss with its default applied (LOSS_UNSPECIFIED is softmax).
config::Model::Loss ResolvedLoss(config::Model::Loss loss);
// Whether `loss` fits target values (MSE, Huber) rather than class labels.
bool IsRegression(config::Model::Loss loss);
// The classes a classifier with `outputs` outputs tells apart under `loss`:
// one per output, or two for the sigmoid's one.
int ClassesOf(config::Model::Loss loss, int outputs);

// The mean loss of a batch's `outputs` (batch x outputs) under `spec`, on
// `backend` for softmax: against `labels` for a classification loss, against
// `targets` (batch x outputs) for a regression one. dLoss/dOutputs into *grad
// when not null; the rows answered right into *correct when not null
// (classification; 0 for regression). Errors only as the backend's softmax
// cross-entropy does.
//
// Label smoothing e is added on top of the backend's cross-entropy (whose
// interface it leaves alone): with logits z of B rows and K classes,
//   loss = CE + e (mean_i z[i, y_i] - mean_{i,k} z[i, k])
//   grad = CE's grad + e (onehot(y) - 1 / K) / B
// which is (1 - e) CE + e x the mean over classes of -log softmax.
absl::StatusOr<float> ComputeLoss(const Backend& backend, const LossSpec& spec,
                                  const Tensor& outputs, absl::Span<const int32_t> labels,
                                  const Tensor* targets, Tensor* grad, int* correct);

// The class each row of a classifier's outputs answers: its largest logit, or
// for the sigmoid's one output, 1 when it is > 0.
void PredictedClasses(config::Model::Loss loss, const Tensor& outputs, int32_t* out);

// Softmax cross-entropy over logits (batch x classes) with integer labels,
// averaged over the batch; numerically stable (log-sum-exp with the row max).
struct SoftmaxCrossEntropy {
  // Returns the mean loss; writes dLoss/dLogits into *grad_logits when not null;
  // counts rows whose arg-max equals the label into *correct when not null.
  static float Compute(const Tensor& logits, absl::Span<const int32_t> labels,
                       Tensor* grad_logits, int* correct);
};

// Sigmoid cross-entropy of one logit per row (batch x 1) against labels 0
// and 1, averaged over the batch, stable for any logit:
// max(z, 0) - z y + log(1 + exp(-|z|)). Gradient and *correct as above
// (a row is right when z > 0 is its label).
struct SigmoidCrossEntropy {
  static float Compute(const Tensor& logits, absl::Span<const int32_t> labels, Tensor* grad_logits,
                       int* correct);
};

// Regression losses over outputs and targets of the same shape, averaged over
// every element (as PyTorch's MSELoss and HuberLoss): the squared error, and
// Huber's 0.5 d^2 for |d| <= delta, delta (|d| - 0.5 delta) beyond.
// Gradient into *grad when not null.
struct MeanSquaredError {
  static float Compute(const Tensor& outputs, const Tensor& targets, Tensor* grad);
};
struct HuberLoss {
  static float Compute(const Tensor& outputs, const Tensor& targets, float delta, Tensor* grad);
};

// Index of the largest logit in each row.
void ArgMaxRows(const Tensor& logits, int32_t* out);

// Softmax of each row into *probabilities (resized to the logits' shape;
// reused when it has it), stable for any finite logits.
void SoftmaxRows(const Tensor& logits, Tensor* probabilities);

}  // namespace mnemo

#endif  // MNEMO_CORE_LOSS_H_
