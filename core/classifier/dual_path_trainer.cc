#include "core/classifier/dual_path_trainer.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "core/trainer.h"

namespace mnemo {

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
  const auto start = std::chrono::steady_clock::now();
  const int n = train.size();
  EpochOrder(config_, epoch, n, &order_);
  const int batch_size = config_.batch_size();
  const int num_batches = (n + batch_size - 1) / batch_size;
  if (observer) observer->OnEpochStart(epoch, num_batches);

  double loss_sum = 0, classification_sum = 0, memory_sum = 0;
  int64_t correct = 0;
  for (int b = 0; b < num_batches; ++b) {
    const int begin = b * batch_size;
    const int count = std::min(batch_size, n - begin);
    GatherBatch(train, order_.data() + begin, count, &batch_, &batch_labels_);
    const ForwardContext context{/*training=*/true, config_.seed(), step_};
    absl::StatusOr<StepLosses> losses =
        classifier_->TrainStep(batch_, batch_labels_, context, *optimizer_);
    if (!losses.ok()) return losses.status();
    ++step_;
    loss_sum += losses->total;
    classification_sum += losses->classification;
    memory_sum += losses->memory;
    correct += losses->network_correct;
    if (observer) observer->OnBatchEnd(epoch, b + 1, *losses);
  }

  DualPathEpochMetrics metrics;
  metrics.epoch = epoch;
  metrics.train_loss = loss_sum / num_batches;
  metrics.train_classification_loss = classification_sum / num_batches;
  metrics.train_memory_loss = memory_sum / num_batches;
  metrics.train_accuracy = static_cast<double>(correct) / n;
  metrics.memory_size = classifier_->memory().size();
  metrics.memory_capacity = classifier_->memory().capacity();
  metrics.train_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics.samples_per_second = n / metrics.train_seconds;
  return metrics;
}

absl::StatusOr<std::vector<DualPathEpochMetrics>> DualPathTrainer::Fit(const Dataset& train,
                                                                       const Dataset& test,
                                                                       DualPathObserver* observer) {
  if (absl::Status s = CheckDualPathData(*classifier_, test, "test"); !s.ok()) return s;
  std::vector<DualPathEpochMetrics> history;
  for (int epoch = 1; epoch <= config_.epochs(); ++epoch) {
    absl::StatusOr<DualPathEpochMetrics> metrics = TrainEpoch(train, epoch, observer);
    if (!metrics.ok()) return metrics.status();
    absl::StatusOr<DualPathEvaluation> evaluation =
        EvaluateDualPath(*classifier_, test, config_.batch_size());
    if (!evaluation.ok()) return evaluation.status();
    metrics->test = *evaluation;
    if (observer) observer->OnEpochEnd(*metrics);
    history.push_back(*metrics);
  }
  return history;
}

}  // namespace mnemo
