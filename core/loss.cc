#include "core/avx512_warning_workaround.h"  // first: see there

#include "core/loss.h"

#include <cassert>
#include <cmath>

#include "core/backend.h"
#include "core/status_macros.h"

namespace mnemo {

config::Model::Loss ResolvedLoss(config::Model::Loss loss) {
  return loss == config::Model::LOSS_UNSPECIFIED ? config::Model::SOFTMAX_CROSS_ENTROPY : loss;
}

bool IsRegression(config::Model::Loss loss) {
  return loss == config::Model::MEAN_SQUARED_ERROR || loss == config::Model::HUBER;
}

int ClassesOf(config::Model::Loss loss, int outputs) {
  return ResolvedLoss(loss) == config::Model::SIGMOID_CROSS_ENTROPY ? 2 : outputs;
}

absl::StatusOr<float> ComputeLoss(const Backend& backend, const LossSpec& spec,
                                  const Tensor& outputs, absl::Span<const int32_t> labels,
                                  const Tensor* targets, Tensor* grad, int* correct) {
  switch (ResolvedLoss(spec.kind)) {
    case config::Model::SIGMOID_CROSS_ENTROPY:
      return SigmoidCrossEntropy::Compute(outputs, labels, grad, correct);
    case config::Model::MEAN_SQUARED_ERROR:
      if (correct != nullptr) *correct = 0;
      return MeanSquaredError::Compute(outputs, *targets, grad);
    case config::Model::HUBER:
      if (correct != nullptr) *correct = 0;
      return HuberLoss::Compute(outputs, *targets, spec.huber_delta, grad);
    default:
      break;
  }
  const float smoothing = spec.label_smoothing;
  if (smoothing == 0) return backend.SoftmaxCrossEntropy(outputs, labels, grad, correct);
  // Before the backend runs: it may write the gradient over the logits.
  const Eigen::Index batch = outputs.rows();
  const Eigen::Index classes = outputs.cols();
  double label_sum = 0;
  for (Eigen::Index r = 0; r < batch && r < static_cast<Eigen::Index>(labels.size()); ++r) {
    // A label out of range is the backend's to refuse (or assert on).
    if (labels[r] >= 0 && labels[r] < classes) label_sum += outputs(r, labels[r]);
  }
  const double all_sum = outputs.cast<double>().sum();
  MNEMO_ASSIGN_OR_RETURN(const float cross_entropy,
                         backend.SoftmaxCrossEntropy(outputs, labels, grad, correct));
  if (batch == 0 || classes == 0) return cross_entropy;
  if (grad != nullptr) {
    const float uniform = smoothing / static_cast<float>(classes * batch);
    const float on_label = smoothing / static_cast<float>(batch);
    grad->array() -= uniform;
    for (Eigen::Index r = 0; r < batch; ++r) (*grad)(r, labels[r]) += on_label;
  }
  const double b = static_cast<double>(batch);
  return static_cast<float>(cross_entropy + smoothing * (label_sum / b - all_sum / (b * classes)));
}

void PredictedClasses(config::Model::Loss loss, const Tensor& outputs, int32_t* out) {
  if (ResolvedLoss(loss) != config::Model::SIGMOID_CROSS_ENTROPY) {
    ArgMaxRows(outputs, out);
    return;
  }
  for (Eigen::Index r = 0; r < outputs.rows(); ++r) out[r] = outputs(r, 0) > 0 ? 1 : 0;
}

float SigmoidCrossEntropy::Compute(const Tensor& logits, absl::Span<const int32_t> labels,
                                   Tensor* grad_logits, int* correct) {
  const Eigen::Index batch = logits.rows();
  assert(logits.cols() == 1 && static_cast<Eigen::Index>(labels.size()) == batch);
  if (grad_logits != nullptr) grad_logits->resize(batch, 1);
  if (correct != nullptr) *correct = 0;
  if (batch == 0) return 0.0f;
  double total = 0.0;
  for (Eigen::Index r = 0; r < batch; ++r) {
    const double z = logits(r, 0);
    const double y = labels[r];
    total += std::max(z, 0.0) - z * y + std::log1p(std::exp(-std::abs(z)));
    if (correct != nullptr && (z > 0) == (labels[r] == 1)) ++*correct;
    if (grad_logits != nullptr) {
      const double p = z >= 0 ? 1 / (1 + std::exp(-z)) : std::exp(z) / (1 + std::exp(z));
      (*grad_logits)(r, 0) = static_cast<float>((p - y) / static_cast<double>(batch));
    }
  }
  return static_cast<float>(total / static_cast<double>(batch));
}

float MeanSquaredError::Compute(const Tensor& outputs, const Tensor& targets, Tensor* grad) {
  assert(outputs.rows() == targets.rows() && outputs.cols() == targets.cols());
  const double n = static_cast<double>(outputs.size());
  if (n == 0) return 0.0f;
  const auto diff = (outputs - targets).array().cast<double>();
  if (grad != nullptr) *grad = ((outputs - targets) * static_cast<float>(2.0 / n)).eval();
  return static_cast<float>(diff.square().sum() / n);
}

float HuberLoss::Compute(const Tensor& outputs, const Tensor& targets, float delta, Tensor* grad) {
  assert(outputs.rows() == targets.rows() && outputs.cols() == targets.cols());
  const double n = static_cast<double>(outputs.size());
  if (grad != nullptr) grad->resize(outputs.rows(), outputs.cols());
  if (n == 0) return 0.0f;
  double total = 0.0;
  for (Eigen::Index r = 0; r < outputs.rows(); ++r) {
    for (Eigen::Index c = 0; c < outputs.cols(); ++c) {
      const float d = outputs(r, c) - targets(r, c);
      const float a = std::abs(d);
      total += a <= delta ? 0.5 * d * d : delta * (a - 0.5 * delta);
      if (grad != nullptr) {
        (*grad)(r, c) = static_cast<float>((a <= delta ? d : std::copysign(delta, d)) / n);
      }
    }
  }
  return static_cast<float>(total / n);
}

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
