#ifndef MNEMO_MEMORY_MODULES_CLASSIFIER_PATH_TIMING_H_
#define MNEMO_MEMORY_MODULES_CLASSIFIER_PATH_TIMING_H_

#include "absl/status/statusor.h"
#include "core/dataset.h"
#include "memory_modules/classifier/dual_path_classifier.h"

namespace mnemo {

// Per-sample inference times of the dual path's three stages, each measured
// on its own (the seed's evaluate_inference_speed), in milliseconds.
struct PathTimes {
  int batch_size = 0;
  int samples = 0;          // samples timed
  double feature_ms = 0;    // backbone forward: input -> features
  double retrieval_ms = 0;  // memory Retrieve: features -> class, confidence
  double head_ms = 0;       // head forward and arg-max: features -> class

  // As the seed defines the paths, both including the feature extraction.
  double memory_path_ms() const { return feature_ms + retrieval_ms; }
  double network_path_ms() const { return feature_ms + head_ms; }
  // memory path / network path: above 1 the memory path is the slower.
  double ratio() const { return memory_path_ms() / network_path_ms(); }
};

// Times the stages on the first `max_samples` samples of `data` (0 = all),
// in batches of `batch_size`, after one untimed batch (first-call
// allocations). Each stage's wall time is summed over the batches and divided
// by the samples; the same features feed the memory and the head.
absl::StatusOr<PathTimes> MeasurePathTimes(DualPathClassifier& classifier, const Dataset& data,
                                           int batch_size, int max_samples = 0);

}  // namespace mnemo

#endif  // MNEMO_MEMORY_MODULES_CLASSIFIER_PATH_TIMING_H_
