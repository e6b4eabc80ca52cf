#ifndef MNEMO_CORE_INFERENCE_PREDICTOR_H_
#define MNEMO_CORE_INFERENCE_PREDICTOR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/abi.h"
#include "core/config_loader.h"
#include "core/inference/inference_pass.h"
#include "core/layer.h"
#include "core/loss.h"
#include "core/network.h"
#include "core/registry.h"
#include "core/tensor.h"

namespace mnemo {

// The answers of one Classify call: views of the predictor's buffers, valid
// until its next call.
struct Predictions {
  // One per sample: the class id it answers (its largest logit, or for one
  // sigmoid output, 1 when the logit is > 0); empty for a regression model.
  absl::Span<const int32_t> labels;
  // samples x outputs: the network's output, the logits of a classifier or
  // the values a regression model predicts.
  const Tensor* logits = nullptr;
};

// How Predictor::Load finds what a model needs.
struct PredictorOptions {
  // Directories a relative `plugin:` path of the config is looked for in
  // first, before $MNEMO_PLUGIN_PATH's and the other places
  // (PluginLoader::Resolve has the whole order): a model trained in the tree
  // ("plugins/template/libtemplate_plugin.so") is served elsewhere with its
  // plugin in one of these, as that path or by its file name.
  std::vector<std::string> plugin_path;
};

// A trained classifier for a host application: a model saved by SaveModel
// (tools/train's model.safetensors) and its config, ready to classify.
//
//   absl::StatusOr<std::unique_ptr<Predictor>> predictor =
//       Predictor::Load("configs/fashion_mlp.pbtxt", "out/fashion_mlp/model.safetensors");
//   absl::StatusOr<int32_t> label = (*predictor)->ClassifyOne(pixels);  // 784 floats
//
// Inference runs the layers directly (InferencePass) with training off
// (Dropout passes its input through); the config's cache strategy, a
// training concern, is not built. Every buffer is reused: a Classify with
// the batch size of the Classify before it allocates nothing, nor does
// ClassifyOne after its first call (its buffers are separate, so serving
// batches and single samples in turn stays allocation-free). The reference
// layers keep that promise (tests/inference/predictor_allocation_test); a
// plugin's layers keep it if their Forward allocates nothing for a shape it
// has seen.
//
// Threads: the layers run as the config sets them up. Not thread-safe: a call
// writes the instance's buffers; serve from several threads with one
// Predictor per thread.
class Predictor {
 public:
  // Loads the config (and so the plugins it names, through the global plugin
  // loader) for inference (ConfigUse::kInference: its data and trainer
  // sections are neither needed nor checked), builds its model and loads the
  // weights from `model_path`. `config_path` "" uses the config stored in the
  // model file. Errors name the file and what is wrong: a config error with its line and
  // column; a model file that is missing, damaged, or of another architecture
  // (the tensors missing, extra or of another shape, with both shapes); a
  // given config whose model section is not the one stored in the file (the
  // lines that differ quoted; model.backend and model.threads may differ).
  // `options.plugin_path`: where the config's plugins are looked for first.
  // `caller_abi`: leave it to its default (core/abi.h): a host built with
  // flags that change mnemo's ABI is refused, both fingerprints named.
  //
  // Memory: the network is built without gradients (LayerArgs::inference)
  // and the weights are read from the file straight into it (LoadModel), so
  // a model file of S bytes costs about S.
  static absl::StatusOr<std::unique_ptr<Predictor>> Load(
      const std::string& config_path, const std::string& model_path,
      const PredictorOptions& options = {}, const char* caller_abi = MNEMO_BUILD_FINGERPRINT);
  // The same from a config already loaded (with its plugins), for training
  // or inference: the network is built for inference either way.
  static absl::StatusOr<std::unique_ptr<Predictor>> Load(
      const LoadedConfig& config, const std::string& model_path,
      const Registries& registries = Registries::Global(),
      const char* caller_abi = MNEMO_BUILD_FINGERPRINT);

  Predictor(const Predictor&) = delete;
  Predictor& operator=(const Predictor&) = delete;

  // Classifies each row of `samples` (samples x input_size()). Refuses
  // another width, or a NaN or infinity (naming the sample and feature).
  absl::StatusOr<Predictions> Classify(const Tensor& samples);
  // The same for samples laid out one after another, input_size() floats
  // each (copied into a buffer of the predictor's).
  absl::StatusOr<Predictions> Classify(absl::Span<const float> samples);
  // The label of one sample of input_size() floats. A regression model
  // refuses (FailedPrecondition): use Predict.
  absl::StatusOr<int32_t> ClassifyOne(absl::Span<const float> sample);

  // What a regression model predicts for each row of `samples` (samples x
  // targets; a classifier's logits), checked as Classify checks them.
  absl::StatusOr<const Tensor*> Predict(const Tensor& samples);

  // Whether the model was trained for values (model.loss MEAN_SQUARED_ERROR
  // or HUBER) rather than classes.
  bool regression() const { return IsRegression(network_->loss().kind); }
  // What the training data called the inputs, targets and classes (the
  // model file's kModelDataKey; empty for IDX and CIFAR-10 data).
  const config::DataNames& names() const { return names_; }
  // The original label of class `id` (a CSV's "setosa"), or the id itself
  // as text when the data named no classes.
  std::string ClassLabel(int32_t id) const;

  // The softmax of the last call's logits (samples x classes; two columns
  // for one sigmoid output), computed into
  // a buffer reused while the shape repeats. Valid until the next call;
  // FailedPrecondition before a successful one.
  absl::StatusOr<const Tensor*> Probabilities();

  // The bytes of the model's weights (every layer's parameters, and the
  // layers' buffers such as BatchNorm's running statistics): what the
  // predictor holds beyond its working tensors.
  int64_t weight_bytes() const;

  int input_size() const { return network_->input_size(); }
  int num_classes() const { return network_->output_size(); }
  // The config as given (with its cache strategy, which inference ignores).
  const LoadedConfig& config() const { return *config_; }

 private:
  Predictor(std::unique_ptr<LoadedConfig> config, std::unique_ptr<Network> network);

  // Runs `pass` on checked samples and takes the arg-max into `labels`.
  Predictions Run(InferencePass& pass, const Tensor& samples, std::vector<int32_t>& labels);

  std::unique_ptr<LoadedConfig> config_;
  std::unique_ptr<Network> network_;  // owns the layers and their weights
  ForwardContext context_;            // training off
  InferencePass batch_pass_;          // Classify's buffers
  InferencePass one_pass_;            // ClassifyOne's
  Tensor batch_input_;                // Classify(span)'s copy of the samples
  Tensor one_input_;                  // 1 x input_size
  std::vector<int32_t> batch_labels_;
  std::vector<int32_t> one_label_;
  const Tensor* last_logits_ = nullptr;
  Tensor probabilities_;
  config::DataNames names_;
};

}  // namespace mnemo

#endif  // MNEMO_CORE_INFERENCE_PREDICTOR_H_
