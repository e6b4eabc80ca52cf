#ifndef MNEMO_MEMORY_MODULES_CACHED_MEMORY_CACHED_MEMORY_H_
#define MNEMO_MEMORY_MODULES_CACHED_MEMORY_CACHED_MEMORY_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/backend.h"
#include "core/memory_module.h"
#include "core/memory_settings.h"
#include "core/registry.h"
#include "core/tensor.h"
#include "memory_modules/common/int8_scan.h"
#include "memory_modules/common/key_search.h"
#include "memory_modules/common/similarity.h"
#include "memory_modules/common/top_k.h"

namespace mnemo::memory_modules {

// A non-parametric memory: up to `capacity` stored feature vectors (kept
// unit-length) with their class labels.
//
//  - Retrieve: cosine of every query with every stored key (one GEMM, on the
//    backend of the network it serves: core/backend.h; with scan_precision
//    int8 an int8 GEMM whose best candidates are scored again in fp32:
//    memory_modules/common/int8_scan.h), the top_k per query,
//    a similarity-weighted vote (memory::Vote); with top_k 1 the best
//    match's label, confidence = its cosine clipped to [0, 1]. With
//    memory_module.index "ivf_flat" or "hnsw" the top_k come from FAISS's
//    approximate index over the keys instead, rebuilt at the first Retrieve
//    after a change (memory_modules/common/key_search.h).
//  - Store: while there are unused slots every example takes the next one.
//    Once full, an example is novel when its best cosine with what the memory
//    holds now, examples placed earlier in the same batch included, is below
//    similarity_threshold; a novel example replaces the item least similar
//    to it of a donor class: its own class while that holds at least an
//    equal share of the memory (capacity / the classes held, its own
//    counted), else the class holding the most items (the lowest such class
//    id). So the memory keeps every example of a rare class it is shown (up
//    to the share), where replacing within the class would freeze each
//    class at the count it had when the memory filled. Other examples are
//    not stored. Zero vectors are never stored: their cosine with anything
//    is 0.
//  - Write (examples a user shows): no novelty test; a free slot while
//    there is one, else the item least similar to the example, whatever its
//    class, among the slots this call has not written: a shown example
//    displaces the memory's least relevant item. (Store's donor can be the
//    example's own class, whose items may all be examples just shown.) Zero
//    vectors are refused.
//  - Loss: the memory contrastive loss (memory_modules/common/contrastive_loss.h)
//    against the stored keys, which are fixed: gradient to the features only.
//  - State: "keys" [n x d] (unit rows), "labels" [1 x n] (floats holding
//    integers, exact below 2^24).
//
// Not thread-safe: it keeps scratch buffers between calls, as layers do.
class CachedMemory : public MemoryModule {
 public:
  struct Settings {
    int feature_dim = 0;
    int num_classes = 0;
    int capacity = 0;
    float similarity_threshold = memory::MemorySettings().similarity_threshold;
    float temperature = memory::MemorySettings().temperature;
    int top_k = memory::MemorySettings().top_k;
    memory::VoteRule vote = memory::MemorySettings().vote;
    // kInt8: Retrieve scans int8 copies of the keys (memory::Int8Scan);
    // needs a backend with has_int8_matmul().
    memory::ScanPrecision scan_precision = memory::MemorySettings().scan_precision;
    memory::IndexSettings index;
  };

  // From a config (defaults resolved by memory::ResolveMemorySettings).
  static absl::StatusOr<std::unique_ptr<MemoryModule>> Create(const MemoryModuleArgs& args);

  // `backend` runs the similarity GEMMs; null means the reference backend.
  // With scan_precision int8 it must have an int8 GEMM (Create refuses one
  // without, naming memory_module.scan_precision; a module constructed
  // directly fails at Retrieve).
  // Index settings KeySearch refuses make every Retrieve fail with its error
  // (Create refuses them up front).
  explicit CachedMemory(const Settings& settings, std::shared_ptr<const Backend> backend = nullptr);

  absl::Status Store(const Tensor& features, absl::Span<const int> labels) override;
  absl::Status Write(const Tensor& features, absl::Span<const int> labels) override;
  absl::StatusOr<Retrieval> Retrieve(const Tensor& features) override;
  absl::StatusOr<float> Loss(const Tensor& features, absl::Span<const int> labels,
                             Tensor* grad_features) override;

  int feature_dim() const override { return settings_.feature_dim; }
  int num_classes() const override { return settings_.num_classes; }
  int capacity() const override { return settings_.capacity; }
  int size() const override { return size_; }
  void Clear() override;

  std::map<std::string, Tensor> ExportState() const override;
  absl::Status ImportState(const std::map<std::string, Tensor>& state) override;

  const Settings& settings() const { return settings_; }
  // Label of every filled slot, slot order.
  absl::Span<const int> stored_labels() const { return absl::MakeConstSpan(labels_.data(), size_); }
  // The filled slots' keys (unit rows).
  auto stored_keys() const { return keys_.topRows(size_); }

 private:
  // The slot a novel example of class `label` replaces, from its cosines
  // with every slot.
  int Victim(absl::Span<const float> cosines, int label) const;
  // The keys changed: the int8 copies and the index are stale.
  void KeysChanged();
  // The class that gives up an item for a novel example of class `label`.
  int Donor(int label) const;
  // Slot `slot` (filled or the next free one) now holds class `label`.
  void Place(int slot, int label);

  const Settings settings_;
  const std::shared_ptr<const Backend> backend_;  // never null
  // Whoever changes keys_ calls int8_scan_.KeysChanged().
  Tensor keys_;              // capacity x feature_dim; rows [0, size_) unit
  std::vector<int> labels_;  // capacity; [0, size_) meaningful
  std::vector<int> class_counts_;  // items of each class
  int classes_held_ = 0;           // classes with an item
  int size_ = 0;
  // Retrieve's search; stale after every change of the keys.
  absl::StatusOr<std::unique_ptr<memory::KeySearch>> search_;

  // Scratch, kept so that a batch does not allocate megabytes each call.
  Tensor unit_;
  memory::ColumnVector<float> norms_;
  Tensor cosines_;
  Tensor grad_cosines_;
  memory::TopK top_;
  memory::Int8Scan int8_scan_;  // its int8 keys, with scan_precision int8
};

}  // namespace mnemo::memory_modules

#endif  // MNEMO_MEMORY_MODULES_CACHED_MEMORY_CACHED_MEMORY_H_
