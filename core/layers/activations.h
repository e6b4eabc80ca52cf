#ifndef MNEMO_CORE_LAYERS_ACTIVATIONS_H_
#define MNEMO_CORE_LAYERS_ACTIVATIONS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "core/layer.h"
#include "core/registry.h"
#include "core/tensor.h"

namespace mnemo {

// Element-wise activations: parameter-free and size-preserving. Their
// backward passes read the forward output, which gives the derivative without
// recomputing the function (and ReLU's mask equally well).

// max(x, 0); the derivative at 0 is taken as 0, as in PyTorch.
class ReLU : public Layer {
 public:
  explicit ReLU(int size) : Layer(size, size) {}
  static absl::StatusOr<std::unique_ptr<Layer>> Create(const LayerArgs& args);

  const char* type() const override { return "ReLU"; }
  void Forward(const Tensor& input, const ForwardContext& context,
               Tensor* output) override;
  void Backward(const Tensor& input, const Tensor& output,
                const Tensor& grad_output, const ForwardContext& context,
                Tensor* grad_input) override;
};

// 1 / (1 + exp(-x)), evaluated so that no exp overflows and tiny outputs keep
// their relative precision.
class Sigmoid : public Layer {
 public:
  explicit Sigmoid(int size) : Layer(size, size) {}
  static absl::StatusOr<std::unique_ptr<Layer>> Create(const LayerArgs& args);

  const char* type() const override { return "Sigmoid"; }
  void Forward(const Tensor& input, const ForwardContext& context,
               Tensor* output) override;
  void Backward(const Tensor& input, const Tensor& output,
                const Tensor& grad_output, const ForwardContext& context,
                Tensor* grad_input) override;
};

class Tanh : public Layer {
 public:
  explicit Tanh(int size) : Layer(size, size) {}
  static absl::StatusOr<std::unique_ptr<Layer>> Create(const LayerArgs& args);

  const char* type() const override { return "Tanh"; }
  void Forward(const Tensor& input, const ForwardContext& context,
               Tensor* output) override;
  void Backward(const Tensor& input, const Tensor& output,
                const Tensor& grad_output, const ForwardContext& context,
                Tensor* grad_input) override;
};

}  // namespace mnemo

#endif  // MNEMO_CORE_LAYERS_ACTIVATIONS_H_
