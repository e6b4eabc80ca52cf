#include "plugins/onednn/int8_dense.h"

#include "absl/strings/str_cat.h"
#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/layers/dense.h"
#include "core/status_macros.h"
#include "plugins/onednn/dense.h"
#include "plugins/onednn/layer_support.h"
#include "plugins/onednn/runtime.h"
#include "plugins/onednn/status.h"

namespace mnemo::onednn {

absl::StatusOr<std::unique_ptr<Layer>> Int8Dense::Create(const LayerArgs& args) {
  MNEMO_RETURN_IF_ERROR(mnemo::Dense::CheckArgs(args));
  if (!args.inference) {
    return absl::FailedPreconditionError(
        "an INT8 dense layer is for inference only: train in FP32 or BF16, then quantize");
  }
  // The backend's CheckPrecision has said why a CPU or a build cannot.
  if (!Int8Linear::Available()) {
    return absl::FailedPreconditionError("no int8 kernel here (plugins/onednn/isa.h)");
  }
  if (absl::StatusOr<const dnnl::engine*> engine = Engine(); !engine.ok()) {
    return engine.status();
  }
  const bool static_activations =
      args.quantization.activations() == config::Quantization::STATIC;
  return Guarded(kDenseType, [&]() -> absl::StatusOr<std::unique_ptr<Layer>> {
    return std::make_unique<Int8Dense>(args.input_size, args.config.units(), static_activations,
                                       LayerThreads(args));
  });
}

Int8Dense::Int8Dense(int input_size, int units, bool static_activations, int threads)
    : Layer(input_size, units),
      weight_(MatrixS8::Zero(input_size, units)),
      weight_scale_(Tensor::Zero(1, units)),
      bias_(Tensor::Zero(1, units)),
      input_scale_(static_activations ? Tensor::Zero(1, 1) : Tensor()),
      static_activations_(static_activations),
      linear_(threads) {}

const char* Int8Dense::type() const { return kDenseType; }

std::vector<Parameter> Int8Dense::buffers() {
  std::vector<Parameter> tensors = {{"bias", &bias_, nullptr},
                                    {"weight_scale", &weight_scale_, nullptr}};
  if (static_activations_) tensors.push_back({"input_scale", &input_scale_, nullptr});
  return tensors;
}

void Int8Dense::Forward(const Tensor& input, const ForwardContext& /*context*/, Tensor* output) {
  const int rows = static_cast<int>(input.rows());
  output->resize(rows, output_size());
  if (rows == 0) return;
  const float input_scale = static_activations_ ? input_scale_(0, 0) : 0.0f;
  const absl::Status status =
      linear_.Run(rows, input_size(), output_size(), input.data(), input_scale, weight_.data(),
                  weight_scale_.data(), bias_.data(), output->data(), parameter_version());
  if (!status.ok()) {
    // The product of the int8 weights, dequantized, with the input unrounded:
    // the same model up to the input's rounding.
    ReportFallback(*this, "int8 forward", status, &fallback_reported_);
    output->noalias() = input * (weight_.cast<float>() * weight_scale_.row(0).asDiagonal());
    output->rowwise() += bias_.row(0);
  }
}

void Int8Dense::Backward(const Tensor& input, const Tensor& /*output*/,
                         const Tensor& /*grad_output*/, const ForwardContext& /*context*/,
                         Tensor* grad_input) {
  if (grad_input != nullptr) grad_input->setZero(input.rows(), input_size());
}

}  // namespace mnemo::onednn
