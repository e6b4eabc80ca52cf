#ifndef MNEMO_CORE_TRAINER_H_
#define MNEMO_CORE_TRAINER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/augmentation.h"
#include "core/communicator.h"
#include "core/config.pb.h"
#include "core/dataset.h"
#include "core/lr_schedule.h"
#include "core/network.h"
#include "core/network_model.h"
#include "core/optimizer.h"
#include "core/trainable_model.h"

namespace mnemo {

struct EpochMetrics {
  int epoch = 0;  // 1-based
  double train_loss = 0;      // mean over the epoch's batches, as they trained
  double train_accuracy = 0;  // likewise (0 for regression)
  double test_loss = 0;       // 0 without a test set
  double test_accuracy = 0;
  double train_seconds = 0;   // the training pass alone (shuffle, gather, steps)
  double samples_per_second = 0;
  int skipped_steps = 0;  // steps skipped for a non-finite loss or gradient
  // The learning rate of the epoch's last step (trainer.optimizer.schedule).
  double learning_rate = 0;
  // The model's own figures: "train_<part>", the mean of each StepResult
  // part over the epoch's batches; "test_<figure>" and "val_<figure>", each
  // figure of the evaluation on the test and validation sets ("val_loss",
  // "val_accuracy" too); and those of TrainableModel::AddEpochFigures.
  Figures figures;
};

// Where a run stands between two steps. With the model's parameters and state
// and the optimizer's state it is all that the rest of the run depends on (an
// epoch's shuffle derives from trainer.seed and the epoch, dropout's masks
// from the seed and `step`, data augmentation's changes from the seed, the
// epoch and the sample, the learning rate from `step` and the history's
// validation figures), so a run resumed from it (core/snapshot.h) ends bit
// for bit as one that never stopped.
struct TrainingProgress {
  int epoch = 1;      // the epoch under way, 1-based; epochs + 1 once all are done
  int batch = 0;      // its batches done, skipped ones included
  uint64_t step = 0;  // batches done in the whole run, skipped ones included
  // The processes whose shares made each batch (data parallelism): a run on
  // another number adds its gradients in another order, so Trainer::Run
  // refuses to go on with another number unless trainer.distributed.resplit.
  int ranks = 1;
  // The epoch under way so far, for its metrics: sums over its batches that
  // were not skipped (of the loss and of each part of it), how many were
  // skipped, and the seconds it has trained.
  double loss_sum = 0;
  int64_t correct = 0;
  int64_t samples = 0;
  int skipped = 0;
  double train_seconds = 0;
  Figures part_sums;
  // The epochs done, evaluated. Their learning_rate is the schedule's, which
  // a snapshot does not store: Trainer::Run sets it again.
  std::vector<EpochMetrics> history;

