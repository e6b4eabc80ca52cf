#include "core/classifier/dual_path_classifier.h"

#include <cmath>
#include <map>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "core/classifier/feature_split.h"
#include "core/loss.h"
#include "core/memory/memory_settings.h"
#include "core/model_builder.h"
#include "core/model_io.h"

namespace mnemo {
namespace {

constexpr char kMemoryPrefix[] = "memory.";

// Holds a memory's learnable tensors so that an Optimizer, which steps the
// layers of a network, updates them too. It is never run forward.
class MemoryParameters : public Layer {
 public:
  explicit MemoryParameters(MemoryModule* memory) : Layer(1, 1), memory_(memory) {
    set_name("memory");  // optimizer state keys: "memory.<parameter>.<slot>"
  }
  const char* type() const override { return "MemoryParameters"; }
  void Forward(const Tensor& input, const ForwardContext&, Tensor* output) override {
    *output = input;
  }
  void Backward(const Tensor&, const Tensor&, const Tensor& grad_output, const ForwardContext&,
                Tensor* grad_input) override {
    if (grad_input != nullptr) *grad_input = grad_output;
  }
  // Asked afresh at every step: a memory may reallocate its tensors.
  std::vector<Parameter> parameters() override { return memory_->parameters(); }

 private:
  MemoryModule* memory_;
};

std::string Shape(const Tensor& t) { return absl::StrCat(t.rows(), "x", t.cols()); }

}  // namespace

DualPathSettings DualPathSettings::FromSettings(const memory::MemorySettings& memory) {
  DualPathSettings settings;
  settings.confidence_threshold = memory.confidence_threshold;
  settings.memory_loss_weight = memory.memory_loss_weight;
  return settings;
}

DualPathClassifier::DualPathClassifier(std::unique_ptr<Network> backbone,
                                       std::unique_ptr<Network> head,
                                       std::unique_ptr<MemoryModule> memory,
                                       std::unique_ptr<Network> memory_parameters,
                                       DualPathSettings settings, std::string memory_name)
    : backbone_(std::move(backbone)),
      head_(std::move(head)),
      memory_(std::move(memory)),
      memory_parameters_(std::move(memory_parameters)),
      settings_(settings),
      memory_name_(std::move(memory_name)) {}

absl::StatusOr<std::unique_ptr<DualPathClassifier>> DualPathClassifier::Create(
    const LoadedConfig& config, const Registries& registries) {
  const config::MemoryModule& memory_config = config.experiment().memory_module();
  if (memory_config.type().empty()) {
    return absl::InvalidArgumentError(
        config.Describe("memory_module",
                        "a dual-path classifier needs memory_module.type (no memory module "
                        "is configured)"));
  }
  absl::StatusOr<int> split = FeatureSplitIndex(config);
  if (!split.ok()) return split.status();
  absl::StatusOr<memory::MemorySettings> settings = memory::ResolveMemorySettings(memory_config);
  if (!settings.ok()) {
    return absl::InvalidArgumentError(
        config.Describe("memory_module", std::string(settings.status().message())));
  }
  absl::StatusOr<std::unique_ptr<Network>> network = BuildNetwork(config, registries);
  if (!network.ok()) return network.status();
  // FeatureSplitIndex counts layers by the rule BuildNetwork names them by;
  // check the two agree rather than split in the wrong place.
  const std::string& wanted = memory_config.features_after();
  bool found = false;
  for (int i = 0; i < *split && i < (*network)->num_layers(); ++i) {
    found |= (*network)->layer(i).name() == wanted;
  }
  if (!found || *split >= (*network)->num_layers()) {
    return absl::InternalError(absl::StrCat("the built network does not place layer \"", wanted,
                                            "\" before its layer ", *split));
  }

  // Both halves and the memory compute on the backend the model selected.
  const std::shared_ptr<const Backend> backend = (*network)->shared_backend();
  std::vector<std::unique_ptr<Layer>> layers = (*network)->ReleaseLayers();
  std::vector<std::unique_ptr<Layer>> head_layers;
  for (size_t i = *split; i < layers.size(); ++i) head_layers.push_back(std::move(layers[i]));
  layers.resize(*split);
  absl::StatusOr<std::unique_ptr<Network>> backbone =
      Network::Create(std::move(layers), nullptr, backend);
  if (!backbone.ok()) return backbone.status();
  absl::StatusOr<std::unique_ptr<Network>> head =
      Network::Create(std::move(head_layers), nullptr, backend);
  if (!head.ok()) return head.status();

  MemoryModuleArgs args{memory_config, (*backbone)->output_size(), (*head)->output_size(), backend};
  absl::StatusOr<std::unique_ptr<MemoryModule>> memory =
      registries.memory_modules.Create(memory_config.type(), args);
  if (!memory.ok()) {
    return absl::InvalidArgumentError(config.Describe(
        "memory_module", absl::StrCat(memory_config.type(), ": ", memory.status().message())));
  }
  return FromParts(*std::move(backbone), *std::move(head), *std::move(memory),
                   DualPathSettings::FromSettings(*settings), memory_config.type());
}

absl::StatusOr<std::unique_ptr<DualPathClassifier>> DualPathClassifier::FromParts(
    std::unique_ptr<Network> backbone, std::unique_ptr<Network> head,
    std::unique_ptr<MemoryModule> memory, DualPathSettings settings, std::string memory_name) {
  if (backbone == nullptr || head == nullptr || memory == nullptr) {
    return absl::InvalidArgumentError(
        "a dual-path classifier needs a backbone, a head and a memory");
  }
  if (backbone->output_size() != head->input_size()) {
    return absl::InvalidArgumentError(absl::StrCat("the backbone outputs ", backbone->output_size(),
                                                   " features but the head takes ",
                                                   head->input_size()));
  }
  if (memory->feature_dim() != backbone->output_size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(memory_name, " holds features of width ", memory->feature_dim(),
                     " but the backbone outputs ", backbone->output_size()));
  }
  if (!(settings.memory_loss_weight >= 0) || !std::isfinite(settings.memory_loss_weight)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the memory loss weight must be finite and >= 0, not ", settings.memory_loss_weight));
  }
  std::unique_ptr<Network> memory_parameters;
  if (!memory->parameters().empty()) {
    std::vector<std::unique_ptr<Layer>> holder;
    holder.push_back(std::make_unique<MemoryParameters>(memory.get()));
    absl::StatusOr<std::unique_ptr<Network>> network = Network::Create(std::move(holder));
    if (!network.ok()) return network.status();
    memory_parameters = *std::move(network);
  }
  return absl::WrapUnique(new DualPathClassifier(std::move(backbone), std::move(head),
                                                 std::move(memory), std::move(memory_parameters),
                                                 settings, std::move(memory_name)));
}

