#ifndef MNEMO_CORE_CLASSIFIER_DUAL_PATH_TRAINER_H_
#define MNEMO_CORE_CLASSIFIER_DUAL_PATH_TRAINER_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "core/classifier/dual_path_classifier.h"
#include "core/classifier/dual_path_evaluation.h"
#include "core/config.pb.h"
#include "core/data/dataset.h"
#include "core/optimizer.h"
#include "core/trainer.h"

namespace mnemo {

struct DualPathEpochMetrics {
  int epoch = 0;  // 1-based
  // Means over the epoch's batches, as they trained (before each update).
  double train_loss = 0;  // classification + weight x memory
  double train_classification_loss = 0;
  double train_memory_loss = 0;  // unweighted
  // The head's predictions on the training batches: during training the
  // memory is still filling with the very batches it would answer, so the
  // network path is the one whose accuracy means something there.
  double train_accuracy = 0;
  DualPathEvaluation test;  // after the epoch
  int memory_size = 0;      // items stored after the epoch
  int memory_capacity = 0;
  double train_seconds = 0;  // the training pass alone
  double samples_per_second = 0;
};

// Told of progress; the tools draw progress bars from it.
class DualPathObserver {
 public:
  virtual ~DualPathObserver() = default;
  virtual void OnEpochStart(int /*epoch*/, int /*num_batches*/) {}
  virtual void OnBatchEnd(int /*epoch*/, int /*batch*/, const StepLosses& /*losses*/) {}
  virtual void OnEpochEnd(const DualPathEpochMetrics& /*metrics*/) {}
};

// Where a dual-path run stands between two steps: core's TrainingProgress,
// whose loss_sum is of the total loss and whose history is the EpochMetrics
// view of `history` (test_loss and test_accuracy those of the dual path), and
// what only a dual path has. With the classifier's trained networks, the
// optimizer's state and the memory's contents it is all that the rest of the
// run depends on (core/classifier/dual_path_snapshot.h).
struct DualPathProgress {
  TrainingProgress position;
  double classification_sum = 0;  // the epoch under way so far
  double memory_sum = 0;
  std::vector<DualPathEpochMetrics> history;  // the epochs done, evaluated
};

// Minibatch training of a DualPathClassifier, shuffled as core's Trainer
// shuffles (EpochOrder), so a config and seed give the same run every time.
class DualPathTrainer {
 public:
  // Checks batch_size and epochs.
  static absl::StatusOr<DualPathTrainer> Create(const config::Trainer& config,
                                                DualPathClassifier* classifier,
                                                Optimizer* optimizer);

  // config.epochs epochs, evaluating on `test` after each.
  absl::StatusOr<std::vector<DualPathEpochMetrics>> Fit(const Dataset& train, const Dataset& test,
                                                        DualPathObserver* observer = nullptr);

  // Fit from `progress` on (default-constructed: from the start), keeping it
  // up to date, with `hook` (may be null) consulted between steps as core's
  // Trainer::Run consults it. Returns OK when the last epoch is done
  // (progress->position.epoch is then epochs + 1) or when the hook stopped
  // the run. Refuses a progress that does not fit this config and data set.
  absl::Status Run(const Dataset& train, const Dataset& test, DualPathProgress* progress,
                   DualPathObserver* observer = nullptr, TrainingHook* hook = nullptr);

  // One epoch (1-based; seeds its shuffle); `test` is not touched.
  absl::StatusOr<DualPathEpochMetrics> TrainEpoch(const Dataset& train, int epoch,
                                                  DualPathObserver* observer = nullptr);

  uint64_t steps() const { return step_; }

 private:
  DualPathTrainer(const config::Trainer& config, DualPathClassifier* classifier,
                  Optimizer* optimizer)
      : config_(config), classifier_(classifier), optimizer_(optimizer) {}

  // The batches of progress->position.epoch from its batch on. `*stopped`
  // says whether the hook stopped the run.
  absl::Status TrainBatches(const Dataset& train, DualPathProgress* progress,
                            DualPathObserver* observer, TrainingHook* hook, bool* stopped);

  config::Trainer config_;
  DualPathClassifier* classifier_;
  Optimizer* optimizer_;
  uint64_t step_ = 0;
  std::vector<int32_t> order_;
  std::vector<int32_t> batch_labels_;
  Tensor batch_;
};

}  // namespace mnemo

#endif  // MNEMO_CORE_CLASSIFIER_DUAL_PATH_TRAINER_H_
