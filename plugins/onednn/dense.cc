#include "plugins/onednn/dense.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/status_macros.h"
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

MatMul::Options ForwardOptions() {
  MatMul::Options options;
  options.bias = true;
  options.pack_weights_up_to_rows = kPackWeightsUpToRows;
  return options;
}

MatMul::Options BackwardDataOptions() {
  MatMul::Options options;
  options.weights_transposed = true;  // W^T
  return options;
}

MatMul::Options BackwardWeightsOptions() {
  MatMul::Options options;
  options.src_transposed = true;  // x^T
  options.accumulate = true;
  return options;
}

MatMul::Options BackwardBiasOptions() {
  MatMul::Options options;
  options.accumulate = true;
  return options;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Layer>> Dense::Create(const LayerArgs& args) {
  return Guarded(kDenseType, [&]() -> absl::StatusOr<std::unique_ptr<Layer>> {
    MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Layer> reference, mnemo::Dense::Create(args));
    // Refuse the model now, with a message, rather than fall back at every pass.
    if (absl::StatusOr<const dnnl::engine*> engine = Engine(); !engine.ok()) {
      return engine.status();
    }
    // mnemo::Dense::Create makes a mnemo::Dense.
    std::unique_ptr<mnemo::Dense> dense(static_cast<mnemo::Dense*>(reference.release()));
    return std::make_unique<Dense>(std::move(dense), LayerThreads(args));
  });
}

Dense::Dense(std::unique_ptr<mnemo::Dense> reference, int threads)
    : Layer(reference->input_size(), reference->output_size()),
      reference_(std::move(reference)),
      max_threads_(threads),
      weight_(&reference_->weight()),
      bias_(&reference_->bias()),
      forward_(ForwardOptions(), threads),
      backward_data_(BackwardDataOptions(), threads),
      backward_weights_(BackwardWeightsOptions(), threads),
      backward_bias_(BackwardBiasOptions(), threads) {
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

void Dense::Forward(const Tensor& input, const ForwardContext& context, Tensor* output) {
  const int rows = static_cast<int>(input.rows());
  output->resize(rows, output_size());  // keeps the buffer when the shape is unchanged
  if (rows == 0) return;
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

void Dense::Backward(const Tensor& input, const Tensor& /*output*/, const Tensor& grad_output,
                     const ForwardContext& /*context*/, Tensor* grad_input) {
  const int rows = static_cast<int>(input.rows());
  if (grad_input != nullptr) grad_input->resize(rows, input_size());
  if (rows == 0) return;  // nothing to add

  // Each product falls back on its own: the gradients are accumulated, so a
  // product that succeeded must not be added twice.
  absl::Status status =
      backward_weights_.Run(input_size(), rows, output_size(), input.data(), grad_output.data(),
                            nullptr, weight_gradient_->data());
  if (!status.ok()) {
    ReportFallback(*this, "weight gradient", status, &fallback_reported_);
    weight_gradient_->noalias() += input.transpose() * grad_output;
  }
  status = backward_bias_.Run(1, rows, output_size(), Ones(rows), grad_output.data(), nullptr,
                              bias_gradient_->data());
  if (!status.ok()) {
    ReportFallback(*this, "bias gradient", status, &fallback_reported_);
    bias_gradient_->noalias() += grad_output.colwise().sum();
  }
  if (grad_input == nullptr) return;
  status = backward_data_.Run(rows, output_size(), input_size(), grad_output.data(),
                              weight_->data(), nullptr, grad_input->data());
  if (!status.ok()) {
    ReportFallback(*this, "input gradient", status, &fallback_reported_);
    grad_input->noalias() = grad_output * weight_->transpose();
  }
}

}  // namespace mnemo::onednn
