#ifndef MNEMO_CORE_INFERENCE_PREDICTOR_H_
#define MNEMO_CORE_INFERENCE_PREDICTOR_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/abi.h"
#include "core/config_loader.h"
#include "core/inference/inference_pass.h"
#include "core/layer.h"
#include "core/loss.h"
#include "core/memory_module.h"
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
// A model with a memory module (memory_module in its config, trained by
// memory_modules/classifier's DualPathClassifier) is served as its dual path:
// the layers up to memory_module.features_after give the features, the
// memory's class is the answer where it is confident (core/dual_path.h's
// rule), the head's elsewhere; the logits are the head's. Such a model takes
// new examples while it is served (AddExamples: a class the head has no
// output for, up to memory_module.num_classes), and Save writes it with what
// was added. Its Retrieve allocates its answer: a memory model is not
// allocation-free.
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
  // a model file of S bytes costs about S (a memory module's contents are
  // read whole, then imported).
  //
  // A model with a memory module: its plugin must be loaded (the config's
  // `plugin` list does it); a model file without the memory's contents, or
  // with contents that do not fit it, is refused.
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

  // Shows the memory of a model with a memory module labelled examples
  // (samples x input_size(), one label each): their features are written to
  // the memory (MemoryModule::Write: kept without a novelty test, no
  // gradient), so that later calls answer their class where the memory is
  // confident. A label may be any class the memory holds
  // (memory_num_classes(), beyond the head's num_classes() when
  // memory_module.num_classes says so). Refuses, changing nothing: a model
  // without a memory (FailedPrecondition), samples Classify would refuse, a
  // label outside the memory's classes (naming the example, the label and
  // memory_module.num_classes), and what the memory's Write refuses (features
  // that are zero; more examples than its capacity).
  absl::Status AddExamples(const Tensor& samples, absl::Span<const int32_t> labels);

  // Writes the model file anew (core/model_io.h's SaveModel, atomically):
  // the config stored in the file it was loaded from (or, for a file without
  // one, the given config), the data's names, the weights, and the memory's
  // current contents, examples added since the load included. Predictor::Load
  // of the file answers as this predictor does now. An existing file at
  // `path` is not replaced unless `overwrite` (AlreadyExists otherwise):
  // what a user added stays where they put it until they say otherwise.
  absl::Status Save(const std::string& path, bool overwrite = false);

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
  // for one sigmoid output; a dual path's are its head's, whatever the
  // memory answered), computed into
  // a buffer reused while the shape repeats. Valid until the next call;
  // FailedPrecondition before a successful one.
  absl::StatusOr<const Tensor*> Probabilities();

  // The bytes of the model's weights (every layer's parameters, and the
  // layers' buffers such as BatchNorm's running statistics; an INT8 model's
  // int8 weights at a byte each): what the predictor holds beyond its
  // working tensors.
  int64_t weight_bytes() const;

  int input_size() const { return network_->input_size(); }
  // The network's outputs (the logits' width; a dual path's head's).
  int num_classes() const { return network_->output_size(); }
  // Whether the model has a memory module, and the classes it may hold, so
  // answer: at least num_classes(); 0 without a memory.
  bool has_memory() const { return memory_ != nullptr; }
  int memory_num_classes() const { return memory_ != nullptr ? memory_->num_classes() : 0; }
  // The config as given (with its cache strategy, which inference ignores).
  const LoadedConfig& config() const { return *config_; }

 private:
  // The layers a call runs: all of them, or for a dual path the backbone
  // (`front`, up to the features) and the head.
  struct Passes {
    InferencePass front;
    std::optional<InferencePass> head;
  };

  // `memory` null, or the memory of a dual path whose backbone is the first
  // `split` layers.
  Predictor(std::unique_ptr<LoadedConfig> config, std::unique_ptr<Network> network,
            std::unique_ptr<MemoryModule> memory, int split);

  Passes MakePasses();
  // Runs `passes` on checked samples and takes the answers into `labels`.
  absl::StatusOr<Predictions> Run(Passes& passes, const Tensor& samples,
                                  std::vector<int32_t>& labels);

  std::unique_ptr<LoadedConfig> config_;
  std::unique_ptr<Network> network_;  // owns the layers and their weights
  std::unique_ptr<MemoryModule> memory_;  // null: no memory module
  int split_ = 0;                         // the backbone's layers, when there is a memory
  float confidence_threshold_ = 0;        // the memory answers above it
  std::string config_text_;               // what Save stores
  ForwardContext context_;                // training off
  Passes batch_passes_;                   // Classify's buffers
  Passes one_passes_;                     // ClassifyOne's
  Tensor batch_input_;                    // Classify(span)'s copy of the samples
  Tensor one_input_;                      // 1 x input_size
  std::vector<int32_t> batch_labels_;
  std::vector<int32_t> one_label_;
  std::vector<int32_t> network_labels_;  // a dual path's head's answers
  const Tensor* last_logits_ = nullptr;
  Tensor probabilities_;
  config::DataNames names_;
};

}  // namespace mnemo

#endif  // MNEMO_CORE_INFERENCE_PREDICTOR_H_
