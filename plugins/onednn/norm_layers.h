#ifndef MNEMO_PLUGINS_ONEDNN_NORM_LAYERS_H_
#define MNEMO_PLUGINS_ONEDNN_NORM_LAYERS_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "core/layer.h"
#include "core/layers/batch_norm.h"
#include "core/layers/layer_norm.h"
#include "core/registry.h"
#include "core/tensor.h"
#include "plugins/onednn/normalization.h"

namespace mnemo::onednn {

inline constexpr char kLayerNormType[] = "onednn/LayerNorm";
inline constexpr char kBatchNormType[] = "onednn/BatchNorm";

// The value and gradient tensors of a core normalisation's parameters
// "gamma" and "beta", looked up once (parameters() builds a vector of named
// entries: not at every pass).
struct NormAffine {
  Tensor* gamma = nullptr;
  Tensor* beta = nullptr;
  Tensor* gamma_gradient = nullptr;
  Tensor* beta_gradient = nullptr;

  static NormAffine Of(Layer& layer);
};

// core's LayerNorm (core/layers/layer_norm.h) on oneDNN's layer
// normalisation, forward and backward. Its parameters are those of a core
// LayerNorm it holds (same names, shapes and start), so models move across
// backends. The forward pass always runs as oneDNN's forward_training, which
// writes each row's mean and variance into the layer (2 x rows floats); the
// backward pass reads them: they are the statistics of its input, since
// every forward pass of a layer within a step is over the same input (the
// Layer contract: Backward is given the input of the forward pass).
//
// A LayerNorm of one feature (its output is beta, its input gradient zero)
// runs core's layer: oneDNN's input gradient there is rounding noise
// multiplied by 1 / sqrt(epsilon), about 316.
class LayerNorm : public Layer {
 public:
  // As core's LayerNorm::Create, with args.backend's threads.
  static absl::StatusOr<std::unique_ptr<Layer>> Create(const LayerArgs& args);

  LayerNorm(std::unique_ptr<mnemo::LayerNorm> reference, int threads);

  const char* type() const override { return kLayerNormType; }
  void Forward(const Tensor& input, const ForwardContext& context, Tensor* output) override;
  void Backward(const Tensor& input, const Tensor& output, const Tensor& grad_output,
                const ForwardContext& context, Tensor* grad_input) override;
  // {"gamma", "beta"}, as core's LayerNorm.
  std::vector<Parameter> parameters() override { return reference_->parameters(); }

 private:
  std::unique_ptr<mnemo::LayerNorm> reference_;  // parameters, and the fallback
  NormAffine affine_;                            // its tensors, which never move
  Normalization normalization_;
  // The last forward pass's per-row statistics (1 x rows each) and whether
  // oneDNN computed them (a fallback pass did not).
  Tensor mean_, variance_;
  bool statistics_valid_ = false;
  // The scale's and shift's gradients of a pass (oneDNN writes them; the
  // layer adds them), and dx when the caller wants none.
  Tensor diff_gamma_, diff_beta_, diff_input_;
  bool fallback_reported_ = false;
};

// core's BatchNorm (core/layers/batch_norm.h) on oneDNN's batch
// normalisation: forward_training on the batch's statistics, which it writes
// into the layer (the backward pass reads them, as LayerNorm's does) and
// hands to the core BatchNorm it holds for CommitStep (the unbiased
// correction and the running update are core's); with the running
// statistics (evaluation, and a frozen layer) oneDNN's use_global_stats,
// forward and backward. Parameters and buffers are the core layer's.
class BatchNorm : public Layer {
 public:
  // As core's BatchNorm::Create, with args.backend's threads.
  static absl::StatusOr<std::unique_ptr<Layer>> Create(const LayerArgs& args);

  BatchNorm(std::unique_ptr<mnemo::BatchNorm> reference, int threads);

  const char* type() const override { return kBatchNormType; }
  void Forward(const Tensor& input, const ForwardContext& context, Tensor* output) override;
  void Backward(const Tensor& input, const Tensor& output, const Tensor& grad_output,
                const ForwardContext& context, Tensor* grad_input) override;
  // {"gamma", "beta"} and {"running_mean", "running_var"}, as core's BatchNorm.
  std::vector<Parameter> parameters() override { return reference_->parameters(); }
  std::vector<Parameter> buffers() override { return reference_->buffers(); }
  void CommitStep() override;

 private:
  // Whether a pass with `context` uses the batch's statistics (core's rule,
  // with this layer's trainable flag).
  bool UsesBatchStatistics(const ForwardContext& context) const {
    return context.training && trainable();
  }

  std::unique_ptr<mnemo::BatchNorm> reference_;  // parameters, buffers, fallback
  NormAffine affine_;                            // its tensors, which never move
  Normalization normalization_;
  // The running statistics (the reference's buffers, which never move).
  Tensor* running_mean_ = nullptr;
  Tensor* running_var_ = nullptr;
  // The last training-mode forward pass's statistics, and the rows oneDNN
  // computed them over (0 when it did not: a fallback pass).
  Tensor batch_mean_, batch_variance_;
  int statistics_rows_ = 0;
  Tensor diff_gamma_, diff_beta_, diff_input_;
  bool fallback_reported_ = false;
};

}  // namespace mnemo::onednn

#endif  // MNEMO_PLUGINS_ONEDNN_NORM_LAYERS_H_
