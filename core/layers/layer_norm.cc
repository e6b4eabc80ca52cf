// clang-format off
#include "core/avx512_warning_workaround.h"  // first: see there
// clang-format on

#include "core/layers/layer_norm.h"

#include <cassert>
#include <cmath>

#include "core/layers/norm_config.h"
#include "core/layers/norm_kernels.h"

namespace mnemo {

LayerNorm::LayerNorm(int size, float epsilon, bool gradients)
    : Layer(size, size),
      epsilon_(epsilon),
      gamma_(Tensor::Ones(1, size)),
      beta_(Tensor::Zero(1, size)) {
  if (gradients) {
    gamma_gradient_ = Tensor::Zero(1, size);
    beta_gradient_ = Tensor::Zero(1, size);
  }
}

absl::StatusOr<std::unique_ptr<Layer>> LayerNorm::Create(const LayerArgs& args) {
  absl::StatusOr<NormSettings> settings =
      ReadNormSettings("LayerNorm", args, /*reads_momentum=*/false);
  if (!settings.ok()) return settings.status();
  return std::make_unique<LayerNorm>(settings->size, settings->epsilon,
                                     /*gradients=*/!args.inference);
}

void LayerNorm::RowStatistics(const float* row, float* mean, float* rstd) const {
  const int n = input_size();
  *mean = norm::Sum(row, n) / n;
  // Two passes (the mean, then the squared deviations from it): no
  // cancellation for features far from 0, as E[x^2] - E[x]^2 would have.
  const float variance = norm::SumSquaredDeviations(row, n, *mean) / n;
  *rstd = 1.0f / std::sqrt(variance + epsilon_);
}

void LayerNorm::Forward(const Tensor& input, const ForwardContext& /*context*/, Tensor* output) {
  const int n = input_size();
  output->resize(input.rows(), n);
  for (Eigen::Index r = 0; r < input.rows(); ++r) {
    const float* x = input.data() + r * n;
    float mean, rstd;
    RowStatistics(x, &mean, &rstd);
    norm::NormalizeRow(x, n, mean, rstd, gamma_.data(), beta_.data(), output->data() + r * n);
  }
}

// With xhat = (x - mean) * rstd and g = dy * gamma, per row of n features:
//   dgamma += dy * xhat, dbeta += dy,
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat))
// (the mean and the variance depend on every x of the row, hence the two
// row means).
void LayerNorm::Backward(const Tensor& input, const Tensor& /*output*/, const Tensor& grad_output,
                         const ForwardContext& /*context*/, Tensor* grad_input) {
  assert(gamma_gradient_.size() == gamma_.size() && "Backward of a LayerNorm built for inference");
  const int n = input_size();
  if (grad_input != nullptr) grad_input->resize(input.rows(), n);
  for (Eigen::Index r = 0; r < input.rows(); ++r) {
    const float* x = input.data() + r * n;
    const float* dy = grad_output.data() + r * n;
    float mean, rstd, sum_g, sum_g_xhat;
    RowStatistics(x, &mean, &rstd);
    norm::LayerNormRowSums(x, dy, n, mean, rstd, gamma_.data(), &sum_g, &sum_g_xhat,
                           gamma_gradient_.data(), beta_gradient_.data());
    if (grad_input == nullptr) continue;
    norm::LayerNormInputGradient(x, dy, n, mean, rstd, gamma_.data(), sum_g / n, sum_g_xhat / n,
                                 grad_input->data() + r * n);
  }
}

std::vector<Parameter> LayerNorm::parameters() {
  return {{"gamma", &gamma_, &gamma_gradient_}, {"beta", &beta_, &beta_gradient_}};
}

}  // namespace mnemo
