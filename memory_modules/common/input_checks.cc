#include "memory_modules/common/input_checks.h"

#include "absl/strings/str_cat.h"
#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/status_macros.h"

namespace mnemo::memory {

absl::Status CheckFeatures(const char* operation, const Tensor& features, int feature_dim) {
  if (features.rows() > 0 && features.cols() != feature_dim) {
    return absl::InvalidArgumentError(absl::StrCat(operation, ": features have ", features.cols(),
                                                   " columns, the memory ", feature_dim));
  }
  if (!features.allFinite()) {
    return absl::InvalidArgumentError(
        absl::StrCat(operation, ": features hold a NaN or an infinity"));
  }
  return absl::OkStatus();
}

absl::Status CheckLabels(const char* operation, absl::Span<const int> labels, int64_t rows,
                         int num_classes) {
  if (static_cast<int64_t>(labels.size()) != rows) {
    return absl::InvalidArgumentError(
        absl::StrCat(operation, ": ", labels.size(), " labels for ", rows, " feature rows"));
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= num_classes) {
      return absl::InvalidArgumentError(absl::StrCat(operation, ": label ", labels[i], " of row ",
                                                     i, " is outside [0, ", num_classes, ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckLossInputs(int64_t rows, int64_t cols, size_t labels, int64_t key_rows,
                             int64_t key_cols, size_t key_labels, double temperature) {
  if (static_cast<int64_t>(labels) != rows) {
    return absl::InvalidArgumentError(
        absl::StrCat("memory loss: ", labels, " labels for ", rows, " feature rows"));
  }
  if (static_cast<int64_t>(key_labels) != key_rows) {
    return absl::InvalidArgumentError(
        absl::StrCat("memory loss: ", key_labels, " key labels for ", key_rows, " keys"));
  }
  if (key_rows > 0 && key_cols != cols) {
    return absl::InvalidArgumentError(
        absl::StrCat("memory loss: keys have ", key_cols, " columns, features ", cols));
  }
  if (!(temperature > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("memory loss: temperature must be > 0, not ", temperature));
  }
  return absl::OkStatus();
}

absl::Status CheckBatch(const char* operation, const Tensor& features, absl::Span<const int> labels,
                        int feature_dim, int num_classes) {
  MNEMO_RETURN_IF_ERROR(CheckFeatures(operation, features, feature_dim));
  return CheckLabels(operation, labels, features.rows(), num_classes);
}

absl::Status CheckWriteBatch(const Tensor& features, absl::Span<const int> labels, int feature_dim,
                             int num_classes, int capacity) {
  MNEMO_RETURN_IF_ERROR(CheckBatch("Write", features, labels, feature_dim, num_classes));
  if (features.rows() > capacity) {
    return absl::InvalidArgumentError(absl::StrCat("Write: ", features.rows(),
                                                   " examples for a memory of capacity ", capacity,
                                                   " (they could not all be kept)"));
  }
  return absl::OkStatus();
}

absl::Status CheckNoZeroRows(const char* operation, absl::Span<const float> norms) {
  for (size_t row = 0; row < norms.size(); ++row) {
    if (norms[row] == 0.0f) {
      return absl::InvalidArgumentError(absl::StrCat(
          operation, ": row ", row, " is a zero vector (no direction to match); nothing written"));
    }
  }
  return absl::OkStatus();
}

}  // namespace mnemo::memory
