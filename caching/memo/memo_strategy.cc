#include "caching/memo/memo_strategy.h"

#include <algorithm>
#include <cstddef>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "caching/memo/prefix.h"
#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/network.h"                    // MakeKeepAllStrategy
#include "core/status_macros.h"

namespace mnemo::caching::memo {
namespace {

// Rows the prefix runs on come in multiples of this (see the class comment).
constexpr int kRowQuantum = 8;

absl::Span<const float> Row(const Tensor& t, int r) {
  return absl::MakeConstSpan(t.data() + static_cast<ptrdiff_t>(r) * t.cols(),
                             static_cast<size_t>(t.cols()));
}

absl::Span<float> MutableRow(Tensor& t, int r) {
  return absl::MakeSpan(t.data() + static_cast<ptrdiff_t>(r) * t.cols(),
                        static_cast<size_t>(t.cols()));
}

}  // namespace

MemoStrategy::MemoStrategy(MemoStrategyOptions options)
    : memo_(std::move(options.memo)),
      inner_(options.inner != nullptr ? std::move(options.inner) : MakeKeepAllStrategy()),
      inner_type_(std::move(options.inner_type)),
      pure_layer_types_(std::move(options.pure_layer_types)) {}

absl::Status MemoStrategy::Attach(const std::vector<Layer*>& layers) {
  MNEMO_RETURN_IF_ERROR(CacheStrategy::Attach(layers));
  // The signature is kept: if the new layers compute the same function, the
  // memo's entries still serve; if not, Prepare drops them.
  attached_prefix_ = -1;
  versions_.clear();
  in_pass_ = inner_in_pass_ = false;
  return Prepare();
}

absl::Status MemoStrategy::Prepare() {
  const std::vector<Layer*>& all = layers();
  const int num = static_cast<int>(all.size());
  prefix_ = MemoizablePrefix(all, pure_layer_types_);

  if (prefix_ < num && attached_prefix_ != prefix_) {
    attached_prefix_ = -1;
    const std::vector<Layer*> rest(all.begin() + prefix_, all.end());
    if (absl::Status s = inner_->Attach(rest); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("its inner strategy (", inner_type_,
                                                 ", for layers ", prefix_, " to ", num - 1,
                                                 ") refused: ", s.message()));
    }
    attached_prefix_ = prefix_;
  }
  if (prefix_ == 0) return absl::OkStatus();

  // A new signature only when a covered layer's parameters may have changed.
  bool changed = static_cast<int>(versions_.size()) != prefix_;
  for (int i = 0; !changed && i < prefix_; ++i) {
    changed = versions_[i] != all[i]->parameter_version();
  }
  if (!changed) return absl::OkStatus();
  versions_.resize(prefix_);
  for (int i = 0; i < prefix_; ++i) versions_[i] = all[i]->parameter_version();
  const Signature signature = PrefixSignature(all, prefix_);
  if (has_signature_ && signature != signature_) {
    // What the old function computed can never be asked for again.
    memo_->DropSignature(signature_);
  }
  signature_ = signature;
  has_signature_ = true;
  return absl::OkStatus();
}

absl::StatusOr<const Tensor*> MemoStrategy::Forward(const Tensor& input,
                                                    const ForwardContext& context) {
  in_pass_ = false;
  MNEMO_RETURN_IF_ERROR(Prepare());
  in_pass_ = true;
  const int num = static_cast<int>(layers().size());
  absl::StatusOr<const Tensor*> output;
  if (prefix_ == 0) {
    ++passthrough_passes_;
    inner_in_pass_ = true;
    output = inner_->Forward(input, context);
  } else {
    ComputePrefixOutput(input, context);
    if (prefix_ == num) {
      output = &prefix_output_;
    } else {
      inner_in_pass_ = true;
      output = inner_->Forward(prefix_output_, context);
    }
  }
  UpdatePeak();
  return output;
}

