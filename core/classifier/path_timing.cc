#include "core/classifier/path_timing.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/classifier/dual_path_evaluation.h"
#include "core/loss.h"

namespace mnemo {
namespace {

using Clock = std::chrono::steady_clock;

double Milliseconds(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

}  // namespace

absl::StatusOr<PathTimes> MeasurePathTimes(DualPathClassifier& classifier, const Dataset& data,
                                           int batch_size, int max_samples) {
  if (absl::Status s = CheckDualPathData(classifier, data, "timing"); !s.ok()) return s;
  if (batch_size <= 0 || max_samples < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot time batches of ", batch_size, " over ", max_samples, " samples"));
  }
  const int n = max_samples > 0 ? std::min(max_samples, data.size()) : data.size();
  const ForwardContext inference{/*training=*/false, 0, 0};
  Tensor batch;
  std::vector<int32_t> argmax;

  // One batch through the three stages; adds each stage's time when `times`.
  auto run = [&](int begin, int count, PathTimes* times) -> absl::Status {
    batch = data.features.middleRows(begin, count);
    const Clock::time_point t0 = Clock::now();
    absl::StatusOr<const Tensor*> features = classifier.ExtractFeatures(batch);
    if (!features.ok()) return features.status();
    const Clock::time_point t1 = Clock::now();
    absl::StatusOr<Retrieval> retrieval = classifier.memory().Retrieve(**features);
    if (!retrieval.ok()) return retrieval.status();
    const Clock::time_point t2 = Clock::now();
    absl::StatusOr<const Tensor*> logits = classifier.head().Forward(**features, inference);
    if (!logits.ok()) return logits.status();
    argmax.resize(count);
    ArgMaxRows(**logits, argmax.data());
    classifier.head().strategy().EndPass();
    const Clock::time_point t3 = Clock::now();
    if (times != nullptr) {
      times->feature_ms += Milliseconds(t0, t1);
      times->retrieval_ms += Milliseconds(t1, t2);
      times->head_ms += Milliseconds(t2, t3);
    }
    return absl::OkStatus();
  };

  if (absl::Status s = run(0, std::min(batch_size, n), nullptr); !s.ok()) return s;
  PathTimes times;
  times.batch_size = batch_size;
  times.samples = n;
  for (int begin = 0; begin < n; begin += batch_size) {
    if (absl::Status s = run(begin, std::min(batch_size, n - begin), &times); !s.ok()) return s;
  }
  times.feature_ms /= n;
  times.retrieval_ms /= n;
  times.head_ms /= n;
  return times;
}

}  // namespace mnemo