  // Early stopping (trainer.early_stopping): the best epoch so far (0 =
  // none yet), its validation figure, and the model as it was then: its
  // parameters ("param/<name>"), buffers ("buffer/<name>"; both as
  // SavedModelTensors names them) and state ("extra/<name>"). `stopped_early`
  // once patience ran out; the run then ends with the best epoch's model.
  int best_epoch = 0;
  double best_value = 0;
  std::map<std::string, Tensor> best_model;
  bool stopped_early = false;
};

// Told of progress; the tools draw progress bars and tables from it.
class TrainingObserver {
 public:
  virtual ~TrainingObserver() = default;
  virtual void OnEpochStart(int /*epoch*/, int /*num_batches*/) {}
  // After the step of batch `batch` (1-based), taken or skipped.
  virtual void OnBatchEnd(int /*epoch*/, int /*batch*/, const StepResult& /*step*/) {}
  virtual void OnEpochEnd(const EpochMetrics& /*metrics*/) {}
  // A step left the weights alone (trainer.nonfinite: SKIP_STEP); `why`
  // names the step and the value.
  virtual void OnStepSkipped(const std::string& /*why*/) {}
};

// Consulted between steps, e.g. to write a snapshot (core/snapshot_writer.h)
// or to stop when asked to.
class TrainingHook {
 public:
  enum class Decision { kContinue, kStop };
  virtual ~TrainingHook() = default;
  // `progress` after a step (`epoch_end` false), or after an epoch was
  // evaluated and added to the history (`epoch_end` true; progress at the
  // next epoch's start), which takes the place of the call after the
  // epoch's last step. An error ends the run with it.
  virtual absl::StatusOr<Decision> AfterStep(const TrainingProgress& progress, bool epoch_end) = 0;
};

// The training loop: minibatches of a TrainableModel, every epoch reshuffled
// (unless trainer.shuffle is false) with a generator seeded from trainer.seed,
// so the same config and seed give bit-identical weights and metrics.
//
// Data augmentation (TrainTestData::augmentation, core/augmentation.h)
// changes the rows of each training batch after they are gathered, before
// the model sees them, as drawn from (trainer.seed, epoch, the sample's
// index in the training set); the validation and test sets are never
// changed.
//
// Every step takes the rate of the optimizer's schedule
// (trainer.optimizer.schedule, core/lr_schedule.h), a function of the step
// and the epochs' validation figures, so a resumed run takes the same rates;
// its gradients are clipped (clip_value, clip_global_norm,
// core/gradient_clipping.h) after the check below and before the step. Both
// are read from the optimizer's own config (Optimizer::config).
//
// Numerical guard: every step checks its loss and, after the backward pass,
// every trainable gradient (one vectorised pass: 9 us a step of the seed
// MLP, under 0.5% of it). A NaN or infinity fails the run before the
// optimizer sees it, naming the step, the layer, the parameter and the value;
// with trainer.nonfinite SKIP_STEP the step changes no weight instead (nor the
// model's state: CommitStep is not called) and is counted
// (EpochMetrics::skipped_steps).
class Trainer {
 public:
  // Checks batch_size, epochs and nonfinite. `model` and `optimizer` must
  // outlive the trainer.
  //
  // With a `communicator` of more than one rank (it must outlive the trainer;
  // null: one process), every rank runs the same trainer on the same data and
  // the run is data-parallel (config.proto's Distributed): each rank computes
  // its share of every global batch (ShareOfRows); the gradients, weighted by
  // the shares, and the step's loss and figures are summed in one buffer
  // (Communicator::AllReduceSum, a fixed order), so every rank takes the same
  // step and ends with the same bits. Rank 0's parameters and buffers are
  // broadcast when a run starts. Layers' buffers (BatchNorm's running
  // statistics, from each rank's share) are averaged, weighted by the
  // shares, after every step. Evaluation runs whole on every rank; a hook's
  // stop on any rank stops all of them at the same step. A rank whose share
  // of a short last batch is empty computes its gradient on the batch's first
  // row and contributes nothing of it.
  static absl::StatusOr<Trainer> Create(const config::Trainer& config, TrainableModel* model,
                                        Optimizer* optimizer, Communicator* communicator = nullptr);
  // A network trained as a classifier (NetworkModel).
  static absl::StatusOr<Trainer> Create(const config::Trainer& config, Network* network,
                                        Optimizer* optimizer, Communicator* communicator = nullptr);

  // Trains config.epochs epochs, evaluating on `test` after each.
  absl::StatusOr<std::vector<EpochMetrics>> Fit(const Dataset& train, const Dataset& test,
                                                TrainingObserver* observer = nullptr);

  // Fit from `progress` on (default-constructed: from the start), keeping it
  // up to date, with `hook` (may be null) consulted between steps. A fresh
  // run first fits the model to the training set
  // (TrainableModel::FitToTrainingData). After each epoch the model is
  // evaluated on data.validation and data.test, each when not empty. With
  // trainer.early_stopping (which needs a validation set) the run ends when
  // the watched figure has not improved for `patience` epochs, and either way
  // ends with the best epoch's parameters and state in the model. Returns OK
  // when the run is over (progress->epoch is then epochs + 1, or
  // progress->stopped_early) or when the hook stopped it (progress says
  // where). Refuses a progress that does not fit this config and data set.
  // The training batches are augmented as data.augmentation says.
  absl::Status Run(const TrainTestData& data, TrainingProgress* progress,
                   TrainingObserver* observer = nullptr, TrainingHook* hook = nullptr);
  // Whether `data` fits the model and this config, as Run checks it first:
  // for a tool to ask before it writes anything.
  absl::Status CheckData(const TrainTestData& data) const;
  // The learning rate of every step of the epochs in `history`, a run's on a
  // training set of `train_samples` samples (steps skipped for a non-finite
  // value included), as the schedule gave them; for steps.csv.
  absl::StatusOr<std::vector<double>> StepRates(int train_samples,
                                                const std::vector<EpochMetrics>& history) const;
  // Run without a validation set, nor augmentation.
  absl::Status Run(const Dataset& train, const Dataset& test, TrainingProgress* progress,
                   TrainingObserver* observer = nullptr, TrainingHook* hook = nullptr);

