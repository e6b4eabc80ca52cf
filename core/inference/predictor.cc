#include "core/inference/predictor.h"

#include <sys/stat.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "core/dual_path.h"
#include "core/feature_split.h"
#include "core/inference/sample_checks.h"
#include "core/loss.h"
#include "core/memory_settings.h"
#include "core/model_builder.h"
#include "core/model_io.h"
#include "core/status_macros.h"
#include "google/protobuf/text_format.h"

namespace mnemo {
namespace {

std::vector<Layer*> LayersOf(Network& network) {
  std::vector<Layer*> layers;
  for (int i = 0; i < network.num_layers(); ++i) layers.push_back(&network.layer(i));
  return layers;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Predictor>> Predictor::Load(const std::string& config_path,
                                                           const std::string& model_path,
                                                           const PredictorOptions& options,
                                                           const char* caller_abi) {
  MNEMO_RETURN_IF_ERROR(CheckCallerAbi(caller_abi));
  // Without the training data and trainer checks: a server need not have them.
  ConfigLoader loader(Registries::Global(), ConfigUse::kInference, caller_abi);
  loader.set_plugin_path(options.plugin_path);
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config =
      loader.LoadForModel(config_path, model_path);
  if (!config.ok()) return config.status();
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Predictor> predictor, Load(**config, model_path));
  // Its tensors fit (Load checked them); the model they were trained in must
  // be the one the config describes too.
  if (!config_path.empty()) {
    MNEMO_RETURN_IF_ERROR(CheckModelMatchesFile((*config)->experiment().model(), model_path));
  }
  return predictor;
}

absl::StatusOr<std::unique_ptr<Predictor>> Predictor::Load(const LoadedConfig& config,
                                                           const std::string& model_path,
                                                           const Registries& registries,
                                                           const char* caller_abi) {
  MNEMO_RETURN_IF_ERROR(CheckCallerAbi(caller_abi));
  // Built without the config's cache strategy: a checkpoint or memo strategy
  // only pays off with a backward pass, and the inference pass bypasses it.
  LoadedConfig inference = config;
  inference.mutable_experiment().clear_cache_strategy();
  // No gradients, whatever the config was loaded for: a Predictor never
  // trains, and gradients would double the model's memory.
  inference.RestrictToInference();
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Network> network, BuildNetwork(inference, registries));
  std::unique_ptr<MemoryModule> memory;
  int split = network->num_layers();
  const config::MemoryModule& memory_config = config.experiment().memory_module();
  if (memory_config.type().empty()) {
    MNEMO_RETURN_IF_ERROR(LoadModel(model_path, *network));
  } else {
    if (IsRegression(network->loss().kind)) {
      return absl::InvalidArgumentError(config.Describe(
          "memory_module", "a memory module answers classes, but model.loss is a regression's"));
    }
    MNEMO_ASSIGN_OR_RETURN(split, FeatureSplitIndex(config));
    MNEMO_RETURN_IF_ERROR(CheckFeatureSplit(*network, split, memory_config.features_after()));
    MNEMO_ASSIGN_OR_RETURN(
        memory, CreateMemoryModule(config, network->layer(split - 1).output_size(),
                                   network->output_size(), network->shared_backend(), registries));
    absl::StatusOr<std::map<std::string, Tensor>> state =
        LoadModel(model_path, {network.get()}, kMemoryStatePrefix);
    MNEMO_RETURN_IF_ERROR(state.status());
    MNEMO_RETURN_IF_ERROR(
        WithPrefix(ImportMemoryState(*state, *memory, memory_config.type()), model_path));
  }
  MNEMO_ASSIGN_OR_RETURN(config::DataNames names, ReadModelDataNames(model_path));
  MNEMO_ASSIGN_OR_RETURN(std::string config_text, ReadModelConfigText(model_path));
  if (config_text.empty()) {
    google::protobuf::TextFormat::PrintToString(config.experiment(), &config_text);
  }
  auto predictor = absl::WrapUnique(new Predictor(std::make_unique<LoadedConfig>(config),
                                                  std::move(network), std::move(memory), split));
  predictor->names_ = std::move(names);
  predictor->config_text_ = std::move(config_text);
  return predictor;
}

Predictor::Passes Predictor::MakePasses() {
  std::vector<Layer*> layers = LayersOf(*network_);
  if (memory_ == nullptr) return Passes{InferencePass(layers), std::nullopt};
  std::vector<Layer*> head(layers.begin() + split_, layers.end());
  layers.resize(split_);
  return Passes{InferencePass(layers), InferencePass(head)};
}

Predictor::Predictor(std::unique_ptr<LoadedConfig> config, std::unique_ptr<Network> network,
                     std::unique_ptr<MemoryModule> memory, int split)
    : config_(std::move(config)),
      network_(std::move(network)),
      memory_(std::move(memory)),
      split_(split),
      batch_passes_(MakePasses()),
      one_passes_(MakePasses()),
      one_input_(1, network_->input_size()),
      one_label_(1) {
  context_.training = false;
  context_.seed = config_->experiment().trainer().seed();
  if (memory_ != nullptr) {
    // The loader has checked the settings, so they resolve.
    confidence_threshold_ =
        memory::ResolveMemorySettings(config_->experiment().memory_module())->confidence_threshold;
  }
}

absl::StatusOr<Predictions> Predictor::Run(Passes& passes, const Tensor& samples,
                                           std::vector<int32_t>& labels) {
  const Tensor& front = passes.front.Run(samples, context_);
  if (memory_ == nullptr) {
    labels.resize(regression() ? 0 : front.rows());  // keeps its capacity when it shrinks
    if (!regression()) PredictedClasses(network_->loss().kind, front, labels.data());
    last_logits_ = &front;
    return Predictions{absl::MakeConstSpan(labels), &front};
  }
  // A dual path: `front` holds the features.
  const int rows = static_cast<int>(front.rows());
  const std::string& name = config_->experiment().memory_module().type();
  absl::StatusOr<Retrieval> retrieval = memory_->Retrieve(front);
  MNEMO_RETURN_IF_ERROR(WithPrefix(retrieval.status(), absl::StrCat(name, ": Retrieve")));
  MNEMO_RETURN_IF_ERROR(CheckRetrieval(*retrieval, rows, memory_->num_classes(), name));
  const Tensor& logits = passes.head->Run(front, context_);
  network_labels_.resize(rows);
  PredictedClasses(network_->loss().kind, logits, network_labels_.data());
  labels.resize(rows);
  RouteDualPath(*retrieval, network_labels_, confidence_threshold_, absl::MakeSpan(labels));
  last_logits_ = &logits;
  return Predictions{absl::MakeConstSpan(labels), &logits};
}

absl::Status Predictor::AddExamples(const Tensor& samples, absl::Span<const int32_t> labels) {
  if (memory_ == nullptr) {
    return absl::FailedPreconditionError(
        "AddExamples: the model has no memory module (memory_module.type) to show examples to");
  }
  MNEMO_RETURN_IF_ERROR(CheckSamples(samples.data(), samples.rows(), samples.cols(), input_size()));
  MNEMO_RETURN_IF_ERROR(WithPrefix(
      CheckExampleLabels(labels, samples.rows(), memory_->num_classes()), "AddExamples"));
  if (labels.empty()) return absl::OkStatus();
  // Classify's backbone buffers: the last call's logits, the head's, stay.
  const Tensor& features = batch_passes_.front.Run(samples, context_);
  return WithPrefix(memory_->Write(features, labels),
                    absl::StrCat("AddExamples: ", config_->experiment().memory_module().type()));
}

absl::Status Predictor::Save(const std::string& path, bool overwrite) {
  struct stat info;
  if (!overwrite && ::stat(path.c_str(), &info) == 0) {
    return absl::AlreadyExistsError(
        absl::StrCat(path, " exists: Save replaces a file only when asked to (overwrite)"));
  }
  std::map<std::string, Tensor> state;
  if (memory_ != nullptr) state = ExportMemoryState(*memory_);
  return SaveModel(path, {network_.get()}, config_text_, state, names_);
}

absl::StatusOr<Predictions> Predictor::Classify(const Tensor& samples) {
  MNEMO_RETURN_IF_ERROR(CheckSamples(samples.data(), samples.rows(), samples.cols(), input_size()));
  return Run(batch_passes_, samples, batch_labels_);
}

absl::StatusOr<const Tensor*> Predictor::Predict(const Tensor& samples) {
  MNEMO_ASSIGN_OR_RETURN(Predictions predictions, Classify(samples));
  return predictions.logits;
}

std::string Predictor::ClassLabel(int32_t id) const {
  if (id >= 0 && id < names_.class_label_size()) return names_.class_label(id);
  return absl::StrCat(id);
}

absl::StatusOr<Predictions> Predictor::Classify(absl::Span<const float> samples) {
  const int64_t width = input_size();
  const int64_t floats = static_cast<int64_t>(samples.size());
  if (floats % width != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        samples.size(), " floats are not a whole number of samples of ", width, " features"));
  }
  const int64_t rows = floats / width;
  MNEMO_RETURN_IF_ERROR(CheckSamples(samples.data(), rows, width, input_size()));
  batch_input_ = Eigen::Map<const Tensor>(samples.data(), rows, width);
  return Run(batch_passes_, batch_input_, batch_labels_);
}

