#include "core/avx512_warning_workaround.h"  // first: see there

#include "core/loss.h"

#include <cassert>
#include <cmath>

namespace mnemo {

// Labels are trusted: the data reader validates them against the number of
// classes when it loads a dataset, so an out-of-range label here is a bug
// upstream. It is caught by the assert in debug builds only; checking every
// label of every batch in optimised builds would guard against nothing the
// reader does not already refuse.
float SoftmaxCrossEntropy::Compute(const Tensor& logits,
                                   absl::Span<const int32_t> labels,
                                   Tensor* grad_logits, int* correct) {
  const Eigen::Index batch = logits.rows();
  const Eigen::Index classes = logits.cols();
  assert(static_cast<Eigen::Index>(labels.size()) == batch);
  if (grad_logits != nullptr) grad_logits->resize(batch, classes);
  if (correct != nullptr) *correct = 0;
  if (batch == 0 || classes == 0) return 0.0f;

  const float inv_batch = 1.0f / static_cast<float>(batch);
  // Summed in double: the mean of many per-row losses in float would drift
  // with the batch size.
  double total = 0.0;
  for (Eigen::Index r = 0; r < batch; ++r) {
    const int32_t label = labels[r];
    assert(label >= 0 && label < classes);
    const auto row = logits.row(r);
    // Read before the gradient row is written, so that grad_logits may be
    // &logits (the gradient then replaces the logits in place).
    const float label_logit = row(label);
    Eigen::Index arg_max = 0;
    const float max = row.maxCoeff(&arg_max);
    if (correct != nullptr && arg_max == label) ++*correct;

    // log(sum(exp(x))) = max + log(sum(exp(x - max))): every exponent <= 0,
    // and the largest term is exactly 1, so the sum neither overflows nor
    // underflows to 0.
    float sum_exp;
    if (grad_logits != nullptr) {
      auto grad = grad_logits->row(r);
      grad.array() = (row.array() - max).exp();
      sum_exp = grad.sum();
      grad *= inv_batch / sum_exp;
      grad(label) -= inv_batch;
    } else {
      sum_exp = (row.array() - max).exp().sum();
    }
    total += static_cast<double>(max) + std::log(static_cast<double>(sum_exp)) -
             static_cast<double>(label_logit);
  }
  return static_cast<float>(total / static_cast<double>(batch));
}

void ArgMaxRows(const Tensor& logits, int32_t* out) {
  for (Eigen::Index r = 0; r < logits.rows(); ++r) {
    Eigen::Index arg_max = 0;
    // Ties go to the lowest index, as in PyTorch's argmax.
    logits.row(r).maxCoeff(&arg_max);
    out[r] = static_cast<int32_t>(arg_max);
  }
}

void SoftmaxRows(const Tensor& logits, Tensor* probabilities) {
  probabilities->resize(logits.rows(), logits.cols());
  if (logits.cols() == 0) return;
  for (Eigen::Index r = 0; r < logits.rows(); ++r) {
    auto out = probabilities->row(r);
    // exp(x - max): every exponent <= 0 and the largest term exactly 1, as in
    // SoftmaxCrossEntropy, so the sum neither overflows nor underflows to 0.
    out.array() = (logits.row(r).array() - logits.row(r).maxCoeff()).exp();
    out /= out.sum();
  }
}

}  // namespace mnemo