absl::StatusOr<StepLosses> DualPathClassifier::ComputeGradients(const Tensor& input,
                                                                absl::Span<const int32_t> labels,
                                                                const ForwardContext& context) {
  if (static_cast<size_t>(input.rows()) != labels.size() || input.rows() == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("a batch of ", input.rows(), " rows has ", labels.size(), " labels"));
  }
  backbone_->ZeroGradients();
  head_->ZeroGradients();
  if (memory_parameters_ != nullptr) memory_parameters_->ZeroGradients();

  absl::StatusOr<const Tensor*> features = backbone_->Forward(input, context);
  if (!features.ok()) return features.status();
  // Kept for Store: the backbone's activation storage is reused by the next pass.
  features_ = **features;
  absl::StatusOr<const Tensor*> logits = head_->Forward(features_, context);
  if (!logits.ok()) {
    backbone_->strategy().EndPass();
    return logits.status();
  }

  StepLosses losses;
  absl::StatusOr<float> classification = head_->backend().SoftmaxCrossEntropy(
      **logits, labels, &grad_logits_, &losses.network_correct);
  if (!classification.ok()) {
    backbone_->strategy().EndPass();
    head_->strategy().EndPass();
    return classification.status();
  }
  losses.classification = *classification;
  const float weight = settings_.memory_loss_weight;
  if (weight != 0) {
    absl::StatusOr<float> memory_loss = memory_->Loss(features_, labels, &grad_memory_);
    if (!memory_loss.ok()) {
      backbone_->strategy().EndPass();
      head_->strategy().EndPass();
      return absl::Status(memory_loss.status().code(),
                          absl::StrCat(memory_name_, ": Loss: ", memory_loss.status().message()));
    }
    if (grad_memory_.rows() != features_.rows() || grad_memory_.cols() != features_.cols()) {
      backbone_->strategy().EndPass();
      head_->strategy().EndPass();
      return absl::InternalError(absl::StrCat(memory_name_, "'s Loss gave a gradient of shape ",
                                              Shape(grad_memory_), " for features of shape ",
                                              Shape(features_)));
    }
    losses.memory = *memory_loss;
    // Loss gives the memory's parameters dMemoryLoss/dParameter; the total
    // loss weighs that term (their gradients were zero before the call).
    if (memory_parameters_ != nullptr && weight != 1) {
      for (const Parameter& p : memory_->parameters()) *p.gradient *= weight;
    }
  }
  losses.total = losses.classification + weight * losses.memory;

  if (absl::Status s = head_->Backward(grad_logits_, context, &grad_features_); !s.ok()) {
    backbone_->strategy().EndPass();
    return s;
  }
  if (weight != 0) grad_features_ += weight * grad_memory_;
  if (absl::Status s = backbone_->Backward(grad_features_, context); !s.ok()) return s;
  return losses;
}

