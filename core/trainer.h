#ifndef MNEMO_CORE_TRAINER_H_
#define MNEMO_CORE_TRAINER_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config.pb.h"
#include "core/data/dataset.h"
#include "core/network.h"
#include "core/optimizer.h"

namespace mnemo {

// Loss and accuracy of a network over a data set.
struct Evaluation {
  double loss = 0;
  double accuracy = 0;
  int samples = 0;
};

struct EpochMetrics {
  int epoch = 0;  // 1-based
  double train_loss = 0;      // mean over the epoch's batches, as they trained
  double train_accuracy = 0;  // likewise
  double test_loss = 0;
  double test_accuracy = 0;
  double train_seconds = 0;   // the training pass alone (shuffle, gather, steps)
  double samples_per_second = 0;
};

// Told of progress; the tools draw progress bars and tables from it.
class TrainingObserver {
 public:
  virtual ~TrainingObserver() = default;
  virtual void OnEpochStart(int /*epoch*/, int /*num_batches*/) {}
  virtual void OnBatchEnd(int /*epoch*/, int /*batch*/, float /*loss*/) {}
  virtual void OnEpochEnd(const EpochMetrics& /*metrics*/) {}
};

// Minibatch training: every epoch reshuffles the training set (unless
// trainer.shuffle is false) with a generator seeded from trainer.seed, so the
// same config and seed give bit-identical weights and metrics.
class Trainer {
 public:
  // Checks batch_size and epochs; the network's output must have a column per
  // class of the data.
  static absl::StatusOr<Trainer> Create(const config::Trainer& config,
                                        Network* network, Optimizer* optimizer);

  // Trains config.epochs epochs, evaluating on `test` after each.
  absl::StatusOr<std::vector<EpochMetrics>> Fit(const Dataset& train,
                                                const Dataset& test,
                                                TrainingObserver* observer = nullptr);

  // One epoch over `train`; `epoch` is 1-based and seeds its shuffle.
  absl::StatusOr<EpochMetrics> TrainEpoch(const Dataset& train, int epoch,
                                          TrainingObserver* observer = nullptr);

  uint64_t steps() const { return step_; }

 private:
  Trainer(const config::Trainer& config, Network* network, Optimizer* optimizer)
      : config_(config), network_(network), optimizer_(optimizer) {}

  config::Trainer config_;
  Network* network_;
  Optimizer* optimizer_;
  uint64_t step_ = 0;
  std::vector<int32_t> order_;
  std::vector<int32_t> batch_labels_;
  Tensor batch_;
  Tensor grad_logits_;
};

// The order in which Trainer visits `n` training samples in `epoch`
// (1-based): a permutation drawn from config.seed, or 0 to n - 1 when
// config.shuffle is false. For other training loops that should shuffle as
// Trainer does.
void EpochOrder(const config::Trainer& config, int epoch, int n, std::vector<int32_t>* order);

// Copies the rows `indices` of `data` into `batch` (resized only when its
// shape changes) and their labels into `labels`.
void GatherBatch(const Dataset& data, const int32_t* indices, int count, Tensor* batch,
                 std::vector<int32_t>* labels);

// Loss and accuracy of `network` on `data`, in batches of `batch_size`.
absl::StatusOr<Evaluation> Evaluate(Network& network, const Dataset& data,
                                    int batch_size);

}  // namespace mnemo

#endif  // MNEMO_CORE_TRAINER_H_
