#include "memory_modules/common/key_search.h"

#include <algorithm>
#include <utility>

#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/status_macros.h"

namespace mnemo::memory {

absl::StatusOr<std::unique_ptr<KeySearch>> KeySearch::Create(const IndexSettings& settings,
                                                             int dim) {
  std::unique_ptr<ApproximateIndex> index;
  if (settings.type != "exact") {
    MNEMO_ASSIGN_OR_RETURN(index, ApproximateIndex::Create(settings, dim));
  }
  return std::unique_ptr<KeySearch>(new KeySearch(settings, std::move(index)));
}

KeySearch::KeySearch(const IndexSettings& settings, std::unique_ptr<ApproximateIndex> index)
    : settings_(settings), index_(std::move(index)) {}

absl::Status KeySearch::Exact(const Backend& backend, const ConstMatrixRef<float>& unit_queries,
                              const ConstMatrixRef<float>& unit_keys, int k, TopK* top) {
  MNEMO_RETURN_IF_ERROR(CosineSimilarities(backend, unit_queries, unit_keys, &cosines_));
  SelectTopK(cosines_, k, top);
  return absl::OkStatus();
}

absl::Status KeySearch::Find(const Backend& backend, const ConstMatrixRef<float>& unit_queries,
                             const ConstMatrixRef<float>& unit_keys, int k, TopK* top) {
  approximate_ = index_ != nullptr && unit_keys.rows() >= index_->MinItems();
  if (!approximate_) return Exact(backend, unit_queries, unit_keys, k, top);
  if (stale_ || index_->size() != unit_keys.rows()) {
    MNEMO_RETURN_IF_ERROR(index_->Build(unit_keys));
    stale_ = false;
  }
  MNEMO_RETURN_IF_ERROR(index_->Search(unit_queries, k, top));
  // Rows with a hole (-1: the index found fewer than k) are searched exactly.
  TopK row_top;
  for (int r = 0; r < top->rows; ++r) {
    int* index = top->index.data() + static_cast<size_t>(r) * top->k;
    if (std::find(index, index + top->k, -1) == index + top->k) continue;
    MNEMO_RETURN_IF_ERROR(Exact(backend, unit_queries.middleRows(r, 1), unit_keys, k, &row_top));
    std::copy(row_top.index.begin(), row_top.index.end(), index);
    std::copy(row_top.score.begin(), row_top.score.end(),
              top->score.begin() + static_cast<size_t>(r) * top->k);
  }
  return absl::OkStatus();
}

}  // namespace mnemo::memory
