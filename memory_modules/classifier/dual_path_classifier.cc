#include "memory_modules/classifier/dual_path_classifier.h"

#include <cmath>
#include <map>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "core/dual_path.h"
#include "core/feature_split.h"
#include "core/loss.h"
#include "core/memory_settings.h"
#include "core/model_builder.h"
#include "core/model_io.h"
#include "core/nonfinite.h"
#include "core/status_macros.h"
#include "memory_modules/classifier/dual_path_evaluation.h"

namespace mnemo {
namespace {

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
                                       DualPathSettings settings, std::string memory_name)
    : backbone_(std::move(backbone)),
      head_(std::move(head)),
      memory_(std::move(memory)),
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
  MNEMO_ASSIGN_OR_RETURN(int split, FeatureSplitIndex(config));
  absl::StatusOr<memory::MemorySettings> settings = memory::ResolveMemorySettings(memory_config);
  if (!settings.ok()) {
    return absl::InvalidArgumentError(
        config.Describe("memory_module", std::string(settings.status().message())));
  }
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Network> network, BuildNetwork(config, registries));
  MNEMO_RETURN_IF_ERROR(CheckFeatureSplit(*network, split, memory_config.features_after()));

  // Both halves and the memory compute on the backend the model selected.
  const std::shared_ptr<const Backend> backend = network->shared_backend();
  std::vector<std::unique_ptr<Layer>> layers = network->ReleaseLayers();
  std::vector<std::unique_ptr<Layer>> head_layers;
  for (size_t i = split; i < layers.size(); ++i) head_layers.push_back(std::move(layers[i]));
  layers.resize(split);
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Network> backbone,
                         Network::Create(std::move(layers), nullptr, backend));
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Network> head,
                         Network::Create(std::move(head_layers), nullptr, backend));
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<MemoryModule> memory,
                         CreateMemoryModule(config, backbone->output_size(), head->output_size(),
                                            backend, registries));
  return FromParts(std::move(backbone), std::move(head), std::move(memory),
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
  if (memory->num_classes() < head->output_size()) {
    return absl::InvalidArgumentError(absl::StrCat(memory_name, " holds ", memory->num_classes(),
                                                   " classes but the head answers ",
                                                   head->output_size()));
  }
  if (!(settings.memory_loss_weight >= 0) || !std::isfinite(settings.memory_loss_weight)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the memory loss weight must be finite and >= 0, not ", settings.memory_loss_weight));
  }
  return absl::WrapUnique(new DualPathClassifier(
      std::move(backbone), std::move(head), std::move(memory), settings, std::move(memory_name)));
}

void DualPathClassifier::AppendMemoryParameters(std::vector<ModelParameter>* parameters) {
  // Asked afresh every time: a memory may reallocate its tensors.
  for (const Parameter& p : memory_->parameters()) {
    parameters->push_back(
        ModelParameter{absl::StrCat(kMemoryStatePrefix, p.name), p.value, p.gradient, nullptr});
  }
}

std::vector<ModelParameter> DualPathClassifier::Parameters() {
  std::vector<ModelParameter> parameters = backbone_->Parameters();
  for (ModelParameter& p : head_->Parameters()) parameters.push_back(std::move(p));
  AppendMemoryParameters(&parameters);
  return parameters;
}

std::vector<ModelParameter> DualPathClassifier::Buffers() {
  std::vector<ModelParameter> buffers = backbone_->Buffers();
  for (ModelParameter& b : head_->Buffers()) buffers.push_back(std::move(b));
  return buffers;
}

std::vector<ModelParameter> DualPathClassifier::TrainableParameters() {
  std::vector<ModelParameter> parameters = backbone_->TrainableParameters();
  for (ModelParameter& p : head_->TrainableParameters()) parameters.push_back(std::move(p));
  AppendMemoryParameters(&parameters);
  return parameters;
}

void DualPathClassifier::EndPasses() {
  backbone_->strategy().EndPass();
  head_->strategy().EndPass();
}

