#ifndef MNEMO_CORE_LAYERS_LAYER_NORM_H_
#define MNEMO_CORE_LAYERS_LAYER_NORM_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "core/layer.h"
#include "core/registry.h"
#include "core/tensor.h"

namespace mnemo {

// Layer normalisation, PyTorch's nn.LayerNorm(features, eps): each sample
// (row) is normalised over its own features,
//   y = (x - mean(x)) / sqrt(var(x) + epsilon) * gamma + beta,
// with the biased variance of the row and a learnable per-feature gamma
// (starts at 1) and beta (starts at 0). No batch statistics and no running
// ones: training and evaluation compute the same, and each output row is a
// function of its input row alone, bit for bit in any batch (the loops of
// norm_kernels.h), which lets the memo cover a frozen LayerNorm.
//
// The backward pass recomputes each row's mean and variance from the input
// rather than keeping them from the forward pass: it is then a function of
// its arguments alone, whatever ran in between (a checkpointed network
// recomputes activations), for two passes over the input.
class LayerNorm : public Layer {
 public:
  // Without `gradients` (inference) the gradient tensors stay empty and
  // Backward must not be called.
  LayerNorm(int size, float epsilon, bool gradients = true);

  // From a layer config: epsilon (default 1e-5, finite and > 0); units unset
  // or the input's width; no momentum, rate or init (norm_config.h).
  static absl::StatusOr<std::unique_ptr<Layer>> Create(const LayerArgs& args);

  const char* type() const override { return "LayerNorm"; }
  void Forward(const Tensor& input, const ForwardContext& context, Tensor* output) override;
  void Backward(const Tensor& input, const Tensor& output, const Tensor& grad_output,
                const ForwardContext& context, Tensor* grad_input) override;
  // {"gamma", "beta"}, 1 x features each.
  std::vector<Parameter> parameters() override;

  float epsilon() const { return epsilon_; }
  const Tensor& gamma() const { return gamma_; }
  const Tensor& beta() const { return beta_; }

 private:
  // The mean and 1 / sqrt(variance + epsilon) of a row of input_size() floats.
  void RowStatistics(const float* row, float* mean, float* rstd) const;

  const float epsilon_;
  Tensor gamma_, beta_;
  Tensor gamma_gradient_, beta_gradient_;
};

}  // namespace mnemo

#endif  // MNEMO_CORE_LAYERS_LAYER_NORM_H_
