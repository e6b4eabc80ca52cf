#ifndef MNEMO_MEMORY_MODULES_CLASSIFIER_DUAL_PATH_EVALUATION_H_
#define MNEMO_MEMORY_MODULES_CLASSIFIER_DUAL_PATH_EVALUATION_H_

#include <limits>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/dataset.h"
#include "core/trainable_model.h"
#include "core/trainer.h"
#include "memory_modules/classifier/dual_path_classifier.h"

namespace mnemo {

// How a dual-path classifier does on a data set, each path apart.
struct DualPathEvaluation {
  static constexpr double kNone = std::numeric_limits<double>::quiet_NaN();

  int samples = 0;
  // As training measures it: classification + weight x memory loss.
  double loss = 0;
  // The head's mean cross-entropy, over the samples of the head's classes
  // (a class only the memory holds has no logit).
  double classification_loss = 0;
  double memory_loss = 0;          // the memory's loss, unweighted; 0 when its weight is 0
  double accuracy = 0;             // the dual path's answers
  double network_accuracy = 0;     // the head alone, on every sample
  double memory_accuracy = 0;      // the memory alone (its nearest class), on every sample
  int memory_answered = 0;         // samples the memory path answered
  double memory_usage = 0;         // memory_answered / samples
  // Of the samples the memory answered, those where its class differs from
  // the head's: right where the head was wrong (corrected), or the reverse
  // (broken). accuracy - network_accuracy = (corrected - broken) / samples.
  int memory_corrected = 0;
  int memory_broke = 0;
  double memory_path_accuracy = kNone;   // on the samples the memory answered
  double network_path_accuracy = kNone;  // on the samples the head answered

  // By class id (every class the memory may hold): the samples of the class,
  // and of them those each path answered right. Not among an epoch's
  // figures (EpochMetrics keeps scalars); EvaluateDualPath fills them.
  struct ClassCounts {
    std::vector<int> samples;
    std::vector<int> correct;  // the dual path's answers
    std::vector<int> network_correct;
    std::vector<int> memory_correct;
  } by_class;
};

// The recall of a path over a set of classes: the samples of those classes
// it answered right over their samples (pooled; kNone when they have none).
// `correct` is one of by_class's columns. With a balanced test set, as
// Fashion-MNIST's, it is also the mean of the classes' recalls.
double Recall(const DualPathEvaluation::ClassCounts& counts, const std::vector<int>& correct,
              absl::Span<const int> classes);
// The same over every class not in `classes`.
double RecallOfOthers(const DualPathEvaluation::ClassCounts& counts,
                      const std::vector<int>& correct, absl::Span<const int> classes);

// Evaluates in inference mode, in batches of `batch_size`; the memory is
// read, never changed.
absl::StatusOr<DualPathEvaluation> EvaluateDualPath(DualPathClassifier& classifier,
                                                    const Dataset& data, int batch_size);

// The evaluation as core's training loop keeps it: loss, accuracy and
// samples, and every other figure by its field's name ("network_accuracy").
Evaluation ToEvaluation(const DualPathEvaluation& evaluation);

// The other way, from the figures an epoch's metrics keep of its test set
// (EpochMetrics::figures, "test_<field>"). A figure missing stays as
// DualPathEvaluation has it.
DualPathEvaluation DualPathTestEvaluation(const EpochMetrics& metrics);

// What the dual path's metrics of an epoch are, from core's EpochMetrics of
// a DualPathClassifier's run (its figures, named in dual_path_classifier.h).
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

DualPathEpochMetrics DualPathMetricsOf(const EpochMetrics& metrics);
std::vector<DualPathEpochMetrics> DualPathMetricsOf(const std::vector<EpochMetrics>& history);

}  // namespace mnemo

#endif  // MNEMO_MEMORY_MODULES_CLASSIFIER_DUAL_PATH_EVALUATION_H_
