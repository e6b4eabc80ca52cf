#ifndef MNEMO_CORE_NONFINITE_H_
#define MNEMO_CORE_NONFINITE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "core/layer.h"
#include "core/network.h"
#include "core/tensor.h"

namespace mnemo {

// True when no element of `tensor` is NaN or infinite. One vectorised pass
// (x * 0 is 0 for a finite x and NaN otherwise, and the sum keeps the NaN),
// cheap enough to run on every gradient of every step.
bool AllFinite(const Tensor& tensor);

// A NaN or infinity found in a model's parameters or gradients.
struct NonFiniteValue {
  std::string where;  // `layer "0_dense" (Dense), parameter "weight"`, or `parameter "memory.keys"`
  Eigen::Index row = 0;
  Eigen::Index col = 0;
  float value = 0;

  // `layer "0_dense" (Dense), parameter "weight", element [3, 5] = nan`
  std::string ToString() const;
};

// The sum of the squares of `tensor`'s elements: in float, as PyTorch's
// norms are, in one vectorised pass, and again in double when the float sum
// overflows (elements beyond about 1e19). Not finite exactly when an element
// is not, so the pass doubles as AllFinite.
double SquaredNorm(const Tensor& tensor);

// The first non-finite element of the gradients of `parameters`, in their
// order; none when every one is finite. Costs one AllFinite pass over each
// gradient; only a tensor that fails it is searched element by element.
//
// With `squared_norm`, each gradient's pass is SquaredNorm's instead, and
// when every one is finite *squared_norm is the sum of all their squares:
// the global norm that clipping by norm (core/gradient_clipping.h) needs,
// for no second walk over the gradients.
std::optional<NonFiniteValue> FindNonFiniteGradient(absl::Span<const ModelParameter> parameters,
                                                    double* squared_norm = nullptr);

// The same over the parameters' values.
std::optional<NonFiniteValue> FindNonFiniteValue(absl::Span<const ModelParameter> parameters);

// What a training step's forward pass, with the passes of `networks` still
// open (their activations readable), can say about a loss that is not finite:
// a non-finite value among `parameters` ("... already"), else a non-finite
// feature of `input` ("training sample 17 has feature 2 = nan", the sample
// being samples[row]), else the first layer in `networks`, in order, whose
// output is not finite, with the size its parameters have grown to.
std::string ExplainNonFiniteLoss(absl::Span<const ModelParameter> parameters,
                                 const std::vector<Network*>& networks, const Tensor& input,
                                 absl::Span<const int32_t> samples);

}  // namespace mnemo

#endif  // MNEMO_CORE_NONFINITE_H_
