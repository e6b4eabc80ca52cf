#ifndef MNEMO_MEMORY_MODULES_CLASSIFIER_DUAL_PATH_CLASSIFIER_H_
#define MNEMO_MEMORY_MODULES_CLASSIFIER_DUAL_PATH_CLASSIFIER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/config.pb.h"
#include "core/config_loader.h"
#include "core/layers/input_scaling.h"
#include "core/memory_module.h"
#include "core/memory_settings.h"
#include "core/network.h"
#include "core/registry.h"
#include "core/tensor.h"
#include "core/trainable_model.h"

namespace mnemo {

// The classifier's own part of the memory settings.
struct DualPathSettings {
  // The memory answers a sample when its confidence is strictly above this;
  // at exactly the threshold the network answers.
  float confidence_threshold = memory::MemorySettings().confidence_threshold;
  // Training loss = cross-entropy of the head + this x the memory's loss.
  // 0 trains on the cross-entropy alone (the memory's Loss is not called).
  float memory_loss_weight = memory::MemorySettings().memory_loss_weight;

  static DualPathSettings FromSettings(const memory::MemorySettings& memory);
};

// The answers for a batch, one entry per row.
struct DualPathPrediction {
  std::vector<int32_t> label;          // the dual path's answer
  std::vector<int32_t> network_label;  // the head's arg-max
  std::vector<int32_t> memory_label;   // the memory's class; -1 when it had none
  std::vector<float> confidence;       // the memory's; 0 when it had none
  std::vector<uint8_t> from_memory;    // 1 where the memory's class is the answer
  int size() const { return static_cast<int>(label.size()); }
};

// The names of a training step's parts (StepResult::parts): the head's mean
// cross-entropy, and the memory's loss, unweighted. The step's loss is
// classification + weight x memory.
inline constexpr char kClassificationLoss[] = "classification_loss";
inline constexpr char kMemoryLoss[] = "memory_loss";
// The figures of the memory it adds at an epoch's end (AddEpochFigures): items
// stored, and room for them.
inline constexpr char kMemorySize[] = "memory_size";
inline constexpr char kMemoryCapacity[] = "memory_capacity";

// Input -> backbone -> features; the features go to a network head and to a
// MemoryModule. The memory's class is the answer when its confidence is
// above the threshold, the head's otherwise (the seed's dual path).
//
// Training (core's Trainer: it is a TrainableModel) minimises
// cross-entropy(head) + weight x memory contrastive loss by backpropagation
// through head, backbone and the memory's parameters, then stores the
// batch's (features, labels) in the memory (CommitStep). Its training
// figures are those of a step, "train_classification_loss" and
// "train_memory_loss" (the head's predictions give the training accuracy:
// during training the memory is still filling with the very batches it would
// answer); its evaluation's are DualPathEvaluation's (dual_path_evaluation.h);
// at an epoch's end it adds "memory_size" and "memory_capacity".
class DualPathClassifier : public TrainableModel {
 public:
  // Builds the network the config describes and splits it after the layer
  // memory_module.features_after names (its activation included) into a
  // backbone and a head, each with core's keep_all strategy (the config's
  // cache_strategy is not used: the split network is small and both halves'
  // activations are needed at once); then creates the memory module of
  // memory_module.type with the backbone's output width as feature_dim and
  // the head's as num_classes. Errors carry the config's file:line:column.
  static absl::StatusOr<std::unique_ptr<DualPathClassifier>> Create(
      const LoadedConfig& config, const Registries& registries = Registries::Global());

  // From parts: the backbone's output must be the head's input and the
  // memory's feature_dim. `memory_name` names the module in messages.
  static absl::StatusOr<std::unique_ptr<DualPathClassifier>> FromParts(
      std::unique_ptr<Network> backbone, std::unique_ptr<Network> head,
      std::unique_ptr<MemoryModule> memory, DualPathSettings settings,
      std::string memory_name = "memory");

  // TrainableModel. The parameters are the backbone's and the head's
  // ("<layer>.<parameter>") and the memory's learnable tensors
  // ("memory.<name>"); the state is the memory's contents ("memory.<name>").
  int input_size() const override { return backbone_->input_size(); }
  int output_size() const override { return head_->output_size(); }
  // An InputScaling first layer of the backbone is fitted to the data.
  absl::Status FitToTrainingData(const Dataset& train) override {
    return FitInputScaling(*backbone_, train);
  }
  std::vector<ModelParameter> Parameters() override;
  std::vector<ModelParameter> TrainableParameters() override;
  // The backbone's and the head's layers' buffers ("<layer>.<buffer>").
  std::vector<ModelParameter> Buffers() override;
  // Stores nothing and updates nothing, so it may be called repeatedly (a
  // finite-difference check does).
  absl::StatusOr<StepResult> ComputeGradients(const Batch& batch,
                                              const ForwardContext& context) override;
  // The backbone's and the head's layers take the step in (their buffers:
  // Network::CommitStep); then the last ComputeGradients batch's features
  // (as its forward pass computed them, before the step) and labels are
  // stored in the memory.
  absl::Status CommitStep() override;
  // Data parallelism: CommitStep then stores the global batch, every rank's
  // features and labels gathered in rank order, so that the memories stay
  // the same on every rank (and the same as one process's up to float
  // rounding in the features).
  absl::Status ShareStateAcross(Communicator* communicator) override {
    communicator_ = communicator;
    return absl::OkStatus();
  }
  absl::StatusOr<Evaluation> Evaluate(const Dataset& data, int batch_size) override;
  void AddEpochFigures(Figures* figures) override;
  std::map<std::string, Tensor> ExportState() override;
  absl::Status ImportState(const std::map<std::string, Tensor>& state) override;