std::vector<Network*> DualPathClassifier::trained_networks() {
  std::vector<Network*> networks = {backbone_.get(), head_.get()};
  if (memory_parameters_ != nullptr) networks.push_back(memory_parameters_.get());
  return networks;
}

absl::StatusOr<StepLosses> DualPathClassifier::TrainStep(const Tensor& input,
                                                         absl::Span<const int32_t> labels,
                                                         const ForwardContext& context,
                                                         Optimizer& optimizer) {
  absl::StatusOr<StepLosses> losses = ComputeGradients(input, labels, context);
  if (!losses.ok()) return losses;
  optimizer.Step(*backbone_);
  optimizer.Step(*head_);
  if (memory_parameters_ != nullptr) optimizer.Step(*memory_parameters_);
  if (absl::Status s = memory_->Store(features_, labels); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(memory_name_, ": Store: ", s.message()));
  }
  return losses;
}

absl::StatusOr<const Tensor*> DualPathClassifier::ExtractFeatures(const Tensor& input) {
  absl::StatusOr<const Tensor*> features =
      backbone_->Forward(input, ForwardContext{/*training=*/false, 0, 0});
  if (!features.ok()) return features.status();
  // A copy: a strategy's output is valid only until its EndPass.
  inference_features_ = **features;
  backbone_->strategy().EndPass();
  return &inference_features_;
}

