#ifndef MNEMO_MEMORY_MODULES_COMMON_INPUT_CHECKS_H_
#define MNEMO_MEMORY_MODULES_COMMON_INPUT_CHECKS_H_

// The argument checks memory modules and losses share, so that a bad batch is
// refused with the same words whichever module gets it, and before anything
// is changed.

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "core/tensor.h"

namespace mnemo::memory {

// `features` is rows x feature_dim (any width when it has no row) and finite:
// a NaN stored as a key would poison every later retrieval. `operation`
// ("Store", ...) starts the message.
absl::Status CheckFeatures(const char* operation, const Tensor& features, int feature_dim);

// One label per row, each in [0, num_classes).
absl::Status CheckLabels(const char* operation, absl::Span<const int> labels, int64_t rows,
                         int num_classes);

// Both of the above: a labelled batch, as Store and Loss take.
absl::Status CheckBatch(const char* operation, const Tensor& features, absl::Span<const int> labels,
                        int feature_dim, int num_classes);

// Write's: a labelled batch (CheckBatch) of at most `capacity` rows.
absl::Status CheckWriteBatch(const Tensor& features, absl::Span<const int> labels, int feature_dim,
                             int num_classes, int capacity);

// Write's too, on the rows' norms as NormalizeRows gives them (0 for a row
// too small to have a direction): none is 0, since a user's example is kept
// or refused, never skipped as Store skips it.
absl::Status CheckNoZeroRows(const char* operation, absl::Span<const float> norms);

// The losses' own: `labels` per feature row, `key_labels` per key row, keys
// as wide as the features (unless there are none), temperature > 0.
absl::Status CheckLossInputs(int64_t rows, int64_t cols, size_t labels, int64_t key_rows,
                             int64_t key_cols, size_t key_labels, double temperature);

}  // namespace mnemo::memory

#endif  // MNEMO_MEMORY_MODULES_COMMON_INPUT_CHECKS_H_
