#include "plugins/onednn/softmax_cross_entropy.h"

#include <cmath>
#include <oneapi/dnnl/dnnl.hpp>

#include "absl/strings/str_cat.h"
#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/status_macros.h"
#include "plugins/onednn/runtime.h"
#include "plugins/onednn/status.h"

namespace mnemo::onednn {

using dnnl::memory;

namespace {

// Rows whose label's logit is more than this below the row's largest take
// their loss from the log-softmax: their probability, at most e^-gap, may
// fall below float's normal range (e^-87) once divided by up to e^27 classes'
// worth of sum. Others take it from the probability.
constexpr float kMaxGapForProbability = 60.0f;

}  // namespace

struct SoftmaxCrossEntropyOp::Entry {
  int threads = 1;
  dnnl::softmax_v2_forward log_softmax;
  dnnl::softmax_v2_forward softmax;
  size_t log_softmax_scratchpad_bytes = 0;
  size_t softmax_scratchpad_bytes = 0;
  // Handle-less, bound at every call.
  memory logits, log_probabilities, probabilities, log_softmax_scratchpad, softmax_scratchpad;
};

SoftmaxCrossEntropyOp::SoftmaxCrossEntropyOp(int max_threads)
    : max_threads_(max_threads < 1 ? 1 : max_threads) {}
SoftmaxCrossEntropyOp::~SoftmaxCrossEntropyOp() = default;

absl::StatusOr<std::unique_ptr<SoftmaxCrossEntropyOp::Entry>> SoftmaxCrossEntropyOp::Make(
    int rows, int cols) const {
  MNEMO_ASSIGN_OR_RETURN(const dnnl::engine* engine, Engine());
  auto entry = std::make_unique<Entry>();
  absl::Status status =
      Guarded(absl::StrCat("creating oneDNN softmax primitives ", rows, "x", cols), [&] {
        const memory::desc desc({rows, cols}, memory::data_type::f32, memory::format_tag::ab);
        dnnl::primitive_attr attr;
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        entry->threads = ThreadsForElements(static_cast<int64_t>(rows) * cols, max_threads_);
        UseThreads(entry->threads);
        const dnnl::softmax_v2_forward::primitive_desc log_pd(
            dnnl::softmax_v2_forward::desc(dnnl::prop_kind::forward_inference,
                                           dnnl::algorithm::softmax_log, desc, desc, /*axis=*/1),
            attr, *engine);
        const dnnl::softmax_v2_forward::primitive_desc pd(
            dnnl::softmax_v2_forward::desc(dnnl::prop_kind::forward_inference,
                                           dnnl::algorithm::softmax_accurate, desc, desc, 1),
            attr, *engine);
        entry->log_softmax = dnnl::softmax_v2_forward(log_pd);
        entry->softmax = dnnl::softmax_v2_forward(pd);
        GetCounters().primitives_created.fetch_add(2, std::memory_order_relaxed);
        entry->log_softmax_scratchpad_bytes = log_pd.scratchpad_desc().get_size();
        entry->softmax_scratchpad_bytes = pd.scratchpad_desc().get_size();
        for (memory* m : {&entry->logits, &entry->log_probabilities, &entry->probabilities}) {
          *m = memory(desc, *engine, DNNL_MEMORY_NONE);
        }
        if (entry->log_softmax_scratchpad_bytes > 0) {
          entry->log_softmax_scratchpad =
              memory(log_pd.scratchpad_desc(), *engine, DNNL_MEMORY_NONE);
        }
        if (entry->softmax_scratchpad_bytes > 0) {
          entry->softmax_scratchpad = memory(pd.scratchpad_desc(), *engine, DNNL_MEMORY_NONE);
        }
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return entry;
}

namespace {

// Runs a softmax primitive from `in` to `out` (which may be the same buffer).
absl::Status RunSoftmax(const dnnl::primitive& primitive, const memory& in_memory, const float* in,
                        const memory& out_memory, float* out, const memory& scratchpad,
                        size_t scratchpad_bytes) {
  MNEMO_RETURN_IF_ERROR(Bind(in_memory, in));
  MNEMO_RETURN_IF_ERROR(Bind(out_memory, out));
  const dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, in_memory.get()},
                                   {DNNL_ARG_DST, out_memory.get()}};
  return ExecuteWithScratchpad(primitive, args, scratchpad, scratchpad_bytes);
}

}  // namespace

absl::StatusOr<float> SoftmaxCrossEntropyOp::Compute(const Tensor& logits,
                                                     absl::Span<const int32_t> labels,
                                                     Tensor* grad_logits, int* correct) {
  const int rows = static_cast<int>(logits.rows());
  const int cols = static_cast<int>(logits.cols());
  if (static_cast<int>(labels.size()) != rows) {
    return absl::InvalidArgumentError(absl::StrCat(
        "softmax cross-entropy: ", rows, " rows of logits but ", labels.size(), " labels"));
  }
  for (int r = 0; r < rows; ++r) {
    if (labels[r] < 0 || labels[r] >= cols) {
      return absl::InvalidArgumentError(absl::StrCat("softmax cross-entropy: label ", labels[r],
                                                     " of row ", r, " is not in [0, ", cols, ")"));
    }
  }
  if (correct != nullptr) *correct = 0;
  if (rows == 0 || cols == 0) {
    if (grad_logits != nullptr) grad_logits->resize(rows, cols);
    return 0.0f;
  }

  // Read before the gradient may replace the logits: the arg-max (ties to
  // the lowest index, as in core) and each row's gap between its largest
  // logit and the label's.
  gaps_.resize(rows);
  bool any_wide_gap = false;
  for (int r = 0; r < rows; ++r) {
    Eigen::Index arg_max = 0;
    const float max = logits.row(r).maxCoeff(&arg_max);
    if (correct != nullptr && arg_max == labels[r]) ++*correct;
    gaps_[r] = max - logits(r, labels[r]);
    any_wide_gap |= gaps_[r] > kMaxGapForProbability;
  }

  const size_t size = static_cast<size_t>(rows) * cols;
  double total = 0.0;
  absl::Status status = Guarded("oneDNN softmax cross-entropy", [&]() -> absl::Status {
    absl::StatusOr<Entry*> found = cache_.Get({rows, cols}, [&] { return Make(rows, cols); });
    if (!found.ok()) return found.status();
    Entry& e = **found;
    UseThreads(e.threads);
    // A label's probability below about e^-60 may underflow; those rows
    // take their loss from a log-softmax, run first in case the
    // probabilities are about to replace the logits.
    if (any_wide_gap) {
      if (log_probabilities_.size() < size) log_probabilities_.resize(size);
      MNEMO_RETURN_IF_ERROR(RunSoftmax(e.log_softmax, e.logits, logits.data(), e.log_probabilities,
                                       log_probabilities_.data(), e.log_softmax_scratchpad,
                                       e.log_softmax_scratchpad_bytes));
    }
    float* probabilities;
    if (grad_logits != nullptr) {
      if (grad_logits != &logits) grad_logits->resize(rows, cols);
      probabilities = grad_logits->data();
    } else {
      if (probabilities_.size() < size) probabilities_.resize(size);
      probabilities = probabilities_.data();
    }
    if (absl::Status s =
            RunSoftmax(e.softmax, e.logits, logits.data(), e.probabilities, probabilities,
                       e.softmax_scratchpad, e.softmax_scratchpad_bytes);
        !s.ok()) {
      return s;
    }
    // -log p(label) from the softmax itself rather than from the
    // log-softmax: oneDNN's log is accurate to about 1e-6 absolute, which is
    // all of a confident row's loss (a single class would even lose -1e-6),
    // while a probability's relative error is a few ulps. Summed in double,
    // as core does.
    for (int r = 0; r < rows; ++r) {
      const size_t at = static_cast<size_t>(r) * cols + labels[r];
      total -= gaps_[r] > kMaxGapForProbability ? static_cast<double>(log_probabilities_[at])
                                                : std::log(static_cast<double>(probabilities[at]));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;

  if (grad_logits != nullptr) {
    const float inv_batch = 1.0f / static_cast<float>(rows);
    *grad_logits *= inv_batch;
    for (int r = 0; r < rows; ++r) (*grad_logits)(r, labels[r]) -= inv_batch;
  }
  return static_cast<float>(total / rows);
}

}  // namespace mnemo::onednn
