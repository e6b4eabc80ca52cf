#include "plugins/onednn/norm_layers.h"

#include <utility>

#include "core/status_macros.h"
#include "plugins/onednn/layer_support.h"
#include "plugins/onednn/runtime.h"
#include "plugins/onednn/status.h"

namespace mnemo::onednn {

NormAffine NormAffine::Of(Layer& layer) {
  NormAffine affine;
  for (const Parameter& p : layer.parameters()) {
    if (p.name == "gamma") {
      affine.gamma = p.value;
      affine.gamma_gradient = p.gradient;
    } else if (p.name == "beta") {
      affine.beta = p.value;
      affine.beta_gradient = p.gradient;
    }
  }
  return affine;
}

namespace {

// Makes core's layer with Core::Create (which checks the config and words
// the errors), then the oneDNN one around it.
template <typename Ours, typename Core>
absl::StatusOr<std::unique_ptr<Layer>> Create(const char* type, const LayerArgs& args) {
  return Guarded(type, [&]() -> absl::StatusOr<std::unique_ptr<Layer>> {
    MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Layer> reference, Core::Create(args));
    // Refuse the model now, with a message, rather than fall back at every pass.
    if (absl::StatusOr<const dnnl::engine*> engine = Engine(); !engine.ok()) {
      return engine.status();
    }
    // Core::Create makes a Core.
    std::unique_ptr<Core> core(static_cast<Core*>(reference.release()));
    return std::make_unique<Ours>(std::move(core), LayerThreads(args));
  });
}

}  // namespace

absl::StatusOr<std::unique_ptr<Layer>> LayerNorm::Create(const LayerArgs& args) {
  return onednn::Create<LayerNorm, mnemo::LayerNorm>(kLayerNormType, args);
}

LayerNorm::LayerNorm(std::unique_ptr<mnemo::LayerNorm> reference, int threads)
    : Layer(reference->input_size(), reference->output_size()),
      reference_(std::move(reference)),
      affine_(NormAffine::Of(*reference_)),
      normalization_(Normalization::Kind::kLayer, reference_->epsilon(), threads),
      diff_gamma_(1, input_size()),
      diff_beta_(1, input_size()) {}

void LayerNorm::Forward(const Tensor& input, const ForwardContext& context, Tensor* output) {
  const int rows = static_cast<int>(input.rows());
  output->resize(rows, input_size());
  statistics_valid_ = false;
  if (rows == 0) return;
  if (input_size() == 1) {
    reference_->Forward(input, context, output);  // see the class comment
    return;
  }
  mean_.resize(1, rows);  // Eigen keeps the buffer when the shape is unchanged
  variance_.resize(1, rows);
  const NormAffine& affine = affine_;
  absl::Status status = normalization_.Forward(
      rows, input_size(), input.data(), affine.gamma->data(), affine.beta->data(),
      /*global_stats=*/false, mean_.data(), variance_.data(), output->data());
  if (!status.ok()) {
    ReportFallback(*this, "forward", status, &fallback_reported_);
    reference_->Forward(input, context, output);
    return;
  }
  statistics_valid_ = true;
}

void LayerNorm::Backward(const Tensor& input, const Tensor& output, const Tensor& grad_output,
                         const ForwardContext& context, Tensor* grad_input) {
  const int rows = static_cast<int>(input.rows());
  if (grad_input != nullptr) grad_input->resize(rows, input_size());
  if (rows == 0) return;
  if (input_size() == 1) {
    reference_->Backward(input, output, grad_output, context, grad_input);
    return;
  }
  absl::Status status = absl::FailedPreconditionError(
      "no statistics of a oneDNN forward pass over this input (its forward pass fell back)");
  if (statistics_valid_ && mean_.cols() == rows) {
    Tensor* dx = grad_input;
    if (dx == nullptr) {
      diff_input_.resize(rows, input_size());
      dx = &diff_input_;
    }
    const NormAffine& affine = affine_;
    status = normalization_.Backward(rows, input_size(), input.data(), mean_.data(),
                                     variance_.data(), grad_output.data(), affine.gamma->data(),
                                     affine.beta->data(), /*global_stats=*/false, dx->data(),
                                     diff_gamma_.data(), diff_beta_.data());
    if (status.ok()) {
      *affine.gamma_gradient += diff_gamma_;
      *affine.beta_gradient += diff_beta_;
      return;
    }
  }
  // Nothing was added yet: the reference adds the parameter gradients once.
  ReportFallback(*this, "backward", status, &fallback_reported_);
  reference_->Backward(input, output, grad_output, context, grad_input);
}

