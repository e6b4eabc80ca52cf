#include "core/avx512_warning_workaround.h"  // first: see there

#include "core/layers/dense.h"

#include <cassert>

#include "absl/strings/str_cat.h"
#include "core/init.h"
#include "core/layers/gemm.h"
#include "core/status_macros.h"

namespace mnemo {

Dense::Dense(int input_size, int units, bool gradients)
    : Layer(input_size, units),
      weight_(Tensor::Zero(input_size, units)),
      bias_(Tensor::Zero(1, units)) {
  // A weight gradient is as large as the weights: a network built for
  // inference would hold its model twice.
  if (gradients) {
    weight_gradient_ = Tensor::Zero(input_size, units);
    bias_gradient_ = Tensor::Zero(1, units);
  }
}

absl::Status Dense::CheckArgs(const LayerArgs& args) {
  const int units = args.config.units();
  if (units <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Dense layer \"", args.config.name(), "\" needs units > 0 (got ", units, ")"));
  }
  if (args.input_size <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("Dense layer \"", args.config.name(),
                     "\" needs an input size > 0 (got ", args.input_size, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Layer>> Dense::Create(const LayerArgs& args) {
  MNEMO_RETURN_IF_ERROR(CheckArgs(args));
  const int units = args.config.units();
  auto layer = std::make_unique<Dense>(args.input_size, units, /*gradients=*/!args.inference);
  InitializeWeights(args.init, args.seed, &layer->weight_);
  return layer;
}

void Dense::Forward(const Tensor& input, const ForwardContext& /*context*/,
                    Tensor* output) {
  // Eigen's resize keeps the buffer when the shape is unchanged.
  output->resize(input.rows(), output_size());
  // Bias first, then GEMM accumulating into it: one pass over the output
  // fewer than adding the bias afterwards. MultiplyAdd rather than Eigen's
  // `+=`: same result, but no allocation per call (an inference server's
  // steady state allocates nothing).
  output->rowwise() = bias_.row(0);
  MultiplyAdd(input, weight_, output);
}

void Dense::Backward(const Tensor& input, const Tensor& /*output*/,
                     const Tensor& grad_output, const ForwardContext& /*context*/,
                     Tensor* grad_input) {
  assert(weight_gradient_.size() == weight_.size() && "Backward of a Dense built for inference");
  weight_gradient_.noalias() += input.transpose() * grad_output;
  bias_gradient_.noalias() += grad_output.colwise().sum();
  if (grad_input != nullptr) {
    grad_input->resize(grad_output.rows(), input_size());
    grad_input->noalias() = grad_output * weight_.transpose();
  }
}

std::vector<Parameter> Dense::parameters() {
  return {{"weight", &weight_, &weight_gradient_}, {"bias", &bias_, &bias_gradient_}};
}

}  // namespace mnemo
