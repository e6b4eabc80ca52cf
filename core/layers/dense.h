#ifndef MNEMO_CORE_LAYERS_DENSE_H_
#define MNEMO_CORE_LAYERS_DENSE_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "core/layer.h"
#include "core/registry.h"
#include "core/tensor.h"

namespace mnemo {

// A fully connected layer: output = input * weight + bias, with weight
// fan_in x fan_out (so a row-major batch multiplies it directly, as in the
// seed MLP and PyTorch's `x @ W.T` with W stored transposed) and bias
// 1 x fan_out.
class Dense : public Layer {
 public:
  // Weights and bias start at zero; the factory initialises the weights.
  // Without `gradients` (for inference) the gradient tensors stay empty and
  // Backward must not be called.
  Dense(int input_size, int units, bool gradients = true);

  // From a layer config: needs `units` > 0; weights from args.init and
  // args.seed, bias zero; no gradients when args.inference.
  static absl::StatusOr<std::unique_ptr<Layer>> Create(const LayerArgs& args);
  // Create's checks of the shape (units > 0, an input), for a backend's
  // dense layers that hold their weights otherwise (an INT8 one).
  static absl::Status CheckArgs(const LayerArgs& args);

  const char* type() const override { return "Dense"; }
  void Forward(const Tensor& input, const ForwardContext& context,
               Tensor* output) override;
  void Backward(const Tensor& input, const Tensor& output,
                const Tensor& grad_output, const ForwardContext& context,
                Tensor* grad_input) override;
  // {"weight", "bias"}.
  std::vector<Parameter> parameters() override;

  Tensor& weight() { return weight_; }
  Tensor& bias() { return bias_; }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }
  const Tensor& weight_gradient() const { return weight_gradient_; }
  const Tensor& bias_gradient() const { return bias_gradient_; }

 private:
  Tensor weight_;
  Tensor bias_;
  Tensor weight_gradient_;
  Tensor bias_gradient_;
};

}  // namespace mnemo

#endif  // MNEMO_CORE_LAYERS_DENSE_H_
