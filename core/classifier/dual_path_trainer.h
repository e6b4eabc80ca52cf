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

  // One epoch (1-based; seeds its shuffle); `test` is not touched.
  absl::StatusOr<DualPathEpochMetrics> TrainEpoch(const Dataset& train, int epoch,
                                                  DualPathObserver* observer = nullptr);

  uint64_t steps() const { return step_; }

 private:
  DualPathTrainer(const config::Trainer& config, DualPathClassifier* classifier,
                  Optimizer* optimizer)
      : config_(config), classifier_(classifier), optimizer_(optimizer) {}

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