absl::StatusOr<std::unique_ptr<Layer>> BatchNorm::Create(const LayerArgs& args) {
  return onednn::Create<BatchNorm, mnemo::BatchNorm>(kBatchNormType, args);
}

BatchNorm::BatchNorm(std::unique_ptr<mnemo::BatchNorm> reference, int threads)
    : Layer(reference->input_size(), reference->output_size()),
      reference_(std::move(reference)),
      affine_(NormAffine::Of(*reference_)),
      normalization_(Normalization::Kind::kBatch, reference_->epsilon(), threads),
      batch_mean_(1, input_size()),
      batch_variance_(1, input_size()),
      diff_gamma_(1, input_size()),
      diff_beta_(1, input_size()) {
  for (const Parameter& b : reference_->buffers()) {
    if (b.name == "running_mean") running_mean_ = b.value;
    if (b.name == "running_var") running_var_ = b.value;
  }
}

void BatchNorm::Forward(const Tensor& input, const ForwardContext& context, Tensor* output) {
  const int rows = static_cast<int>(input.rows());
  output->resize(rows, input_size());
  const bool batch = UsesBatchStatistics(context);
  if (batch) statistics_rows_ = 0;
  if (rows == 0) return;
  const NormAffine& affine = affine_;
  // With the running statistics oneDNN reads them (use_global_stats).
  Tensor* mean = batch ? &batch_mean_ : running_mean_;
  Tensor* variance = batch ? &batch_variance_ : running_var_;
  absl::Status status = normalization_.Forward(
      rows, input_size(), input.data(), affine.gamma->data(), affine.beta->data(),
      /*global_stats=*/!batch, mean->data(), variance->data(), output->data());
  if (!status.ok()) {
    ReportFallback(*this, "forward", status, &fallback_reported_);
    reference_->set_trainable(trainable());       // the mode follows this layer's flag
    reference_->Forward(input, context, output);  // keeps its statistics itself
    return;
  }
  if (batch) {
    statistics_rows_ = rows;
    reference_->KeepBatchStatistics(batch_mean_, batch_variance_, rows);
  }
}

void BatchNorm::Backward(const Tensor& input, const Tensor& output, const Tensor& grad_output,
                         const ForwardContext& context, Tensor* grad_input) {
  const int rows = static_cast<int>(input.rows());
  if (grad_input != nullptr) grad_input->resize(rows, input_size());
  if (rows == 0) return;
  const bool batch = UsesBatchStatistics(context);
  absl::Status status = absl::FailedPreconditionError(
      "no statistics of a oneDNN forward pass over this batch (its forward pass fell back)");
  if (!batch || statistics_rows_ == rows) {
    Tensor* dx = grad_input;
    if (dx == nullptr) {
      diff_input_.resize(rows, input_size());
      dx = &diff_input_;
    }
    const NormAffine& affine = affine_;
    const Tensor* mean = batch ? &batch_mean_ : running_mean_;
    const Tensor* variance = batch ? &batch_variance_ : running_var_;
    status = normalization_.Backward(rows, input_size(), input.data(), mean->data(),
                                     variance->data(), grad_output.data(), affine.gamma->data(),
                                     affine.beta->data(), /*global_stats=*/!batch, dx->data(),
                                     diff_gamma_.data(), diff_beta_.data());
    if (status.ok()) {
      *affine.gamma_gradient += diff_gamma_;
      *affine.beta_gradient += diff_beta_;
      return;
    }
  }
  ReportFallback(*this, "backward", status, &fallback_reported_);
  reference_->set_trainable(trainable());
  reference_->Backward(input, output, grad_output, context, grad_input);
}

void BatchNorm::CommitStep() {
  const uint64_t before = reference_->parameter_version();
  reference_->CommitStep();
  // This layer is the one the network, the memo and the snapshots see.
  if (reference_->parameter_version() != before) MarkParametersUpdated();
}

}  // namespace mnemo::onednn