absl::StatusOr<StepResult> DualPathClassifier::ComputeGradients(const Batch& batch,
                                                                const ForwardContext& context) {
  const Tensor& input = batch.features;
  const absl::Span<const int32_t> labels = batch.labels;
  if (static_cast<size_t>(input.rows()) != labels.size() || input.rows() == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("a batch of ", input.rows(), " rows has ", labels.size(), " labels"));
  }
  backbone_->ZeroGradients();
  head_->ZeroGradients();
  for (const Parameter& p : memory_->parameters()) p.gradient->setZero();

  MNEMO_ASSIGN_OR_RETURN(const Tensor* features, backbone_->Forward(input, context));
  // Kept for Store: the backbone's activation storage is reused by the next pass.
  features_ = *features;
  labels_.assign(labels.begin(), labels.end());
  empty_share_ = batch.empty_share;
  absl::StatusOr<const Tensor*> logits = head_->Forward(features_, context);
  if (!logits.ok()) {
    backbone_->strategy().EndPass();
    return logits.status();
  }

  StepResult step;
  absl::StatusOr<float> classification =
      head_->backend().SoftmaxCrossEntropy(**logits, labels, &grad_logits_, &step.correct);
  if (!classification.ok()) {
    EndPasses();
    return classification.status();
  }
  float memory_loss = 0;
  const float weight = settings_.memory_loss_weight;
  // A non-finite classification loss leaves the memory's loss alone: the
  // memory would refuse non-finite features.
  if (weight != 0 && std::isfinite(*classification)) {
    absl::StatusOr<float> loss = memory_->Loss(features_, labels, &grad_memory_);
    if (!loss.ok()) {
      EndPasses();
      return WithPrefix(loss.status(), absl::StrCat(memory_name_, ": Loss"));
    }
    if (grad_memory_.rows() != features_.rows() || grad_memory_.cols() != features_.cols()) {
      EndPasses();
      return absl::InternalError(absl::StrCat(memory_name_, "'s Loss gave a gradient of shape ",
                                              Shape(grad_memory_), " for features of shape ",
                                              Shape(features_)));
    }
    memory_loss = *loss;
    // Loss gives the memory's parameters dMemoryLoss/dParameter; the total
    // loss weighs that term (their gradients were zero before the call).
    if (weight != 1) {
      for (const Parameter& p : memory_->parameters()) *p.gradient *= weight;
    }
  }
  step.loss = *classification + weight * memory_loss;
  step.parts = {{kClassificationLoss, *classification}, {kMemoryLoss, memory_loss}};
  if (!std::isfinite(step.loss)) {
    step.nonfinite =
        ExplainNonFiniteLoss(Parameters(), {backbone_.get(), head_.get()}, input, batch.samples);
    if (std::isfinite(*classification)) {
      absl::StrAppend(&step.nonfinite, "; the memory's loss is ", memory_loss);
    }
    EndPasses();
    return step;
  }

  if (absl::Status s = head_->Backward(grad_logits_, context, &grad_features_); !s.ok()) {
    backbone_->strategy().EndPass();
    return s;
  }
  if (weight != 0) grad_features_ += weight * grad_memory_;
  MNEMO_RETURN_IF_ERROR(backbone_->Backward(grad_features_, context));
  return step;
}

absl::Status DualPathClassifier::CommitStep() {
  backbone_->CommitStep();
  head_->CommitStep();
  if (communicator_ != nullptr && communicator_->size() > 1) {
    MNEMO_RETURN_IF_ERROR(GatherBatch());
    return WithPrefix(memory_->Store(gathered_features_, gathered_labels_),
                      absl::StrCat(memory_name_, ": Store"));
  }
  return WithPrefix(memory_->Store(features_, labels_), absl::StrCat(memory_name_, ": Store"));
}

