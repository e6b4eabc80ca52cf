#ifndef MNEMO_PLUGINS_ONEDNN_SOFTMAX_CROSS_ENTROPY_H_
#define MNEMO_PLUGINS_ONEDNN_SOFTMAX_CROSS_ENTROPY_H_

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/tensor.h"
#include "plugins/onednn/shape_cache.h"

namespace mnemo::onednn {

// Softmax cross-entropy (as core/loss.h defines it) on oneDNN softmax
// primitives made once per shape: a softmax gives the gradient
// (softmax - one_hot(label)) / batch and each row's loss -log p(label); a
// row whose label is so far below the top that its probability may
// underflow takes its loss from a log-softmax instead (stable for any
// logits). Not thread-safe: the backend serialises its calls.
class SoftmaxCrossEntropyOp {
 public:
  explicit SoftmaxCrossEntropyOp(int max_threads);
  ~SoftmaxCrossEntropyOp();

  // Mean loss; dLoss/dLogits into *grad_logits when not null (may be
  // &logits); rows whose arg-max is the label into *correct when not null.
  absl::StatusOr<float> Compute(const Tensor& logits, absl::Span<const int32_t> labels,
                                Tensor* grad_logits, int* correct);

 private:
  struct Entry;
  absl::StatusOr<std::unique_ptr<Entry>> Make(int rows, int cols) const;

  int max_threads_;
  ShapeCache<std::array<int, 2>, Entry> cache_;
  // Scratch, grown and never shrunk.
  std::vector<float> gaps_;  // per row: largest logit - the label's
  std::vector<float> log_probabilities_;
  std::vector<float> probabilities_;  // when the caller wants no gradient
};

}  // namespace mnemo::onednn

#endif  // MNEMO_PLUGINS_ONEDNN_SOFTMAX_CROSS_ENTROPY_H_
