#include "memory_modules/common/batch_similarities.h"

#include <algorithm>
#include <optional>

#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/status_macros.h"
#include "memory_modules/common/top_k.h"

namespace mnemo::memory {

absl::StatusOr<BatchSimilarities> BatchSimilarities::Compute(
    const Backend& backend, const ConstMatrixRef<float>& unit_batch,
    const ConstMatrixRef<float>& unit_keys) {
  BatchSimilarities similarities(static_cast<int>(unit_keys.rows()));
  if (absl::Status s =
          CosineSimilarities(backend, unit_batch, unit_keys, &similarities.with_memory_);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          CosineSimilarities(backend, unit_batch, unit_batch, &similarities.with_batch_);
      !s.ok()) {
    return s;
  }
  return similarities;
}

absl::Span<const float> BatchSimilarities::Row(int row) {
  const Eigen::Index before = with_memory_.cols();
  row_.resize(occupant_.size());
  std::copy_n(with_memory_.row(row).data(), before, row_.begin());
  for (int slot : placed_slots_) row_[slot] = with_batch_(row, occupant_[slot]);
  return row_;
}

void BatchSimilarities::Place(int row, int slot) {
  if (slot == filled()) {
    occupant_.push_back(row);
    placed_slots_.push_back(slot);
    return;
  }
  if (occupant_[slot] < 0) placed_slots_.push_back(slot);
  occupant_[slot] = row;
}

absl::Status StoreRows(const Backend& backend, const ConstMatrixRef<float>& unit_batch,
                       const ColumnVector<float>& norms, const ConstMatrixRef<float>& unit_keys,
                       int capacity, Admission admission, float similarity_threshold, int* size,
                       absl::FunctionRef<int(int row, absl::Span<const float> cosines)> victim,
                       absl::FunctionRef<void(int slot, int row)> write) {
  std::optional<BatchSimilarities> similarities;
  if (*size + unit_batch.rows() > capacity) {
    MNEMO_ASSIGN_OR_RETURN(BatchSimilarities computed,
                           BatchSimilarities::Compute(backend, unit_batch, unit_keys));
    similarities.emplace(std::move(computed));
  }
  for (int row = 0; row < unit_batch.rows(); ++row) {
    if (norms(row) == 0.0f) continue;
    int slot = *size;
    if (*size < capacity) {
      ++*size;
    } else {
      absl::Span<const float> cosines = similarities->Row(row);
      if (admission == Admission::kNovelOnly && MaxOf(cosines) >= similarity_threshold) {
        continue;  // not novel: something like it is stored
      }
      slot = victim(row, cosines);
    }
    write(slot, row);
    if (similarities) similarities->Place(row, slot);
  }
  return absl::OkStatus();
}

}  // namespace mnemo::memory
