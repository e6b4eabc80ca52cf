#include "core/classifier/dual_path_trainer.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"

namespace mnemo {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int NumBatches(int samples, int batch_size) { return (samples + batch_size - 1) / batch_size; }

// The training metrics of the epoch `progress` has trained (not yet evaluated).
DualPathEpochMetrics TrainingMetricsOf(const DualPathProgress& progress,
                                       DualPathClassifier& classifier) {
  const TrainingProgress& at = progress.position;
  DualPathEpochMetrics metrics;
  metrics.epoch = at.epoch;
  metrics.train_loss = at.loss_sum / at.batch;
  metrics.train_classification_loss = progress.classification_sum / at.batch;
  metrics.train_memory_loss = progress.memory_sum / at.batch;
  metrics.train_accuracy = static_cast<double>(at.correct) / at.samples;
  metrics.memory_size = classifier.memory().size();
  metrics.memory_capacity = classifier.memory().capacity();
  metrics.train_seconds = at.train_seconds;
  metrics.samples_per_second = at.samples / at.train_seconds;
  return metrics;
}

// The view of a dual-path epoch that core's TrainingProgress keeps.
EpochMetrics CoreMetricsOf(const DualPathEpochMetrics& m) {
  EpochMetrics core;
  core.epoch = m.epoch;
  core.train_loss = m.train_loss;
  core.train_accuracy = m.train_accuracy;
  core.test_loss = m.test.loss;
  core.test_accuracy = m.test.accuracy;
  core.train_seconds = m.train_seconds;
  core.samples_per_second = m.samples_per_second;
  return core;
}

}  // namespace

absl::StatusOr<DualPathTrainer> DualPathTrainer::Create(const config::Trainer& config,
                                                        DualPathClassifier* classifier,
                                                        Optimizer* optimizer) {
  if (config.batch_size() <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("trainer.batch_size must be > 0 (got ", config.batch_size(), ")"));
  }
  if (config.epochs() <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("trainer.epochs must be > 0 (got ", config.epochs(), ")"));
  }
  if (classifier == nullptr || optimizer == nullptr) {
    return absl::InvalidArgumentError("a trainer needs a classifier and an optimizer");
  }
  return DualPathTrainer(config, classifier, optimizer);
}

absl::StatusOr<DualPathEpochMetrics> DualPathTrainer::TrainEpoch(const Dataset& train, int epoch,
                                                                 DualPathObserver* observer) {
  if (absl::Status s = CheckDualPathData(*classifier_, train, "training"); !s.ok()) return s;
  DualPathProgress progress;
  progress.position.epoch = epoch;
  progress.position.step = step_;
  bool stopped = false;
  if (absl::Status s = TrainBatches(train, &progress, observer, nullptr, &stopped); !s.ok()) {
    return s;
  }
  return TrainingMetricsOf(progress, *classifier_);
}

absl::Status DualPathTrainer::TrainBatches(const Dataset& train, DualPathProgress* progress,
                                           DualPathObserver* observer, TrainingHook* hook,
                                           bool* stopped) {
  *stopped = false;
  TrainingProgress& at = progress->position;
  const auto start = std::chrono::steady_clock::now();
  const double seconds_before = at.train_seconds;
  const int n = train.size();
  EpochOrder(config_, at.epoch, n, &order_);
  const int batch_size = config_.batch_size();
  const int num_batches = NumBatches(n, batch_size);
  if (observer) observer->OnEpochStart(at.epoch, num_batches);

  while (at.batch < num_batches) {
    const int begin = at.batch * batch_size;
    const int count = std::min(batch_size, n - begin);
    GatherBatch(train, order_.data() + begin, count, &batch_, &batch_labels_);
    const ForwardContext context{/*training=*/true, config_.seed(), at.step};
    absl::StatusOr<StepLosses> losses =
        classifier_->TrainStep(batch_, batch_labels_, context, *optimizer_);
    if (!losses.ok()) return losses.status();
    at.loss_sum += losses->total;
    progress->classification_sum += losses->classification;
    progress->memory_sum += losses->memory;
    at.correct += losses->network_correct;
    at.samples += count;
    ++at.step;
    ++at.batch;
    step_ = at.step;
    if (observer) observer->OnBatchEnd(at.epoch, at.batch, *losses);
    // After an epoch's last step the next point is its end, once evaluated.
    if (hook != nullptr && at.batch < num_batches) {
      at.train_seconds = seconds_before + SecondsSince(start);
      absl::StatusOr<TrainingHook::Decision> decision = hook->AfterStep(at, false);
      if (!decision.ok()) return decision.status();
      if (*decision == TrainingHook::Decision::kStop) {
        *stopped = true;
        return absl::OkStatus();
      }
    }
  }
  at.train_seconds = seconds_before + SecondsSince(start);
  return absl::OkStatus();
}

absl::Status DualPathTrainer::Run(const Dataset& train, const Dataset& test,
                                  DualPathProgress* progress, DualPathObserver* observer,
                                  TrainingHook* hook) {
  if (absl::Status s = CheckDualPathData(*classifier_, train, "training"); !s.ok()) return s;
  if (absl::Status s = CheckDualPathData(*classifier_, test, "test"); !s.ok()) return s;
  TrainingProgress& at = progress->position;
  const int epochs = config_.epochs();
  const int num_batches = NumBatches(train.size(), config_.batch_size());
  if (at.epoch < 1 || at.epoch > epochs + 1 || at.batch < 0 || at.batch > num_batches ||
      (at.epoch > epochs && at.batch != 0) ||
      at.history.size() != static_cast<size_t>(at.epoch - 1) ||
      progress->history.size() != at.history.size()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot go on from epoch ", at.epoch, ", batch ",
                                                   at.batch, " with ", progress->history.size(),
                                                   " epochs done: this run has ", epochs,
                                                   " epochs of ", num_batches, " batches"));
  }
  step_ = at.step;
  while (at.epoch <= epochs) {
    bool stopped = false;
    if (absl::Status s = TrainBatches(train, progress, observer, hook, &stopped); !s.ok()) {
      return s;
    }
    if (stopped) return absl::OkStatus();
    DualPathEpochMetrics metrics = TrainingMetricsOf(*progress, *classifier_);
    absl::StatusOr<DualPathEvaluation> evaluation =
        EvaluateDualPath(*classifier_, test, config_.batch_size());
    if (!evaluation.ok()) return evaluation.status();
    metrics.test = *evaluation;
    if (observer) observer->OnEpochEnd(metrics);

    DualPathProgress next;
    next.position.epoch = at.epoch + 1;
    next.position.step = at.step;
    next.position.history = std::move(at.history);
    next.position.history.push_back(CoreMetricsOf(metrics));
    next.history = std::move(progress->history);
    next.history.push_back(metrics);
    *progress = std::move(next);
    if (hook != nullptr) {
      absl::StatusOr<TrainingHook::Decision> decision = hook->AfterStep(at, true);
      if (!decision.ok()) return decision.status();
      if (*decision == TrainingHook::Decision::kStop) return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<DualPathEpochMetrics>> DualPathTrainer::Fit(const Dataset& train,
                                                                       const Dataset& test,
                                                                       DualPathObserver* observer) {
  DualPathProgress progress;
  if (absl::Status s = Run(train, test, &progress, observer); !s.ok()) return s;
  return std::move(progress.history);
}

}  // namespace mnemo