absl::Status DualPathClassifier::CheckRetrieval(const Retrieval& retrieval, int rows) const {
  const size_t n = static_cast<size_t>(rows);
  if (retrieval.label.size() != n || retrieval.confidence.size() != n) {
    return absl::InternalError(
        absl::StrCat(memory_name_, "'s Retrieve answered ", retrieval.label.size(), " labels and ",
                     retrieval.confidence.size(), " confidences for ", rows, " queries"));
  }
  for (size_t i = 0; i < n; ++i) {
    if (retrieval.label[i] >= num_classes()) {
      return absl::InternalError(absl::StrCat(memory_name_, "'s Retrieve answered class ",
                                              retrieval.label[i], " of ", num_classes()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<DualPathPrediction> DualPathClassifier::Predict(const Tensor& input) {
  absl::StatusOr<const Tensor*> features = ExtractFeatures(input);
  if (!features.ok()) return features.status();
  return PredictFromFeatures(**features);
}

absl::StatusOr<float> DualPathClassifier::MemoryLoss(const Tensor& features,
                                                     absl::Span<const int32_t> labels) {
  Tensor grad;
  absl::StatusOr<float> loss = memory_->Loss(features, labels, &grad);
  if (memory_parameters_ != nullptr) memory_parameters_->ZeroGradients();
  if (!loss.ok()) {
    return absl::Status(loss.status().code(),
                        absl::StrCat(memory_name_, ": Loss: ", loss.status().message()));
  }
  return loss;
}

absl::StatusOr<DualPathPrediction> DualPathClassifier::PredictFromFeatures(const Tensor& features,
                                                                           Tensor* logits_out) {
  if (features.cols() != backbone_->output_size()) {
    return absl::InvalidArgumentError(absl::StrCat("features of width ", features.cols(),
                                                   " given; the backbone's are ",
                                                   backbone_->output_size()));
  }
  const int rows = static_cast<int>(features.rows());
  absl::StatusOr<Retrieval> retrieval = memory_->Retrieve(features);
  if (!retrieval.ok()) {
    return absl::Status(retrieval.status().code(),
                        absl::StrCat(memory_name_, ": Retrieve: ", retrieval.status().message()));
  }
  if (absl::Status s = CheckRetrieval(*retrieval, rows); !s.ok()) return s;
  absl::StatusOr<const Tensor*> logits =
      head_->Forward(features, ForwardContext{/*training=*/false, 0, 0});
  if (!logits.ok()) return logits.status();
  if (logits_out != nullptr) *logits_out = **logits;
  argmax_.resize(rows);
  ArgMaxRows(**logits, argmax_.data());
  head_->strategy().EndPass();

  DualPathPrediction prediction;
  prediction.network_label = argmax_;
  prediction.memory_label = retrieval->label;
  prediction.confidence = retrieval->confidence;
  prediction.label.resize(rows);
  prediction.from_memory.resize(rows);
  for (int i = 0; i < rows; ++i) {
    // A memory with nothing to say (-1) never answers, whatever its confidence.
    const bool memory =
        retrieval->label[i] >= 0 && retrieval->confidence[i] > settings_.confidence_threshold;
    prediction.from_memory[i] = memory ? 1 : 0;
    prediction.label[i] = memory ? retrieval->label[i] : argmax_[i];
  }
  return prediction;
}

absl::Status DualPathClassifier::Save(const std::string& path, const std::string& config_text) {
  std::map<std::string, Tensor> extra;
  for (auto& [name, tensor] : memory_->ExportState()) {
    extra.emplace(absl::StrCat(kMemoryPrefix, name), std::move(tensor));
  }
  return SaveModel(path, {backbone_.get(), head_.get()}, config_text, extra);
}

absl::Status DualPathClassifier::Load(const std::string& path) {
  // LoadModel changes nothing when its checks refuse (an I/O error in the
  // data leaves the parameters partly loaded, as its error says);
  // ImportState may refuse after it succeeded, so the parameters are put
  // back then.
  std::vector<Network*> networks = {backbone_.get(), head_.get()};
  std::vector<std::pair<Tensor*, Tensor>> saved;
  for (Network* network : networks) {
    for (int i = 0; i < network->num_layers(); ++i) {
      for (const Parameter& p : network->layer(i).parameters())
        saved.emplace_back(p.value, *p.value);
    }
  }
  absl::StatusOr<std::map<std::string, Tensor>> extra = LoadModel(path, networks, kMemoryPrefix);
  if (!extra.ok()) return extra.status();
  std::map<std::string, Tensor> state;
  for (auto& [name, tensor] : *extra) {
    state.emplace(name.substr(sizeof(kMemoryPrefix) - 1), std::move(tensor));
  }
  if (absl::Status s = memory_->ImportState(state); !s.ok()) {
    for (auto& [target, value] : saved) *target = std::move(value);
    for (Network* network : networks) {
      for (int i = 0; i < network->num_layers(); ++i) network->layer(i).MarkParametersUpdated();
    }
    return absl::Status(s.code(), absl::StrCat(path, ": the memory's contents do not fit ",
                                               memory_name_, ": ", s.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<DualPathClassifier>> DualPathClassifier::FromFile(
    const std::string& path) {
  absl::StatusOr<std::string> text = ReadModelConfigText(path);
  if (!text.ok()) return text.status();
  if (text->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " holds no config to build the classifier from"));
  }
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = ConfigLoader().LoadText(*text, path);
  if (!config.ok()) return config.status();
  absl::StatusOr<std::unique_ptr<DualPathClassifier>> classifier = Create(**config);
  if (!classifier.ok()) return classifier.status();
  if (absl::Status s = (*classifier)->Load(path); !s.ok()) return s;
  return classifier;
}

}  // namespace mnemo
