#ifndef MNEMO_MEMORY_MODULES_COMMON_APPROXIMATE_INDEX_H_
#define MNEMO_MEMORY_MODULES_COMMON_APPROXIMATE_INDEX_H_

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/memory_settings.h"
#include "memory_modules/common/similarity.h"
#include "memory_modules/common/top_k.h"

namespace faiss {
struct Index;
}  // namespace faiss

namespace mnemo::memory {

// FAISS's approximate nearest-neighbour search over a memory's unit keys,
// inner-product metric (on unit vectors: the cosine), for memories of 10^5
// items and more (memory_module.index, core/config.proto):
//
//  - ivf_flat (faiss::IndexIVFFlat over an exact IndexFlatIP quantizer): the
//    keys are split into `nlist` k-means lists, trained on the keys
//    themselves (FAISS's k-means: 25 iterations over at most 256 x nlist
//    sampled keys); a query visits the `nprobe` lists whose centroids it is
//    nearest to and scores every key in them exactly. nprobe = nlist scores
//    every key: exact search.
//  - hnsw (faiss::IndexHNSWFlat): a navigable small-world graph of `hnsw_m`
//    neighbours per node, built with candidate lists of ef_construction and
//    searched with ef_search (at least k).
//
// The index is derived data: Build makes it from the keys, nothing of it is
// saved. Every FAISS exception is caught here (faiss_call.h). Search may run
// from several threads at once; Build may not run beside anything.
class ApproximateIndex {
 public:
  // Refuses type "exact" (nothing to build) and dim <= 0.
  static absl::StatusOr<std::unique_ptr<ApproximateIndex>> Create(const IndexSettings& settings,
                                                                  int dim);
  ~ApproximateIndex();

  // The fewest keys Build makes an index of: ivf_flat
  // IndexSettings::kIvfItemsPerList x nlist (k-means wants that many points
  // per centroid), hnsw 1.
  int64_t MinItems() const;

  // Replaces what the index held with `unit_keys` (n x dim, n >= MinItems;
  // row i is item i). Trains ivf_flat's lists anew each time.
  absl::Status Build(const ConstMatrixRef<float>& unit_keys);

  // The min(k, size()) items of largest inner product per query row (n x dim),
  // best first, in SelectTopK's layout (top_k.h). A row for which the index
  // finds fewer (an ivf_flat query whose nprobe lists hold fewer than k
  // items; an hnsw graph that does not reach k) holds -1 past what it found.
  // FAISS's ties are not ordered by index as SelectTopK's are. `breadth`,
  // when > 0, replaces the settings' search breadth for this call: nprobe
  // (ivf_flat, at most nlist) or ef_search (hnsw); a benchmark sweeps it over
  // one built index.
  absl::Status Search(const ConstMatrixRef<float>& unit_queries, int k, TopK* top,
                      int breadth = 0) const;

  int64_t size() const;  // items of the last Build; 0 before one
  const IndexSettings& settings() const { return settings_; }

 private:
  ApproximateIndex(const IndexSettings& settings, int dim);

  const IndexSettings settings_;
  const int dim_;
  std::unique_ptr<faiss::Index> index_;
};

}  // namespace mnemo::memory

#endif  // MNEMO_MEMORY_MODULES_COMMON_APPROXIMATE_INDEX_H_