void MemoStrategy::ComputePrefixOutput(const Tensor& input, const ForwardContext& context) {
  const int rows = static_cast<int>(input.rows());
  prefix_output_.resize(rows, layers()[prefix_ - 1]->output_size());
  hashes_.resize(rows);
  misses_.clear();
  for (int r = 0; r < rows; ++r) {
    const absl::Span<const float> row = Row(input, r);
    hashes_[r] = memo_->Hash(row);
    if (!memo_->Lookup(signature_, hashes_[r], row, MutableRow(prefix_output_, r))) {
      misses_.push_back(r);
    }
  }
  const int missed = static_cast<int>(misses_.size());
  rows_reused_ += rows - missed;
  rows_computed_ += missed;
  if (missed == 0) return;

  const int padded = (missed + kRowQuantum - 1) / kRowQuantum * kRowQuantum;
  const Tensor* computed;
  if (missed == rows && rows == padded) {
    computed = RunPrefix(input, context);  // the whole batch, in order: no gather
  } else {
    miss_rows_.resize(padded, input.cols());
    for (int j = 0; j < padded; ++j) {
      // Padding repeats the last miss; its results are not used.
      miss_rows_.row(j) = input.row(misses_[std::min(j, missed - 1)]);
    }
    computed = RunPrefix(miss_rows_, context);
  }
  for (int j = 0; j < missed; ++j) {
    const int r = misses_[j];
    prefix_output_.row(r) = computed->row(j);
    // A refused insert (an entry larger than the capacity) is counted by the memo.
    memo_->Insert(signature_, hashes_[r], Row(input, r), Row(*computed, j));
  }
}

const Tensor* MemoStrategy::RunPrefix(const Tensor& rows, const ForwardContext& context) {
  const Tensor* x = &rows;
  for (int i = 0; i < prefix_; ++i) {
    Tensor* y = &scratch_[i % 2];
    layers()[i]->Forward(*x, context, y);
    x = y;
  }
  return x;
}

absl::StatusOr<const Tensor*> MemoStrategy::Activation(int i) {
  if (!in_pass_) {
    return absl::FailedPreconditionError(
        "memo: Activation() called outside a pass (no Forward since the last EndPass)");
  }
  const int num = static_cast<int>(layers().size());
  if (i < 0 || i > num) {
    return absl::OutOfRangeError(absl::StrCat("memo: activation ", i,
                                              " does not exist (the network has ", num,
                                              " layers)"));
  }
  if (i < prefix_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "memo: activation ", i, " lies inside the memoized frozen layers 0 to ", prefix_ - 1,
        ", which keep no activations (the backward pass stops at the lowest trainable "
        "layer and never needs them)"));
  }
  if (prefix_ == num) return &prefix_output_;
  return inner_->Activation(i - prefix_);
}

void MemoStrategy::EndPass() {
  if (inner_in_pass_) inner_->EndPass();
  in_pass_ = inner_in_pass_ = false;
  UpdatePeak();
}

size_t MemoStrategy::OwnBytes() const {
  size_t bytes = TensorBytes(miss_rows_) + TensorBytes(scratch_[0]) + TensorBytes(scratch_[1]);
  // During a pass the inner counts activation p as its input.
  const bool inner_holds_output = inner_in_pass_ && prefix_ > 0;
  if (!inner_holds_output) bytes += TensorBytes(prefix_output_);
  return bytes;
}

void MemoStrategy::UpdatePeak() {
  const size_t inner_peak = attached_prefix_ >= 0 ? inner_->stats().peak_bytes_held : 0;
  peak_bytes_held_ = std::max(peak_bytes_held_, OwnBytes() + inner_peak);
}

CacheStats MemoStrategy::stats() const {
  const CacheStats inner = attached_prefix_ >= 0 ? inner_->stats() : CacheStats();
  const MemoStats memo = memo_->stats();
  CacheStats stats;
  stats.bytes_held = OwnBytes() + inner.bytes_held;
  stats.peak_bytes_held = std::max(peak_bytes_held_, stats.bytes_held);
  stats.recomputed_forwards = inner.recomputed_forwards;
  stats.counters = {
      {"hits", static_cast<double>(memo.hits)},
      {"misses", static_cast<double>(memo.misses)},
      {"evictions", static_cast<double>(memo.evictions)},
      {"dropped", static_cast<double>(memo.dropped)},
      {"refused", static_cast<double>(memo.refused)},
      {"entries", static_cast<double>(memo.entries)},
      {"bytes", static_cast<double>(memo.bytes)},
      {"capacity_bytes", static_cast<double>(memo.capacity_bytes)},
      {"memoized_layers", static_cast<double>(prefix_)},
      {"rows_reused", static_cast<double>(rows_reused_)},
      {"rows_computed", static_cast<double>(rows_computed_)},
      {"passthrough_passes", static_cast<double>(passthrough_passes_)},
  };
  for (const auto& [name, value] : inner.counters) {
    stats.counters.emplace_back(absl::StrCat(inner_type_, ".", name), value);
  }
  return stats;
}

}  // namespace mnemo::caching::memo
