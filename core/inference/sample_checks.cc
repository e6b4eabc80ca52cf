#include "core/inference/sample_checks.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/tensor.h"

namespace mnemo {

absl::Status CheckSamples(const float* data, int64_t rows, int64_t cols, int input_size) {
  if (cols != input_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("the model takes ", input_size, " features per sample, got ", cols));
  }
  const int64_t n = rows * cols;
  // One vectorised pass in the common case; the search for the culprit only
  // when there is one.
  if (Eigen::Map<const Eigen::ArrayXf>(data, n).allFinite()) return absl::OkStatus();
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(data[i])) {
      return absl::InvalidArgumentError(absl::StrCat("sample ", i / cols, ", feature ", i % cols,
                                                     " is ", data[i],
                                                     " (features must be finite)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace mnemo
