#include "plugins/onednn/activation.h"

#include <utility>

#include "core/layers/activations.h"
#include "core/status_macros.h"
#include "plugins/onednn/layer_support.h"
#include "plugins/onednn/runtime.h"
#include "plugins/onednn/status.h"

namespace mnemo::onednn {
namespace {

using ReferenceFactory = absl::StatusOr<std::unique_ptr<Layer>> (*)(const LayerArgs&);

absl::StatusOr<std::unique_ptr<Layer>> Create(const char* type, dnnl::algorithm algorithm,
                                              ReferenceFactory reference_factory,
                                              const LayerArgs& args) {
  return Guarded(type, [&]() -> absl::StatusOr<std::unique_ptr<Layer>> {
    // core's factory checks the sizes and words the errors.
    MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Layer> reference, reference_factory(args));
    if (absl::StatusOr<const dnnl::engine*> engine = Engine(); !engine.ok()) {
      return engine.status();
    }
    return std::make_unique<Activation>(type, algorithm, std::move(reference), LayerThreads(args));
  });
}

}  // namespace

// relu with alpha 0 takes 0 as the derivative at 0, as core's ReLU (and
// PyTorch) do.
absl::StatusOr<std::unique_ptr<Layer>> Activation::CreateReLU(const LayerArgs& args) {
  return Create("onednn/ReLU", dnnl::algorithm::eltwise_relu_use_dst_for_bwd, &ReLU::Create, args);
}

absl::StatusOr<std::unique_ptr<Layer>> Activation::CreateSigmoid(const LayerArgs& args) {
  return Create("onednn/Sigmoid", dnnl::algorithm::eltwise_logistic_use_dst_for_bwd,
                &Sigmoid::Create, args);
}

absl::StatusOr<std::unique_ptr<Layer>> Activation::CreateTanh(const LayerArgs& args) {
  return Create("onednn/Tanh", dnnl::algorithm::eltwise_tanh_use_dst_for_bwd, &Tanh::Create, args);
}

Activation::Activation(const char* type, dnnl::algorithm algorithm,
                       std::unique_ptr<Layer> reference, int threads)
    : Layer(reference->input_size(), reference->output_size()),
      type_(type),
      reference_(std::move(reference)),
      eltwise_(algorithm, threads) {}

void Activation::Forward(const Tensor& input, const ForwardContext& context, Tensor* output) {
  const int rows = static_cast<int>(input.rows());
  output->resize(rows, input.cols());
  if (rows == 0) return;
  absl::Status status =
      eltwise_.Forward(rows, static_cast<int>(input.cols()), input.data(), output->data());
  if (!status.ok()) {
    ReportFallback(*this, "forward", status, &fallback_reported_);
    reference_->Forward(input, context, output);
  }
}

void Activation::Backward(const Tensor& input, const Tensor& output, const Tensor& grad_output,
                          const ForwardContext& context, Tensor* grad_input) {
  if (grad_input == nullptr) return;  // no parameters: nothing else to do
  const int rows = static_cast<int>(grad_output.rows());
  grad_input->resize(rows, grad_output.cols());
  if (rows == 0) return;
  absl::Status status = eltwise_.Backward(rows, static_cast<int>(grad_output.cols()), output.data(),
                                          grad_output.data(), grad_input->data());
  if (!status.ok()) {
    ReportFallback(*this, "backward", status, &fallback_reported_);
    reference_->Backward(input, output, grad_output, context, grad_input);
  }
}

}  // namespace mnemo::onednn
