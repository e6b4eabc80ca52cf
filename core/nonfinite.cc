#include "core/nonfinite.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace mnemo {
namespace {

// The first non-finite element of `tensor`, row-major, into `found`.
bool Locate(const Tensor& tensor, NonFiniteValue* found) {
  for (Eigen::Index r = 0; r < tensor.rows(); ++r) {
    for (Eigen::Index c = 0; c < tensor.cols(); ++c) {
      if (!std::isfinite(tensor(r, c))) {
        found->row = r;
        found->col = c;
        found->value = tensor(r, c);
        return true;
      }
    }
  }
  return false;
}

// `gradients` picks the gradient of each parameter, else its value.
std::optional<NonFiniteValue> Find(Network& network, bool gradients) {
  for (int i = 0; i < network.num_layers(); ++i) {
    Layer& layer = network.layer(i);
    if (gradients && !layer.trainable()) continue;
    for (const Parameter& p : layer.parameters()) {
      const Tensor& tensor = gradients ? *p.gradient : *p.value;
      if (AllFinite(tensor)) continue;
      NonFiniteValue found;
      if (!Locate(tensor, &found)) continue;  // unreachable: AllFinite said otherwise
      found.layer = layer.name();
      found.type = layer.type();
      found.parameter = p.name;
      return found;
    }
  }
  return std::nullopt;
}

}  // namespace

bool AllFinite(const Tensor& tensor) {
  // The sum is 0 (or -0) exactly when every product is.
  return (tensor.array() * 0.0f).sum() == 0.0f;
}

std::string NonFiniteValue::ToString() const {
  return absl::StrCat("layer \"", layer, "\" (", type, "), parameter \"", parameter,
                      "\", element [", row, ", ", col, "] = ", value);
}

std::optional<NonFiniteValue> FindNonFiniteGradient(Network& network) {
  return Find(network, /*gradients=*/true);
}

std::optional<NonFiniteValue> FindNonFiniteParameter(Network& network) {
  return Find(network, /*gradients=*/false);
}

}  // namespace mnemo
