#include "plugins/onednn/dense.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/status_macros.h"
#include "plugins/onednn/int8_dense.h"
#include "plugins/onednn/layer_support.h"
#include "plugins/onednn/row_gemv.h"
#include "plugins/onednn/runtime.h"
#include "plugins/onednn/status.h"

namespace mnemo::onednn {
namespace {

// Up to this many rows the forward pass packs the weights (MatMul::Options):
// a batch-1 product then reads them in the kernel's layout, faster than rows
// of plain weights; at training batch sizes the kernel packs blocks itself
// and a reorder per optimizer step would only add a pass over the weights.
constexpr int kPackWeightsUpToRows = 16;

MatMul::Options ForwardOptions(bool bf16) {
  MatMul::Options options;
  options.bias = true;
  options.pack_weights_up_to_rows = kPackWeightsUpToRows;
  options.bf16 = bf16;
  return options;
}

MatMul::Options BackwardDataOptions(bool bf16) {
  MatMul::Options options;
  options.weights_transposed = true;  // W^T
  options.bf16 = bf16;
  return options;
}

MatMul::Options BackwardWeightsOptions(bool bf16) {
  MatMul::Options options;
  options.src_transposed = true;  // x^T
  options.accumulate = true;
  options.bf16 = bf16;
  return options;
}

MatMul::Options BackwardBiasOptions() {
  MatMul::Options options;
  options.accumulate = true;
  return options;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Layer>> Dense::Create(const LayerArgs& args) {
  if (args.precision == config::Model::INT8) return Int8Dense::Create(args);
  return Guarded(kDenseType, [&]() -> absl::StatusOr<std::unique_ptr<Layer>> {
    MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Layer> reference, mnemo::Dense::Create(args));
    // Refuse the model now, with a message, rather than fall back at every pass.
    if (absl::StatusOr<const dnnl::engine*> engine = Engine(); !engine.ok()) {
      return engine.status();
    }
    // mnemo::Dense::Create makes a mnemo::Dense.
    std::unique_ptr<mnemo::Dense> dense(static_cast<mnemo::Dense*>(reference.release()));
    return std::make_unique<Dense>(std::move(dense), LayerThreads(args),
                                   args.precision == config::Model::BF16);
  });
}

Dense::Dense(std::unique_ptr<mnemo::Dense> reference, int threads, bool bf16)
    : Layer(reference->input_size(), reference->output_size()),
      reference_(std::move(reference)),
      max_threads_(threads),
      weight_(&reference_->weight()),
      bias_(&reference_->bias()),
      forward_(ForwardOptions(bf16), threads),
      backward_data_(BackwardDataOptions(bf16), threads),
      backward_weights_(BackwardWeightsOptions(bf16), threads),
      backward_bias_(BackwardBiasOptions(), threads),
      bf16_(bf16),
      to_bf16_(threads) {
  // parameters() is the one way to the gradients' mutable tensors; read once
  // here rather than build its vector at every pass.
  for (const Parameter& p : reference_->parameters()) {
    if (p.name == "weight") weight_gradient_ = p.gradient;
    if (p.name == "bias") bias_gradient_ = p.gradient;
  }
}

bool Dense::UseRowGemv(int rows) const {
  // One row into more outputs than DotProductForward takes, small enough for
  // one thread (larger weights come from memory, where two cores read more).
  return rows == 1 && !DotProductForward::Applies(rows, output_size()) && RowGemvAvailable() &&
         ThreadsForFlops(2.0 * input_size() * output_size(), max_threads_) == 1;
}

const float* Dense::Ones(int rows) {
  if (static_cast<int>(ones_.size()) < rows) ones_.assign(rows, 1.0f);
  return ones_.data();
}

absl::Status Dense::ConvertWeights() {
  if (weight_bf16_valid_ && weight_bf16_version_ == parameter_version()) return absl::OkStatus();
  weight_bf16_.resize(weight_->size());
  weight_bf16_valid_ = false;
  MNEMO_RETURN_IF_ERROR(
      to_bf16_.Run(input_size(), output_size(), weight_->data(), weight_bf16_.data()));
  weight_bf16_valid_ = true;
  weight_bf16_version_ = parameter_version();
  return absl::OkStatus();
}

absl::StatusOr<const uint16_t*> Dense::Convert(const Tensor& tensor, ThreadBufferSlot slot) {
  MNEMO_ASSIGN_OR_RETURN(void* buffer, ThreadBuffer(slot, tensor.size() * sizeof(uint16_t)));
  uint16_t* converted = static_cast<uint16_t*>(buffer);
  MNEMO_RETURN_IF_ERROR(to_bf16_.Run(static_cast<int>(tensor.rows()),
                                     static_cast<int>(tensor.cols()), tensor.data(), converted));
  return converted;
}

void Dense::ForwardBf16(const Tensor& input, const ForwardContext& context, Tensor* output) {
  absl::Status status = [&]() -> absl::Status {
    MNEMO_RETURN_IF_ERROR(ConvertWeights());
    MNEMO_ASSIGN_OR_RETURN(const uint16_t* x, Convert(input, ThreadBufferSlot::kBf16First));
    return forward_.Run(static_cast<int>(input.rows()), input_size(), output_size(), x,
                        weight_bf16_.data(), bias_->data(), output->data(), parameter_version());
  }();
  if (!status.ok()) {
    ReportFallback(*this, "bf16 forward", status, &fallback_reported_);
    reference_->Forward(input, context, output);
  }
}

void Dense::Forward(const Tensor& input, const ForwardContext& context, Tensor* output) {
  const int rows = static_cast<int>(input.rows());
  output->resize(rows, output_size());  // keeps the buffer when the shape is unchanged
  if (rows == 0) return;
  if (bf16_) {
    ForwardBf16(input, context, output);
    return;
  }
  if (UseRowGemv(rows)) {
    // No oneDNN call: nothing can fail (row_gemv.h says why it is not oneDNN).
    UseThreads(1);
    RowGemv(input.data(), weight_->data(), bias_->data(), output->data(), input_size(),
            output_size());
    return;
  }
  absl::Status status =
      DotProductForward::Applies(rows, output_size())
          ? forward_few_outputs_.Run(input, *weight_, *bias_, parameter_version(), output)
          : forward_.Run(rows, input_size(), output_size(), input.data(), weight_->data(),
                         bias_->data(), output->data(), parameter_version());
  if (!status.ok()) {
    ReportFallback(*this, "forward", status, &fallback_reported_);
    reference_->Forward(input, context, output);
  }
}

absl::Status Dense::BackwardOperands(const Tensor& input, const Tensor& grad_output,
                                     Operands* operands) {
  operands->x = input.data();
  operands->dy = grad_output.data();
  operands->w = weight_->data();
  if (!bf16_) return absl::OkStatus();
  MNEMO_RETURN_IF_ERROR(ConvertWeights());
  MNEMO_ASSIGN_OR_RETURN(operands->x, Convert(input, ThreadBufferSlot::kBf16First));
  MNEMO_ASSIGN_OR_RETURN(operands->dy, Convert(grad_output, ThreadBufferSlot::kBf16Second));
  operands->w = weight_bf16_.data();
  return absl::OkStatus();
}

void Dense::Backward(const Tensor& input, const Tensor& /*output*/, const Tensor& grad_output,
                     const ForwardContext& /*context*/, Tensor* grad_input) {
  const int rows = static_cast<int>(input.rows());
  if (grad_input != nullptr) grad_input->resize(rows, input_size());
  if (rows == 0) return;  // nothing to add

  // The products' operands: the tensors themselves, or (BF16) their
  // roundings. Each product falls back on its own: the gradients are
  // accumulated, so a product that succeeded must not be added twice.
  Operands operands;
  const absl::Status converted = BackwardOperands(input, grad_output, &operands);
  absl::Status status = converted.ok()
                            ? backward_weights_.Run(input_size(), rows, output_size(), operands.x,
                                                    operands.dy, nullptr, weight_gradient_->data())
                            : converted;
  if (!status.ok()) {
    ReportFallback(*this, "weight gradient", status, &fallback_reported_);
    weight_gradient_->noalias() += input.transpose() * grad_output;
  }
  // fp32 in either precision: a sum over the batch, no product to speed up.
  status = backward_bias_.Run(1, rows, output_size(), Ones(rows), grad_output.data(), nullptr,
                              bias_gradient_->data());
  if (!status.ok()) {
    ReportFallback(*this, "bias gradient", status, &fallback_reported_);
    bias_gradient_->noalias() += grad_output.colwise().sum();
  }
  if (grad_input == nullptr) return;
  status = converted.ok() ? backward_data_.Run(rows, output_size(), input_size(), operands.dy,
                                               operands.w, nullptr, grad_input->data())
                          : converted;
  if (!status.ok()) {
    ReportFallback(*this, "input gradient", status, &fallback_reported_);
    grad_input->noalias() = grad_output * weight_->transpose();
  }
}

}  // namespace mnemo::onednn
