#ifndef MNEMO_CACHING_MEMO_MEMO_STRATEGY_H_
#define MNEMO_CACHING_MEMO_MEMO_STRATEGY_H_

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "caching/memo/lru_memo.h"
#include "core/cache_strategy.h"
#include "core/layer.h"
#include "core/tensor.h"

namespace mnemo::caching::memo {

struct MemoStrategyOptions {
  std::shared_ptr<LruMemo> memo;         // required; may be shared (named_memos.h)
  std::unique_ptr<CacheStrategy> inner;  // for the uncovered layers; null = keep_all
  std::string inner_type = "keep_all";   // prefixes the inner's counters
  std::set<std::string> pure_layer_types;  // plugin types it may cover (prefix.h)
};

// The "memo" cache strategy: the network's frozen prefix (prefix.h: its
// leading frozen, row-wise pure layers [0, p)) is computed once per distinct
// input row and looked up afterwards; an inner strategy runs layers [p, L).
//
// Per row, not per batch: a shuffled epoch brings the same samples in other
// batches, and each sample's row of activation p is found again. Forward
// looks every input row up, runs the prefix once on the rows it missed
// (batched), stores them, and hands activation p to the inner strategy. The
// network's backward pass stops at layer p, the lowest trainable one, so it
// never asks for activations below p (the memo refuses to, since it keeps
// none). Evaluation passes use the memo too: evaluating the same test set
// again runs no prefix layer.
//
// Invalidation: the prefix's Signature (its parameter values) is recomputed
// whenever a prefix layer's parameter_version changes, and the entries of the
// old signature are dropped; the prefix itself is recomputed on each Forward
// from the layers' trainable flags, so freezing or unfreezing a layer moves it.
// With p == 0 (nothing frozen) the strategy passes everything to the inner one
// and counts "passthrough_passes".
//
// Exactness: a stored row is bit-for-bit what the prefix computed for that
// row. For that to equal what recomputation in another batch gives, a row's
// result must not depend on the rest of its batch. Eigen's GEMM computes the
// last (rows mod 4) rows of a product, and a one-row product, by other kernels
// that round differently; the rows the memo computes therefore go through in
// a batch padded to a multiple of 8 rows, where every row takes the full-panel
// kernel, as it does in any batch whose size is a multiple of 4.
class MemoStrategy : public CacheStrategy {
 public:
  explicit MemoStrategy(MemoStrategyOptions options);

  absl::Status Attach(const std::vector<Layer*>& layers) override;
  absl::StatusOr<const Tensor*> Forward(const Tensor& input,
                                        const ForwardContext& context) override;
  absl::StatusOr<const Tensor*> Activation(int i) override;
  void EndPass() override;

  // bytes_held: this strategy's own tensors plus the inner's figure (which
  // includes activation p, the inner's input, during a pass). Counters: the
  // memo's ("hits", "misses", "evictions", "dropped", "refused", "entries",
  // "bytes", "capacity_bytes"; for the whole memo, which other networks may
  // share), this network's ("memoized_layers", "rows_reused",
  // "rows_computed", "passthrough_passes"), then the inner's, prefixed
  // "<inner type>.".
  CacheStats stats() const override;

  // Layers [0, memoized_layers()) are covered, as of the last Forward or Attach.
  int memoized_layers() const { return prefix_; }
  const LruMemo& memo() const { return *memo_; }

 private:
  // Brings the covered prefix, the inner's layers and the signature up to date
  // with the layers' trainable flags and parameter versions.
  absl::Status Prepare();
  // Activation p of `input` into prefix_output_, from the memo where it can.
  void ComputePrefixOutput(const Tensor& input, const ForwardContext& context);
  // Runs the prefix on `rows` (whose count is a multiple of kRowQuantum).
  const Tensor* RunPrefix(const Tensor& rows, const ForwardContext& context);
  size_t OwnBytes() const;
  void UpdatePeak();

  const std::shared_ptr<LruMemo> memo_;
  const std::unique_ptr<CacheStrategy> inner_;
  const std::string inner_type_;
  const std::set<std::string> pure_layer_types_;

  int prefix_ = 0;             // layers covered
  int attached_prefix_ = -1;   // the inner has layers [attached_prefix_, L); -1 = none
  std::vector<uint64_t> versions_;  // parameter_version of each covered layer
  Signature signature_;
  bool has_signature_ = false;

  bool in_pass_ = false;     // between Forward and EndPass
  bool inner_in_pass_ = false;
  Tensor prefix_output_;     // activation p of the pass
  Tensor miss_rows_;         // input rows that missed, padded
  Tensor scratch_[2];        // the prefix's activations on them, ping-pong
  std::vector<uint64_t> hashes_;
  std::vector<int> misses_;

  uint64_t rows_reused_ = 0;
  uint64_t rows_computed_ = 0;
  uint64_t passthrough_passes_ = 0;
  size_t peak_bytes_held_ = 0;
};

}  // namespace mnemo::caching::memo

#endif  // MNEMO_CACHING_MEMO_MEMO_STRATEGY_H_