absl::Status DualPathClassifier::GatherBatch() {
  // Every rank's row count first (an empty share sends none), then the
  // features and the labels (floats: exact below 2^24) in rank order.
  const int ranks = communicator_->size();
  const int dim = static_cast<int>(features_.cols());
  const int rows = empty_share_ ? 0 : static_cast<int>(features_.rows());
  std::vector<float> counts(ranks);
  const float mine = static_cast<float>(rows);
  MNEMO_RETURN_IF_ERROR(communicator_->AllGather(
      absl::MakeConstSpan(&mine, 1), std::vector<int>(ranks, 1), absl::MakeSpan(counts)));
  std::vector<int> row_counts(ranks), value_counts(ranks);
  int total = 0;
  for (int r = 0; r < ranks; ++r) {
    row_counts[r] = static_cast<int>(counts[r]);
    value_counts[r] = row_counts[r] * dim;
    total += row_counts[r];
  }
  // Tensor is row-major: a rank's rows are one block.
  gathered_features_.resize(total, dim);
  MNEMO_RETURN_IF_ERROR(communicator_->AllGather(
      absl::MakeConstSpan(features_.data(), static_cast<size_t>(rows) * dim), value_counts,
      absl::MakeSpan(gathered_features_.data(), static_cast<size_t>(total) * dim)));
  std::vector<float> labels(labels_.begin(), labels_.begin() + rows);
  std::vector<float> all_labels(total);
  MNEMO_RETURN_IF_ERROR(communicator_->AllGather(labels, row_counts, absl::MakeSpan(all_labels)));
  gathered_labels_.assign(all_labels.begin(), all_labels.end());
  return absl::OkStatus();
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

absl::StatusOr<DualPathPrediction> DualPathClassifier::Predict(const Tensor& input) {
  MNEMO_ASSIGN_OR_RETURN(const Tensor* features, ExtractFeatures(input));
  return PredictFromFeatures(*features);
}

absl::Status DualPathClassifier::AddExamples(const Tensor& input,
                                             absl::Span<const int32_t> labels) {
  MNEMO_RETURN_IF_ERROR(
      WithPrefix(CheckExampleLabels(labels, input.rows(), memory_num_classes()), "AddExamples"));
  if (labels.empty()) return absl::OkStatus();
  MNEMO_ASSIGN_OR_RETURN(const Tensor* features, ExtractFeatures(input));
  // The memory's own refusals start "Write: ".
  return WithPrefix(memory_->Write(*features, labels), memory_name_);
}

absl::StatusOr<float> DualPathClassifier::MemoryLoss(const Tensor& features,
                                                     absl::Span<const int32_t> labels) {
  Tensor grad;
  absl::StatusOr<float> loss = memory_->Loss(features, labels, &grad);
  for (const Parameter& p : memory_->parameters()) p.gradient->setZero();
  MNEMO_RETURN_IF_ERROR(WithPrefix(loss.status(), absl::StrCat(memory_name_, ": Loss")));
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
  MNEMO_RETURN_IF_ERROR(WithPrefix(retrieval.status(), absl::StrCat(memory_name_, ": Retrieve")));
  MNEMO_RETURN_IF_ERROR(CheckRetrieval(*retrieval, rows, memory_num_classes(), memory_name_));
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
  RouteDualPath(*retrieval, argmax_, settings_.confidence_threshold,
                absl::MakeSpan(prediction.label), absl::MakeSpan(prediction.from_memory));
  return prediction;
}

std::map<std::string, Tensor> DualPathClassifier::ExportState() {
  return ExportMemoryState(*memory_);
}

absl::Status DualPathClassifier::ImportState(const std::map<std::string, Tensor>& state) {
  return ImportMemoryState(state, *memory_, memory_name_);
}

absl::StatusOr<Evaluation> DualPathClassifier::Evaluate(const Dataset& data, int batch_size) {
  MNEMO_ASSIGN_OR_RETURN(DualPathEvaluation evaluation, EvaluateDualPath(*this, data, batch_size));
  return ToEvaluation(evaluation);
}

void DualPathClassifier::AddEpochFigures(Figures* figures) {
  (*figures)[kMemorySize] = memory_->size();
  (*figures)[kMemoryCapacity] = memory_->capacity();
}

absl::Status DualPathClassifier::Save(const std::string& path, const std::string& config_text) {
  return SaveModel(path, {backbone_.get(), head_.get()}, config_text, ExportState());
}

absl::Status DualPathClassifier::Load(const std::string& path) {
  // LoadModel changes nothing when its checks refuse (an I/O error in the
  // data leaves the parameters partly loaded, as its error says);
  // ImportState may refuse after it succeeded, so the parameters are put
  // back then.
  std::vector<Network*> networks = {backbone_.get(), head_.get()};
  std::vector<std::pair<Tensor*, Tensor>> saved;
  for (const ModelParameter& p : Parameters()) {
    if (p.layer != nullptr) saved.emplace_back(p.value, *p.value);  // not the memory's own
  }
  for (const ModelParameter& b : Buffers()) saved.emplace_back(b.value, *b.value);
  absl::StatusOr<std::map<std::string, Tensor>> extra =
      LoadModel(path, networks, kMemoryStatePrefix);
  MNEMO_RETURN_IF_ERROR(extra.status());
  if (absl::Status s = ImportState(*extra); !s.ok()) {
    for (auto& [target, value] : saved) *target = std::move(value);
    for (Network* network : networks) {
      for (int i = 0; i < network->num_layers(); ++i) network->layer(i).MarkParametersUpdated();
    }
    return WithPrefix(s, path);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<DualPathClassifier>> DualPathClassifier::FromFile(
    const std::string& path) {
  MNEMO_ASSIGN_OR_RETURN(std::string text, ReadModelConfigText(path));
  if (text.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " holds no config to build the classifier from"));
  }
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<LoadedConfig> config, ConfigLoader().LoadText(text, path));
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<DualPathClassifier> classifier, Create(*config));
  MNEMO_RETURN_IF_ERROR(classifier->Load(path));
  return classifier;
}

}  // namespace mnemo
