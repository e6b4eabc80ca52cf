#include "core/gradient_clipping.h"

#include <cmath>

#include "core/nonfinite.h"

namespace mnemo {

double ClipGradients(const GradientClipping& clipping, absl::Span<const ModelParameter> parameters,
                     const double* raw_squared_norm) {
  const float limit = clipping.value;
  double squared_norm = 0;
  if (limit > 0) {
    // One walk: each gradient clamped, then its squares summed while it is
    // still in cache.
    for (const ModelParameter& p : parameters) {
      Tensor& gradient = *p.gradient;
      gradient.array() = gradient.array().max(-limit).min(limit);
      if (clipping.global_norm > 0) squared_norm += SquaredNorm(gradient);
    }
  } else if (clipping.global_norm > 0) {
    if (raw_squared_norm != nullptr) {
      squared_norm = *raw_squared_norm;
    } else {
      for (const ModelParameter& p : parameters) squared_norm += SquaredNorm(*p.gradient);
    }
  }
  if (!(clipping.global_norm > 0)) return 0;
  const double norm = std::sqrt(squared_norm);
  // PyTorch multiplies by min(coefficient, 1); a factor of 1 changes nothing.
  const double coefficient = clipping.global_norm / (norm + 1e-6);
  if (coefficient < 1) {
    const float factor = static_cast<float>(coefficient);
    for (const ModelParameter& p : parameters) *p.gradient *= factor;
  }
  return norm;
}

}  // namespace mnemo