  // One epoch over `train`, not evaluated, nor augmented; `epoch` is 1-based
  // and seeds its shuffle. Its steps take the schedule's rates with no
  // epoch's figures before them (plateau: the base rate).
  absl::StatusOr<EpochMetrics> TrainEpoch(const Dataset& train, int epoch,
                                          TrainingObserver* observer = nullptr);

  uint64_t steps() const { return step_; }
  TrainableModel& model() { return *model_; }

 private:
  Trainer(const config::Trainer& config, TrainableModel* model, Optimizer* optimizer,
          Communicator* communicator)
      : config_(config), model_(model), optimizer_(optimizer), communicator_(communicator) {}

  int ranks() const { return communicator_ != nullptr ? communicator_->size() : 1; }
  // Data parallelism: the step of this rank's `rows` of a global batch of
  // `count` summed over the ranks into `result` and the gradients.
  absl::Status ReduceStep(int rows, int count, StepResult* result);
  // The buffers of every rank averaged, weighted by `rows` of `count`.
  absl::Status ReduceBuffers(int rows, int count);
  // Rank 0's parameters and buffers to every rank.
  absl::Status BroadcastModel();
  // Whether any rank's hook said stop.
  absl::StatusOr<TrainingHook::Decision> AgreeOn(TrainingHook::Decision decision);

  // The batches of progress->epoch from progress->batch on, each changed by
  // `augmenter` when not null, at the rates of `schedule`. `*stopped` says
  // whether the hook stopped the run.
  absl::Status TrainBatches(const Dataset& train, const ImageAugmenter* augmenter,
                            const LearningRateSchedule& schedule, TrainingProgress* progress,
                            TrainingObserver* observer, TrainingHook* hook, bool* stopped);
  // The optimizer's schedule over a run on `train_samples` samples.
  absl::StatusOr<LearningRateSchedule> Schedule(int train_samples) const;

  absl::Status CheckSets(const Dataset& train, const Dataset& validation,
                         const Dataset& test) const;
  // Run over the three sets, held by reference (the public Runs copy none),
  // the training batches changed as `augmentation` says when it is set.
  absl::Status RunSets(const Dataset& train, const Dataset& validation, const Dataset& test,
                       const std::optional<config::Augmentation>& augmentation,
                       TrainingProgress* progress, TrainingObserver* observer, TrainingHook* hook);
  // Evaluates the model on `data` into metrics->figures as "<prefix><figure>"
  // (and the test set's loss and accuracy into their fields).
  absl::Status EvaluateInto(const Dataset& data, const char* prefix, EpochMetrics* metrics);
  // Early stopping's bookkeeping after an epoch with `metrics`.
  absl::Status TrackBest(const EpochMetrics& metrics, TrainingProgress* progress);
  // Puts the best epoch's model back.
  absl::Status RestoreBest(const TrainingProgress& progress);

  config::Trainer config_;
  std::unique_ptr<NetworkModel> network_model_;  // when created from a Network
  TrainableModel* model_;
  Optimizer* optimizer_;
  Communicator* communicator_;  // null: one process
  std::vector<float> fused_;    // ReduceStep's and ReduceBuffers' buffer
  uint64_t step_ = 0;
  std::vector<int32_t> order_;
  std::vector<int32_t> batch_labels_;
  Tensor batch_;
  Tensor batch_targets_;
  std::vector<float> augment_scratch_;  // one image (ImageAugmenter::AugmentBatch)
};

// The order in which Trainer visits `n` training samples in `epoch`
// (1-based): a permutation drawn from config.seed, or 0 to n - 1 when
// config.shuffle is false.
void EpochOrder(const config::Trainer& config, int epoch, int n, std::vector<int32_t>* order);

// Copies the rows `indices` of `data` into `batch` (resized only when its
// shape changes) and their labels into `labels` (classification) or their
// targets into `targets` (regression).
void GatherBatch(const Dataset& data, const int32_t* indices, int count, Tensor* batch,
                 std::vector<int32_t>* labels, Tensor* targets);

// The early-stopping figure trainer.early_stopping watches, as it is named
// in EpochMetrics::figures ("val_loss"), and whether a larger value is
// better.
std::string EarlyStoppingFigure(const config::EarlyStopping& config);
// What is wrong with trainer.early_stopping, naming the field; OK when nothing.
// Its patience's range is the schema's (CheckRanges, core/field_range.h).
absl::Status CheckEarlyStopping(const config::EarlyStopping& config);

// Batches of at most `batch_size` that `samples` make (the last may be short).
int NumBatches(int samples, int batch_size);

}  // namespace mnemo

#endif  // MNEMO_CORE_TRAINER_H_
