#ifndef MNEMO_CORE_GRADIENT_CLIPPING_H_
#define MNEMO_CORE_GRADIENT_CLIPPING_H_

#include "absl/types/span.h"
#include "core/config.pb.h"
#include "core/network.h"

namespace mnemo {

// Gradient clipping before the optimizer's step (trainer.optimizer.clip_value
// and clip_global_norm), as PyTorch's clip_grad_value_ and then
// clip_grad_norm_ (L2, over every gradient together) do it.
struct GradientClipping {
  float value = 0;        // each element to [-value, value]; 0 = not
  float global_norm = 0;  // the global L2 norm to at most this; 0 = not

  static GradientClipping Of(const config::Optimizer& config) {
    return {config.clip_value(), config.clip_global_norm()};
  }
  bool any() const { return value > 0 || global_norm > 0; }
  // Whether the norm is taken of the gradients as they come (no clipping by
  // value first), so that FindNonFiniteGradient's pass can sum it.
  bool NormOfRawGradients() const { return global_norm > 0 && value == 0; }
};

// Clips the gradients of `parameters`, which must all be finite (the
// trainer's check runs first: clipping would hide an infinity): each element
// to [-value, value], then, when their global L2 norm n (after that) exceeds
// global_norm, every one times global_norm / (n + 1e-6) (PyTorch's
// coefficient, its 1e-6 included). `raw_squared_norm` is the squared norm
// of the gradients as they are when the caller summed it already
// (NormOfRawGradients: FindNonFiniteGradient's pass), else null. Returns n
// (0 when not clipping by norm), as clip_grad_norm_ does.
double ClipGradients(const GradientClipping& clipping, absl::Span<const ModelParameter> parameters,
                     const double* raw_squared_norm = nullptr);

}  // namespace mnemo

#endif  // MNEMO_CORE_GRADIENT_CLIPPING_H_