  // Both paths and the routing for every row, in inference mode.
  absl::StatusOr<DualPathPrediction> Predict(const Tensor& input);

  // The backbone alone, in inference mode: the features of `input`, valid
  // until the next call of ExtractFeatures or Predict.
  absl::StatusOr<const Tensor*> ExtractFeatures(const Tensor& input);

  // Predict from features ExtractFeatures gave. With `logits`, the head's
  // logits are copied there (for a test loss).
  absl::StatusOr<DualPathPrediction> PredictFromFeatures(const Tensor& features,
                                                         Tensor* logits = nullptr);

  // Shows the memory labelled examples (a class it has never seen, say):
  // their features, by the backbone in inference mode, are written to the
  // memory (MemoryModule::Write: kept without a novelty test; no gradient, no
  // step). A label may be any class the memory holds (memory_num_classes(),
  // which may exceed the head's outputs); others are refused, naming it and
  // the count, before anything is written, as are rows the memory's Write
  // refuses (features that are zero, more rows than the capacity).
  absl::Status AddExamples(const Tensor& input, absl::Span<const int32_t> labels);

  // The memory's loss of `features` (a test set's, say) without training:
  // the gradients it adds to the memory's parameters are cleared again.
  absl::StatusOr<float> MemoryLoss(const Tensor& features, absl::Span<const int32_t> labels);

  // Backbone and head parameters and buffers and the memory's contents (ExportState,
  // each tensor prefixed "memory.") in one safetensors file, with the config
  // text in its metadata, so a reloaded classifier answers identically.
  absl::Status Save(const std::string& path, const std::string& config_text);
  // Loads what Save wrote into a classifier built from the same config;
  // refuses a file that does not match, leaving the classifier as it was.
  // An I/O error while reading the data, after the checks, leaves the
  // parameters partly loaded (LoadModel; its error says so).
  absl::Status Load(const std::string& path);

  // A classifier to serve from a file Save wrote: built from the config text
  // stored in it (its plugins loaded, relative paths resolved beside the
  // file), then loaded.
  static absl::StatusOr<std::unique_ptr<DualPathClassifier>> FromFile(const std::string& path);

  Network& backbone() { return *backbone_; }
  Network& head() { return *head_; }
  MemoryModule& memory() { return *memory_; }
  const DualPathSettings& settings() const { return settings_; }
  // Routing only: answers change, the trained model does not (a threshold
  // can be studied after training).
  void set_confidence_threshold(float threshold) { settings_.confidence_threshold = threshold; }
  const std::string& memory_name() const { return memory_name_; }
  int num_classes() const { return head_->output_size(); }
  // The classes the memory may hold and so the dual path may answer: at
  // least the head's (memory_module.num_classes).
  int memory_num_classes() const { return memory_->num_classes(); }

 private:
  DualPathClassifier(std::unique_ptr<Network> backbone, std::unique_ptr<Network> head,
                     std::unique_ptr<MemoryModule> memory, DualPathSettings settings,
                     std::string memory_name);

  // The memory's learnable tensors as model parameters, "memory.<name>".
  void AppendMemoryParameters(std::vector<ModelParameter>* parameters);
  // Ends the open forward passes of both networks (a step that stops early).
  void EndPasses();
  // Data parallelism: every rank's share of the step's batch into
  // gathered_features_ and gathered_labels_, in rank order.
  absl::Status GatherBatch();

  std::unique_ptr<Network> backbone_;
  std::unique_ptr<Network> head_;
  std::unique_ptr<MemoryModule> memory_;
  DualPathSettings settings_;
  std::string memory_name_;

  // Reused between steps.
  Tensor features_;              // this batch's features, kept for Store after the step
  std::vector<int32_t> labels_;  // and its labels
  bool empty_share_ = false;     // the batch counts for nothing (Batch::empty_share)
  Communicator* communicator_ = nullptr;  // data parallelism: ShareStateAcross
  // The global batch CommitStep stores under data parallelism.
  Tensor gathered_features_;
  std::vector<int32_t> gathered_labels_;
  Tensor inference_features_;
  Tensor grad_logits_;
  Tensor grad_memory_;
  Tensor grad_features_;
  std::vector<int32_t> argmax_;
};

}  // namespace mnemo

#endif  // MNEMO_MEMORY_MODULES_CLASSIFIER_DUAL_PATH_CLASSIFIER_H_
