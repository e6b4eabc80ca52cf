#ifndef MNEMO_MEMORY_MODULES_COMMON_KEY_SEARCH_H_
#define MNEMO_MEMORY_MODULES_COMMON_KEY_SEARCH_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/backend.h"
#include "core/memory_settings.h"
#include "core/tensor.h"
#include "memory_modules/common/approximate_index.h"
#include "memory_modules/common/similarity.h"
#include "memory_modules/common/top_k.h"

namespace mnemo::memory {

// How a memory's Retrieve finds the top-k of each query among its keys, by
// memory_module.index:
//
//  - "exact": every cosine (one GEMM on the backend) and SelectTopK.
//  - "ivf_flat" / "hnsw": an ApproximateIndex over the keys, rebuilt lazily:
//    a change of the keys (Invalidate) marks it stale, and the next Find
//    builds it anew from all the keys. Not kept in step item by item, because
//    the memory changes in batches during training (every step's Store) and
//    is read between them only at evaluation: one build per evaluation, where
//    updating in place would pay every step (FAISS's HNSW cannot remove an
//    item at all, and IVF lists trained on the first keys would drift from
//    the keys the memory holds later). The cost of a build is the price of a
//    change: a memory that changes between every two reads should stay exact.
//  - While the keys number fewer than the index's MinItems (ivf_flat:
//    39 x nlist), Find searches exactly: k-means on fewer points would give
//    lists that split the keys badly. approximate() says which path ran.
//  - A query row the index answers with fewer than k items (top_k.h's -1)
//    is searched again exactly, so that every row holds k real neighbours.
//
// Not thread-safe (the lazy build); the keys are the caller's and must be the
// same between two Invalidates.
class KeySearch {
 public:
  static absl::StatusOr<std::unique_ptr<KeySearch>> Create(const IndexSettings& settings, int dim);

  // The keys changed: the next Find rebuilds the index.
  void Invalidate() { stale_ = true; }

  // The min(k, keys) best keys of every query row by cosine, best first.
  // unit_queries: B x dim, unit rows (or zero); unit_keys: n x dim, unit rows.
  absl::Status Find(const Backend& backend, const ConstMatrixRef<float>& unit_queries,
                    const ConstMatrixRef<float>& unit_keys, int k, TopK* top);

  // Whether the last Find answered from the approximate index.
  bool approximate() const { return approximate_; }
  const IndexSettings& settings() const { return settings_; }

 private:
  KeySearch(const IndexSettings& settings, std::unique_ptr<ApproximateIndex> index);

  absl::Status Exact(const Backend& backend, const ConstMatrixRef<float>& unit_queries,
                     const ConstMatrixRef<float>& unit_keys, int k, TopK* top);

  const IndexSettings settings_;
  const std::unique_ptr<ApproximateIndex> index_;  // null for "exact"
  bool stale_ = true;
  bool approximate_ = false;
  Tensor cosines_;  // scratch of the exact search
};

}  // namespace mnemo::memory

#endif  // MNEMO_MEMORY_MODULES_COMMON_KEY_SEARCH_H_
