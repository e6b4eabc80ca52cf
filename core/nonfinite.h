#ifndef MNEMO_CORE_NONFINITE_H_
#define MNEMO_CORE_NONFINITE_H_

#include <optional>
#include <string>

#include "core/network.h"
#include "core/tensor.h"

namespace mnemo {

// True when no element of `tensor` is NaN or infinite. One vectorised pass
// (x * 0 is 0 for a finite x and NaN otherwise, and the sum keeps the NaN),
// cheap enough to run on every gradient of every step.
bool AllFinite(const Tensor& tensor);

// A NaN or infinity found in a network's parameters or gradients.
struct NonFiniteValue {
  std::string layer;      // its name
  std::string type;       // its type, e.g. "Dense"
  std::string parameter;  // e.g. "weight"
  Eigen::Index row = 0;
  Eigen::Index col = 0;
  float value = 0;

  // `layer "0_dense" (Dense), parameter "weight", element [3, 5] = nan`
  std::string ToString() const;
};

// The first non-finite element of a trainable layer's gradient, in layer
// order; none when every one is finite. Costs one AllFinite pass over each
// gradient; only a tensor that fails it is searched element by element.
std::optional<NonFiniteValue> FindNonFiniteGradient(Network& network);

// The same over every layer's parameter values (frozen layers too).
std::optional<NonFiniteValue> FindNonFiniteParameter(Network& network);

}  // namespace mnemo

#endif  // MNEMO_CORE_NONFINITE_H_
