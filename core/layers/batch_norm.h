#ifndef MNEMO_CORE_LAYERS_BATCH_NORM_H_
#define MNEMO_CORE_LAYERS_BATCH_NORM_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "core/layer.h"
#include "core/registry.h"
#include "core/tensor.h"

namespace mnemo {

// Batch normalisation, PyTorch's nn.BatchNorm1d(features, eps, momentum):
// each feature (column) is normalised,
//   y = (x - mean) / sqrt(variance + epsilon) * gamma + beta,
// with a learnable per-feature gamma (starts at 1) and beta (starts at 0),
// and with
//   - in training (context.training, layer trainable): the batch's mean and
//     biased variance, the gradient flowing through both;
//   - otherwise (evaluation, inference, and a frozen layer also while
//     training, as Keras does): the running statistics, buffers
//     "running_mean" (starts at 0) and "running_var" (starts at 1).
//
// The running statistics change once per step taken, in CommitStep, not in
// Forward: a training-mode Forward keeps the batch's mean and squared
// deviations, and CommitStep folds them in,
//   running_mean = (1 - momentum) running_mean + momentum mean
//   running_var  = (1 - momentum) running_var + momentum unbiased variance
// (PyTorch's update, with the variance over n - 1). A forward pass
// recomputed by a cache strategy computes the same statistics from the same
// input and replaces them with the same bits, so it does not count twice; a
// step skipped for a non-finite value never reaches CommitStep. A training
// batch of one row has no unbiased variance (PyTorch refuses it): its output
// is beta, its input gradient zero, and it leaves the running statistics as
// they are.
//
// In evaluation mode each output row is a function of its input row alone,
// bit for bit in any batch (norm_kernels.h): the memo may cover a frozen
// BatchNorm. The backward pass recomputes the statistics from its input
// rather than keep them from the forward pass, so it depends on its
// arguments alone.
class BatchNorm : public Layer {
 public:
  // Without `gradients` (inference) the gradient tensors stay empty and
  // Backward must not be called.
  BatchNorm(int size, float epsilon, float momentum, bool gradients = true);

  // From a layer config: epsilon (default 1e-5, finite and > 0), momentum
  // (default 0.1, in (0, 1]); units unset or the input's width; no rate or
  // init (norm_config.h).
  static absl::StatusOr<std::unique_ptr<Layer>> Create(const LayerArgs& args);

  const char* type() const override { return "BatchNorm"; }
  void Forward(const Tensor& input, const ForwardContext& context, Tensor* output) override;
  void Backward(const Tensor& input, const Tensor& output, const Tensor& grad_output,
                const ForwardContext& context, Tensor* grad_input) override;
  // {"gamma", "beta"}, 1 x features each.
  std::vector<Parameter> parameters() override;
  // {"running_mean", "running_var"}, 1 x features each.
  std::vector<Parameter> buffers() override;
  // Folds the statistics of the last training-mode Forward into the running
  // ones (once: a second call without a Forward between changes nothing).
  void CommitStep() override;

  // Keeps a batch's per-feature mean and biased variance over `rows` rows
  // for the next CommitStep, as a training-mode Forward does: for a
  // backend's BatchNorm that holds a core one (for its parameters and
  // buffers) and computes the passes itself.
  void KeepBatchStatistics(const Tensor& mean, const Tensor& variance, Eigen::Index rows);

  // Whether a pass with `context` normalises with the batch's statistics
  // (training a trainable layer) rather than the running ones.
  bool UsesBatchStatistics(const ForwardContext& context) const {
    return context.training && trainable();
  }

  float epsilon() const { return epsilon_; }
  float momentum() const { return momentum_; }
  const Tensor& gamma() const { return gamma_; }
  const Tensor& beta() const { return beta_; }
  const Tensor& running_mean() const { return running_mean_; }
  const Tensor& running_var() const { return running_var_; }

 private:
  // The batch's per-feature mean and sum of squared deviations from it.
  void BatchStatistics(const Tensor& input, Tensor* mean, Tensor* squares) const;
  // mean_ and rstd_ for a pass with `context` over `input`: the batch's or
  // the running statistics.
  void PassStatistics(const Tensor& input, const ForwardContext& context);

  const float epsilon_;
  const float momentum_;
  Tensor gamma_, beta_;
  Tensor gamma_gradient_, beta_gradient_;
  Tensor running_mean_, running_var_;
  // The last training-mode Forward's statistics, for CommitStep: the mean,
  // the biased variance, and its rows (0: nothing to commit).
  Tensor batch_mean_, batch_variance_;
  Eigen::Index batch_rows_ = 0;
  // Per pass, reused (no allocation in a steady state): the statistics
  // used, 1 / sqrt(variance + epsilon), gamma * that, and the backward
  // pass's sums and coefficients (norm_kernels.h).
  Tensor mean_, squares_, rstd_, scale_, sum_dy_, sum_dy_xhat_, a_, b_;
};

}  // namespace mnemo

#endif  // MNEMO_CORE_LAYERS_BATCH_NORM_H_
