#ifndef MNEMO_CORE_TRAINABLE_MODEL_H_
#define MNEMO_CORE_TRAINABLE_MODEL_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "core/communicator.h"
#include "core/config.pb.h"
#include "core/dataset.h"
#include "core/layer.h"
#include "core/tensor.h"

namespace mnemo {

// Figures a model reports beyond a loss and an accuracy, by name ("memory_loss").
using Figures = std::map<std::string, double>;

// A training batch as the loop hands it to a model.
struct Batch {
  const Tensor& features;             // rows x the model's input_size
  absl::Span<const int32_t> labels;   // one per row (classification; empty for regression)
  absl::Span<const int32_t> samples;  // each row's index in the training set, for messages
  const Tensor* targets = nullptr;    // rows x outputs (regression; null for classification)
  // Data parallelism: this rank's share of the global batch is empty (a short
  // last batch over more ranks than rows). The batch is then the global
  // batch's first row, so that the step has the shape of the others; the
  // trainer counts nothing of it, and CommitStep must take none of it in.
  bool empty_share = false;
};

// What one training batch gave, before the update.
struct StepResult {
  float loss = 0;   // the loss the gradients are of
  int correct = 0;  // rows whose answer is their label (0 for regression)
  Figures parts;    // named parts of the loss ("memory_loss"), summed over an epoch as the loss is
  // When the loss is not finite: where it came from, as far as the model can
  // tell (ExplainNonFiniteLoss, core/nonfinite.h).
  std::string nonfinite;
};

// Loss and accuracy of a model over a data set, and its figures: those of its
// task (core/metrics.h: "accuracy", "macro_f1", "log_loss"; "rmse", "mae",
// "r2") and its own.
struct Evaluation {
  double loss = 0;
  double accuracy = 0;  // 0 for regression
  int samples = 0;
  Figures figures;
};

// A model that takes training steps and evaluates: what core's one training
// loop (core/trainer.h) drives, and what a snapshot (core/snapshot.h) saves.
// A plain network is one (core/network_model.h), the dual-path classifier of
// memory_modules/classifier another.
//
// A step is ComputeGradients, then (unless the loop skips it for a
// non-finite value) the optimizer's step over TrainableParameters(), then
// CommitStep (where a network's layers update their buffers).
class TrainableModel {
 public:
  virtual ~TrainableModel() = default;

  // Features a sample has, and outputs the model gives.
  virtual int input_size() const = 0;
  virtual int output_size() const = 0;
  // What the output is trained for, and so what data the model takes.
  virtual config::Model::Loss loss() const { return config::Model::SOFTMAX_CROSS_ENTROPY; }

  // Before the first step of a run: fits what the model fits to the training
  // data rather than learns (an InputScaling first layer's statistics).
  virtual absl::Status FitToTrainingData(const Dataset& /*train*/) { return absl::OkStatus(); }

  // Every parameter, frozen ones too, each name unique: what a snapshot saves.
  virtual std::vector<ModelParameter> Parameters() = 0;
  // The parameters an optimizer steps, with their gradients.
  virtual std::vector<ModelParameter> TrainableParameters() = 0;
  // The model's buffers (Layer::buffers: BatchNorm's running statistics),
  // gradients null, names distinct from the parameters': saved by a
  // snapshot and by early stopping's best copy beside the parameters, stepped
  // by no optimizer; they change in CommitStep.
  virtual std::vector<ModelParameter> Buffers() { return {}; }

  // The forward pass and the loss of a training batch. When the loss is
  // finite, also the backward pass: the gradients of TrainableParameters()
  // then hold dLoss/dParameter (they are zeroed first). When it is not, there
  // is no backward pass and StepResult::nonfinite says what the model found.
  // Either way the pass is over when it returns (no activation is held).
  virtual absl::StatusOr<StepResult> ComputeGradients(const Batch& batch,
                                                      const ForwardContext& context) = 0;

  // The optimizer has applied the step of the last ComputeGradients: a model
  // with state beyond its parameters takes the batch in now (a memory stores
  // its features; a network's layers fold the batch statistics of its
  // forward pass into their buffers, Layer::CommitStep). Not called for a
  // step that was skipped.
  virtual absl::Status CommitStep() { return absl::OkStatus(); }

  // Loss, accuracy and the model's figures on `data`, in inference mode, in
  // batches of `batch_size`; changes nothing.
  virtual absl::StatusOr<Evaluation> Evaluate(const Dataset& data, int batch_size) = 0;

  // Figures of the model's state at an epoch's end ("memory_size").
  virtual void AddEpochFigures(Figures* /*figures*/) {}

  // Data parallelism (core/trainer.h), called once before a run over more
  // than one rank with its communicator (which outlives the run). The trainer
  // keeps the parameters, the optimizer's state and the buffers the same on
  // every rank; what CommitStep takes in beyond them (a memory's stores) is
  // the model's to keep the same: it must then take in the whole global
  // batch, in the same order, on every rank (the ranks' shares gathered with
  // Communicator::AllGather, in rank order). The default accepts a model
  // that holds nothing else (ExportState empty) and refuses any other.
  virtual absl::Status ShareStateAcross(Communicator* /*communicator*/) {
    const std::map<std::string, Tensor> state = ExportState();
    if (state.empty()) return absl::OkStatus();
    return absl::UnimplementedError(
        absl::StrCat("this model holds \"", state.begin()->first,
                     "\" beyond its parameters and cannot keep it the same on every rank of a "
                     "data-parallel run"));
  }

  // What the model holds beyond its parameters (a memory's contents), as
  // named tensors for a snapshot, and taken back from one. ImportState is
  // all or nothing: on an error the model is as it was.
  virtual std::map<std::string, Tensor> ExportState() { return {}; }
  virtual absl::Status ImportState(const std::map<std::string, Tensor>& state) {
    if (state.empty()) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(
        "this model holds nothing but its parameters, and no \"", state.begin()->first, "\""));
  }
};

}  // namespace mnemo

#endif  // MNEMO_CORE_TRAINABLE_MODEL_H_
