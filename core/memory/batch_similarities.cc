#include "core/memory/batch_similarities.h"

#include <algorithm>

#include "core/avx512_warning_workaround.h"  // first: see there

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

}  // namespace mnemo::memory
