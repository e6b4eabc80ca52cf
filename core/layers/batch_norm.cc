// clang-format off
#include "core/avx512_warning_workaround.h"  // first: see there
// clang-format on

#include "core/layers/batch_norm.h"

#include <cassert>
#include <cmath>

#include "core/layers/norm_config.h"
#include "core/layers/norm_kernels.h"

namespace mnemo {

BatchNorm::BatchNorm(int size, float epsilon, float momentum, bool gradients)
    : Layer(size, size),
      epsilon_(epsilon),
      momentum_(momentum),
      gamma_(Tensor::Ones(1, size)),
      beta_(Tensor::Zero(1, size)),
      running_mean_(Tensor::Zero(1, size)),
      running_var_(Tensor::Ones(1, size)),
      batch_mean_(1, size),
      batch_variance_(1, size),
      mean_(1, size),
      squares_(1, size),
      rstd_(1, size),
      scale_(1, size),
      sum_dy_(1, size),
      sum_dy_xhat_(1, size),
      a_(1, size),
      b_(1, size) {
  if (gradients) {
    gamma_gradient_ = Tensor::Zero(1, size);
    beta_gradient_ = Tensor::Zero(1, size);
  }
}

absl::StatusOr<std::unique_ptr<Layer>> BatchNorm::Create(const LayerArgs& args) {
  absl::StatusOr<NormSettings> settings =
      ReadNormSettings("BatchNorm", args, /*reads_momentum=*/true);
  if (!settings.ok()) return settings.status();
  return std::make_unique<BatchNorm>(settings->size, settings->epsilon, settings->momentum,
                                     /*gradients=*/!args.inference);
}

void BatchNorm::BatchStatistics(const Tensor& input, Tensor* mean, Tensor* squares) const {
  const int n = input_size();
  // Row after row into one sum per feature: the order of the additions is the
  // rows' order, whatever the width, so the same input gives the same bits.
  mean->setZero();
  for (Eigen::Index r = 0; r < input.rows(); ++r)
    norm::AddTo(input.data() + r * n, n, mean->data());
  *mean /= static_cast<float>(input.rows());
  squares->setZero();
  for (Eigen::Index r = 0; r < input.rows(); ++r) {
    norm::AddSquaredDeviations(input.data() + r * n, n, mean->data(), squares->data());
  }
}

void BatchNorm::PassStatistics(const Tensor& input, const ForwardContext& context) {
  const Tensor* variance = &running_var_;
  float divisor = 1;
  if (UsesBatchStatistics(context)) {
    BatchStatistics(input, &mean_, &squares_);
    variance = &squares_;  // the biased variance: the squares over the rows
    divisor = static_cast<float>(input.rows());
  } else {
    mean_ = running_mean_;
  }
  for (int j = 0; j < input_size(); ++j) {
    rstd_(0, j) = 1.0f / std::sqrt((*variance)(0, j) / divisor + epsilon_);
  }
}

void BatchNorm::Forward(const Tensor& input, const ForwardContext& context, Tensor* output) {
  const int n = input_size();
  output->resize(input.rows(), n);
  if (input.rows() == 0) return;
  PassStatistics(input, context);
  if (UsesBatchStatistics(context)) {
    batch_mean_ = mean_;
    batch_variance_ = squares_ / static_cast<float>(input.rows());
    batch_rows_ = input.rows();
  }
  scale_.array() = gamma_.array() * rstd_.array();
  for (Eigen::Index r = 0; r < input.rows(); ++r) {
    norm::NormalizeColumns(input.data() + r * n, n, mean_.data(), scale_.data(), beta_.data(),
                           output->data() + r * n);
  }
}

// With xhat = (x - mean) * rstd, per feature over the m rows:
//   dgamma += sum dy * xhat, dbeta += sum dy,
//   dx = gamma * rstd * (dy - sum(dy) / m - xhat * sum(dy * xhat) / m)
// with the batch's statistics, whose dependence on every x of the column
// gives the two sums; with the running statistics, constants, dx = gamma *
// rstd * dy (the sums' terms set to zero).
void BatchNorm::Backward(const Tensor& input, const Tensor& /*output*/, const Tensor& grad_output,
                         const ForwardContext& context, Tensor* grad_input) {
  assert(gamma_gradient_.size() == gamma_.size() && "Backward of a BatchNorm built for inference");
  const int n = input_size();
  const Eigen::Index rows = input.rows();
  if (grad_input != nullptr) grad_input->resize(rows, n);
  if (rows == 0) return;
  PassStatistics(input, context);
  sum_dy_.setZero();
  sum_dy_xhat_.setZero();
  for (Eigen::Index r = 0; r < rows; ++r) {
    norm::AddColumnGradientSums(input.data() + r * n, grad_output.data() + r * n, n, mean_.data(),
                                rstd_.data(), sum_dy_.data(), sum_dy_xhat_.data());
  }
  gamma_gradient_ += sum_dy_xhat_;
  beta_gradient_ += sum_dy_;
  if (grad_input == nullptr) return;
  scale_.array() = gamma_.array() * rstd_.array();
  if (UsesBatchStatistics(context)) {
    a_ = sum_dy_ / static_cast<float>(rows);
    b_ = sum_dy_xhat_ / static_cast<float>(rows);
  } else {
    a_.setZero();
    b_.setZero();
  }
  for (Eigen::Index r = 0; r < rows; ++r) {
    norm::BatchNormInputGradient(input.data() + r * n, grad_output.data() + r * n, n, mean_.data(),
                                 rstd_.data(), scale_.data(), a_.data(), b_.data(),
                                 grad_input->data() + r * n);
  }
}

std::vector<Parameter> BatchNorm::parameters() {
  return {{"gamma", &gamma_, &gamma_gradient_}, {"beta", &beta_, &beta_gradient_}};
}

std::vector<Parameter> BatchNorm::buffers() {
  return {{"running_mean", &running_mean_, nullptr}, {"running_var", &running_var_, nullptr}};
}

void BatchNorm::KeepBatchStatistics(const Tensor& mean, const Tensor& variance, Eigen::Index rows) {
  batch_mean_ = mean;
  batch_variance_ = variance;
  batch_rows_ = rows;
}

void BatchNorm::CommitStep() {
  const Eigen::Index rows = batch_rows_;
  batch_rows_ = 0;
  if (rows < 2) return;  // nothing kept, or one row: no unbiased variance
  // PyTorch's update, in its order: momentum * batch + (1 - momentum) *
  // running, with the variance over rows - 1.
  const float keep = 1.0f - momentum_;
  const float unbiased = static_cast<float>(rows) / static_cast<float>(rows - 1);
  running_mean_ = momentum_ * batch_mean_ + keep * running_mean_;
  running_var_ = momentum_ * (batch_variance_ * unbiased) + keep * running_var_;
  MarkParametersUpdated();
}

}  // namespace mnemo
