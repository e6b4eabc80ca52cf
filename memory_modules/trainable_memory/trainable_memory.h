#ifndef MNEMO_MEMORY_MODULES_TRAINABLE_MEMORY_TRAINABLE_MEMORY_H_
#define MNEMO_MEMORY_MODULES_TRAINABLE_MEMORY_TRAINABLE_MEMORY_H_

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
#include "memory_modules/common/similarity.h"
#include "memory_modules/common/top_k.h"

namespace mnemo::memory_modules {

// A fully differentiable memory of M slots: learnable keys [M x d] and value
// logits [M x num_classes], plus each slot's stored label (fixed: what the
// slot was inserted for).
//
//  - Retrieve: cosine of the queries with the keys (one GEMM, on the backend
//    of the network it serves: core/backend.h), top_k, and a vote
//    (memory::Vote) in which slot m votes for argmax values_m with weight
//    clip(cosine) x certainty_m, certainty_m = max softmax(values_m).
//    With top_k 1: class = argmax values[best], confidence = cosine x
//    max softmax(values[best]).
//  - Loss = contrastive + read-out, both at the config's temperature T:
//      contrastive (memory_modules/common/contrastive_loss.h): positives are the slots
//        whose STORED label is the query's; mean over queries with a positive;
//        gradient to the features and the keys;
//      read-out (memory_modules/common/readout_loss.h): cross-entropy of the memory's
//        prediction p_b = sum_m softmax_m(cos_bm / T) softmax(values_m)
//        against y_b, mean over all queries; gradient to the features, keys
//        and values.
//    Gradients are ADDED to the parameters' gradients (the owner zeroes them).
//  - Store: unused slots first (key = the unit feature, values = one-hot x
//    value_scale, label). Once full, a novel example (best cosine with what
//    the memory holds now, this batch's earlier placements included, below
//    similarity_threshold) replaces the least certain slot; others are not
//    stored. A written slot's gradient rows are zeroed (they were the old
//    item's). Zero vectors are never stored.
//  - Write (examples a user shows): as Store, without the novelty test: a
//    free slot while there is one, else the least certain slot among those
//    this call has not written. Zero vectors are refused.
//  - State: "keys" [M x d], "values" [M x C], "labels" [1 x M] (-1 for unused
//    slots), "fill" [1 x 1] = size(); unused rows are zero.
//
// Keys and the optimizer. parameters() are {"keys", "values"}. Keys are
// renormalised to unit length in place at every Store, Retrieve and Loss:
// the losses depend on the keys' directions only, so this changes no loss,
// keeps the gradient through the normalisation at its unit scale (it grows as
// 1/|k| otherwise), and undoes the radial shrink of weight decay (wholly
// under plain SGD, mostly under momentum or Adam). On values weight decay
// does act: it pulls the logits towards 0, lowering the certainty, and so the
// confidence, of slots no batch reinforces (the owner may leave the memory
// out of weight decay). Unused slots are never read (every computation covers the filled
// slots only, and Store writes a slot whole), so whatever an optimizer does to
// them is harmless; they hold zeros with zero gradient, which SGD (momentum,
// weight decay) and Adam leave at zero anyway, and ExportState writes them as
// zeros. An optimizer's momentum for a slot does survive the slot's
// replacement: the module cannot reach the optimizer's state.
//
// Not thread-safe: it keeps scratch buffers between calls, as layers do.
class TrainableMemory : public MemoryModule {
 public:
  struct Settings {
    int feature_dim = 0;
    int num_classes = 0;
    int capacity = 0;
    float similarity_threshold = memory::MemorySettings().similarity_threshold;
    float temperature = memory::MemorySettings().temperature;
    int top_k = memory::MemorySettings().top_k;
    memory::VoteRule vote = memory::MemorySettings().vote;
    float value_scale = 5.0f;
  };

  // From a config (defaults resolved by memory::ResolveMemorySettings) and
  // the value scale the plugin read from the options.
  static absl::StatusOr<std::unique_ptr<MemoryModule>> Create(const MemoryModuleArgs& args,
                                                              float value_scale);

  // `backend` runs the similarity GEMMs; null means the reference backend.
  explicit TrainableMemory(const Settings& settings,
                           std::shared_ptr<const Backend> backend = nullptr);

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

  std::vector<Parameter> parameters() override;

  std::map<std::string, Tensor> ExportState() const override;
  absl::Status ImportState(const std::map<std::string, Tensor>& state) override;

  const Settings& settings() const { return settings_; }
  // Label each filled slot was stored with, slot order.
  absl::Span<const int> stored_labels() const { return absl::MakeConstSpan(labels_.data(), size_); }
  // How sure each filled slot is of its class: max softmax(values_m).
  std::vector<float> Certainties() const;

 private:
  // Keys of the filled slots back to unit length (zero rows stay zero);
  // key_norms_ then holds 1 (or 0) per filled slot.
  void RenormalizeKeys();
  // Writes batch row `row` of unit_ with `label` into `slot`.
  void WriteSlot(int slot, int row, int label);

  const Settings settings_;
  const std::shared_ptr<const Backend> backend_;  // never null
  Tensor keys_;           // capacity x feature_dim
  Tensor values_;         // capacity x num_classes
  Tensor keys_gradient_;  // same shapes: what the losses add
  Tensor values_gradient_;
  std::vector<int> labels_;  // capacity; -1 for unused slots
  int size_ = 0;

  // Scratch, kept so that a batch does not allocate megabytes each call.
  Tensor unit_;
  memory::ColumnVector<float> norms_;
  memory::ColumnVector<float> key_norms_;
  Tensor cosines_;
  Tensor grad_cosines_;
  Tensor grad_keys_;
  Tensor grad_values_;
  memory::TopK top_;
  std::vector<int> slot_class_;  // Retrieve's per slot
  std::vector<float> certainty_;
};

}  // namespace mnemo::memory_modules

#endif  // MNEMO_MEMORY_MODULES_TRAINABLE_MEMORY_TRAINABLE_MEMORY_H_
