#include "core/avx512_warning_workaround.h"  // first: see there

#include "core/layers/activations.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace mnemo {
namespace {

// An activation's width is its input's; `units` may only restate it.
template <typename T>
absl::StatusOr<std::unique_ptr<Layer>> CreateSizePreserving(const char* type,
                                                            const LayerArgs& args) {
  const int units = args.config.units();
  if (units != 0 && units != args.input_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        type, " layer \"", args.config.name(),
        "\" keeps the width of its input (", args.input_size,
        "); units must be unset or equal to it (got ", units, ")"));
  }
  if (args.input_size <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(type, " layer \"", args.config.name(),
                     "\" needs an input size > 0 (got ", args.input_size, ")"));
  }
  return std::make_unique<T>(args.input_size);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Layer>> ReLU::Create(const LayerArgs& args) {
  return CreateSizePreserving<ReLU>("ReLU", args);
}

absl::StatusOr<std::unique_ptr<Layer>> Sigmoid::Create(const LayerArgs& args) {
  return CreateSizePreserving<Sigmoid>("Sigmoid", args);
}

absl::StatusOr<std::unique_ptr<Layer>> Tanh::Create(const LayerArgs& args) {
  return CreateSizePreserving<Tanh>("Tanh", args);
}

void ReLU::Forward(const Tensor& input, const ForwardContext& /*context*/,
                   Tensor* output) {
  output->resize(input.rows(), input.cols());
  output->array() = input.array().cwiseMax(0.0f);
}

void ReLU::Backward(const Tensor& /*input*/, const Tensor& output,
                    const Tensor& grad_output, const ForwardContext& /*context*/,
                    Tensor* grad_input) {
  if (grad_input == nullptr) return;  // no parameters: nothing else to do
  grad_input->resize(grad_output.rows(), grad_output.cols());
  grad_input->array() = (output.array() > 0.0f).select(grad_output.array(), 0.0f);
}

void Sigmoid::Forward(const Tensor& input, const ForwardContext& /*context*/,
                      Tensor* output) {
  output->resize(input.rows(), input.cols());
  // With e = exp(-|x|) <= 1 nothing overflows: sigmoid(x) = 1 / (1 + e) for
  // x >= 0 and e / (1 + e) for x < 0. The output holds e first, so no
  // temporary is needed.
  auto out = output->array();
  out = (-input.array().abs()).exp();
  out = (input.array() >= 0.0f).select((1.0f + out).inverse(), out / (1.0f + out));
}

void Sigmoid::Backward(const Tensor& /*input*/, const Tensor& output,
                       const Tensor& grad_output, const ForwardContext& /*context*/,
                       Tensor* grad_input) {
  if (grad_input == nullptr) return;
  grad_input->resize(grad_output.rows(), grad_output.cols());
  grad_input->array() =
      grad_output.array() * output.array() * (1.0f - output.array());
}

void Tanh::Forward(const Tensor& input, const ForwardContext& /*context*/,
                   Tensor* output) {
  output->resize(input.rows(), input.cols());
  output->array() = input.array().tanh();
}

void Tanh::Backward(const Tensor& /*input*/, const Tensor& output,
                    const Tensor& grad_output, const ForwardContext& /*context*/,
                    Tensor* grad_input) {
  if (grad_input == nullptr) return;
  grad_input->resize(grad_output.rows(), grad_output.cols());
  grad_input->array() = grad_output.array() * (1.0f - output.array().square());
}

}  // namespace mnemo
