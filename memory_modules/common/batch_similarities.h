#ifndef MNEMO_MEMORY_MODULES_COMMON_BATCH_SIMILARITIES_H_
#define MNEMO_MEMORY_MODULES_COMMON_BATCH_SIMILARITIES_H_

#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/backend.h"
#include "memory_modules/common/similarity.h"

namespace mnemo::memory {

// The cosines a Store walks while it places a batch, row by row, into a slot
// memory whose contents change under it: each batch row against what every
// slot holds NOW, which is either what it held before the batch or a row of
// this batch placed earlier. Two GEMMs up front (batch x memory, batch x
// batch); placing a row then only records where it went, so the sequential
// replacement policy runs on precomputed numbers.
class BatchSimilarities {
 public:
  // unit_batch: B x d unit (or zero) rows; unit_keys: the n slots filled
  // before the batch, unit rows. Neither is referenced afterwards. The GEMMs
  // run on `backend`, whose errors are returned.
  static absl::StatusOr<BatchSimilarities> Compute(const Backend& backend,
                                                   const ConstMatrixRef<float>& unit_batch,
                                                   const ConstMatrixRef<float>& unit_keys);

  // Slots holding something now: n plus the unused slots filled since.
  int filled() const { return static_cast<int>(occupant_.size()); }

  // Batch row `row`'s cosine with the current content of every filled slot
  // (filled() values), valid until the next call.
  absl::Span<const float> Row(int row);

  // Records that batch row `row` now occupies `slot`: a filled slot
  // (replaced) or the first unused one, filled().
  void Place(int row, int slot);

 private:
  explicit BatchSimilarities(int filled) : occupant_(static_cast<size_t>(filled), -1) {}

  Tensor with_memory_;             // B x n
  Tensor with_batch_;              // B x B
  std::vector<int> occupant_;      // per filled slot: the batch row in it, or -1
  std::vector<int> placed_slots_;  // the slots with an occupant, each once
  std::vector<float> row_;
};

// Which rows a full memory takes in: Store's novel ones, or every one
// (Write: examples a user shows are kept without a novelty test).
enum class Admission { kNovelOnly, kEvery };

// How a memory takes in a batch (both modules store this way; they differ in
// the victim and in what a slot holds). Rows with a zero norm are skipped.
// While there is room a row takes the next unused slot, *size growing. Once
// the memory is full, under kNovelOnly a row whose best cosine with the slots
// reaches `similarity_threshold` is not novel and is skipped; a row taken in
// replaces the slot `victim(row, cosines)` picks. `write(slot, row)` stores
// the row. The similarities are computed on `backend` only when the batch
// does not fit.
absl::Status StoreRows(const Backend& backend, const ConstMatrixRef<float>& unit_batch,
                       const ColumnVector<float>& norms, const ConstMatrixRef<float>& unit_keys,
                       int capacity, Admission admission, float similarity_threshold, int* size,
                       absl::FunctionRef<int(int row, absl::Span<const float> cosines)> victim,
                       absl::FunctionRef<void(int slot, int row)> write);

}  // namespace mnemo::memory

#endif  // MNEMO_MEMORY_MODULES_COMMON_BATCH_SIMILARITIES_H_
