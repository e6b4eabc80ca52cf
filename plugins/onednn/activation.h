#ifndef MNEMO_PLUGINS_ONEDNN_ACTIVATION_H_
#define MNEMO_PLUGINS_ONEDNN_ACTIVATION_H_

#include <memory>
#include <oneapi/dnnl/dnnl.hpp>

#include "absl/status/statusor.h"
#include "core/layer.h"
#include "core/registry.h"
#include "core/tensor.h"
#include "plugins/onednn/eltwise.h"

namespace mnemo::onednn {

// core's ReLU, Sigmoid and Tanh (core/layers/activations.h) on oneDNN eltwise
// primitives, registered as "onednn/ReLU", "onednn/Sigmoid", "onednn/Tanh".
// Backward passes read the forward output, as core's do (and as oneDNN's
// use_dst_for_bwd algorithms want), so the network's kept activations are
// all they need.
class Activation : public Layer {
 public:
  static absl::StatusOr<std::unique_ptr<Layer>> CreateReLU(const LayerArgs& args);
  static absl::StatusOr<std::unique_ptr<Layer>> CreateSigmoid(const LayerArgs& args);
  static absl::StatusOr<std::unique_ptr<Layer>> CreateTanh(const LayerArgs& args);

  // `reference` is core's layer of the same function: it checks the sizes
  // when made, and computes a pass oneDNN could not.
  Activation(const char* type, dnnl::algorithm algorithm, std::unique_ptr<Layer> reference,
             int threads);

  const char* type() const override { return type_; }
  void Forward(const Tensor& input, const ForwardContext& context, Tensor* output) override;
  void Backward(const Tensor& input, const Tensor& output, const Tensor& grad_output,
                const ForwardContext& context, Tensor* grad_input) override;

 private:
  const char* type_;
  std::unique_ptr<Layer> reference_;
  Eltwise eltwise_;
  bool fallback_reported_ = false;
};

}  // namespace mnemo::onednn

#endif  // MNEMO_PLUGINS_ONEDNN_ACTIVATION_H_