absl::StatusOr<int32_t> Predictor::ClassifyOne(absl::Span<const float> sample) {
  if (absl::Status s =
          CheckSamples(sample.data(), 1, static_cast<int64_t>(sample.size()), input_size());
      !s.ok()) {
    return s;
  }
  if (regression()) {
    return absl::FailedPreconditionError(
        "ClassifyOne on a regression model, which answers values: use Predict");
  }
  one_input_.row(0) = Eigen::Map<const Vector>(sample.data(), input_size());
  MNEMO_ASSIGN_OR_RETURN(Predictions predictions, Run(one_passes_, one_input_, one_label_));
  return predictions.labels[0];
}

absl::StatusOr<const Tensor*> Predictor::Probabilities() {
  if (last_logits_ == nullptr) {
    return absl::FailedPreconditionError(
        "Probabilities() before any successful Classify or ClassifyOne");
  }
  if (regression()) {
    return absl::FailedPreconditionError("a regression model has no class probabilities");
  }
  if (network_->loss().kind == config::Model::SIGMOID_CROSS_ENTROPY) {
    // Two columns, as a softmax of (0, logit).
    Tensor pair(last_logits_->rows(), 2);
    pair.col(0).setZero();
    pair.col(1) = last_logits_->col(0);
    SoftmaxRows(pair, &probabilities_);
  } else {
    SoftmaxRows(*last_logits_, &probabilities_);
  }
  return &probabilities_;
}

int64_t Predictor::weight_bytes() const {
  int64_t bytes = 0;
  for (int i = 0; i < network_->num_layers(); ++i) {
    for (const Parameter& p : network_->layer(i).parameters()) {
      bytes += static_cast<int64_t>(TensorBytes(*p.value));
    }
    for (const Parameter& b : network_->layer(i).buffers()) {
      bytes += static_cast<int64_t>(TensorBytes(*b.value));
    }
    for (const Int8Parameter& b : network_->layer(i).int8_buffers()) {
      bytes += static_cast<int64_t>(b.value->size());
    }
  }
  return bytes;
}

}  // namespace mnemo
