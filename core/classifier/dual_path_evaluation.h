#ifndef MNEMO_CORE_CLASSIFIER_DUAL_PATH_EVALUATION_H_
#define MNEMO_CORE_CLASSIFIER_DUAL_PATH_EVALUATION_H_

#include <limits>

#include "absl/status/statusor.h"
#include "core/classifier/dual_path_classifier.h"
#include "core/data/dataset.h"

namespace mnemo {

// How a dual-path classifier does on a data set, each path apart.
struct DualPathEvaluation {
  static constexpr double kNone = std::numeric_limits<double>::quiet_NaN();

  int samples = 0;
  // As training measures it: classification + weight x memory loss.
  double loss = 0;
  double classification_loss = 0;  // the head's mean cross-entropy
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
};

// Evaluates in inference mode, in batches of `batch_size`; the memory is
// read, never changed.
absl::StatusOr<DualPathEvaluation> EvaluateDualPath(DualPathClassifier& classifier,
                                                    const Dataset& data, int batch_size);

// Whether `data` fits the classifier: its feature width, no more classes than
// the head has, at least one sample. `what` names the set in the message.
absl::Status CheckDualPathData(const DualPathClassifier& classifier, const Dataset& data,
                               const char* what);

}  // namespace mnemo

#endif  // MNEMO_CORE_CLASSIFIER_DUAL_PATH_EVALUATION_H_
