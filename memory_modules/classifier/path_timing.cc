#include "memory_modules/classifier/path_timing.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/loss.h"
#include "core/status_macros.h"
#include "core/stopwatch.h"
#include "memory_modules/classifier/dual_path_evaluation.h"

namespace mnemo {

absl::StatusOr<PathTimes> MeasurePathTimes(DualPathClassifier& classifier, const Dataset& data,
                                           int batch_size, int max_samples) {
  MNEMO_RETURN_IF_ERROR(CheckDataFits(data, classifier.input_size(),
                                      classifier.memory_num_classes(),
                                      config::Model::SOFTMAX_CROSS_ENTROPY, "timing"));
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
    SliceRows(data, begin, count, &batch);
    Stopwatch stage;
    MNEMO_ASSIGN_OR_RETURN(const Tensor* features, classifier.ExtractFeatures(batch));
    const absl::Duration feature = stage.Lap();
    MNEMO_ASSIGN_OR_RETURN(Retrieval retrieval, classifier.memory().Retrieve(*features));
    const absl::Duration retrieval_time = stage.Lap();
    MNEMO_ASSIGN_OR_RETURN(const Tensor* logits, classifier.head().Forward(*features, inference));
    argmax.resize(count);
    ArgMaxRows(*logits, argmax.data());
    classifier.head().strategy().EndPass();
    const absl::Duration head = stage.Lap();
    if (times != nullptr) {
      times->feature_ms += absl::ToDoubleMilliseconds(feature);
      times->retrieval_ms += absl::ToDoubleMilliseconds(retrieval_time);
      times->head_ms += absl::ToDoubleMilliseconds(head);
    }
    return absl::OkStatus();
  };

  MNEMO_RETURN_IF_ERROR(run(0, std::min(batch_size, n), nullptr));
  PathTimes times;
  times.batch_size = batch_size;
  times.samples = n;
  // An int64 cursor: begin + batch_size must not wrap for a set of ~2^31 rows.
  for (int64_t cursor = 0; cursor < n; cursor += batch_size) {
    const int begin = static_cast<int>(cursor);
    MNEMO_RETURN_IF_ERROR(run(begin, std::min(batch_size, n - begin), &times));
  }
  times.feature_ms /= n;
  times.retrieval_ms /= n;
  times.head_ms /= n;
  return times;
}

}  // namespace mnemo
