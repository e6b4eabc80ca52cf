#include "core/nonfinite.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace mnemo {
namespace {

// The first non-finite element of `tensor`, row-major; none when AllFinite.
std::optional<NonFiniteValue> Locate(const Tensor& tensor) {
  if (AllFinite(tensor)) return std::nullopt;
  for (Eigen::Index r = 0; r < tensor.rows(); ++r) {
    for (Eigen::Index c = 0; c < tensor.cols(); ++c) {
      if (!std::isfinite(tensor(r, c))) return NonFiniteValue{"", r, c, tensor(r, c)};
    }
  }
  return std::nullopt;  // unreachable: AllFinite said otherwise
}

std::string Where(const ModelParameter& p) {
  if (p.layer == nullptr) return absl::StrCat("parameter \"", p.name, "\"");
  // The parameter's own name follows "<layer name>.".
  return absl::StrCat("layer \"", p.layer->name(), "\" (", p.layer->type(), "), parameter \"",
                      absl::string_view(p.name).substr(p.layer->name().size() + 1), "\"");
}

// `gradients` picks the gradient of each parameter, else its value.
std::optional<NonFiniteValue> Find(absl::Span<const ModelParameter> parameters, bool gradients) {
  for (const ModelParameter& p : parameters) {
    std::optional<NonFiniteValue> found = Locate(gradients ? *p.gradient : *p.value);
    if (found.has_value()) {
      found->where = Where(p);
      return found;
    }
  }
  return std::nullopt;
}

// "the first layer whose output is not: ...", or "" when every layer's is.
std::string FirstNonFiniteOutput(const std::vector<Network*>& networks,
                                 absl::Span<const int32_t> samples) {
  for (Network* network : networks) {
    // The activations asked for in the order a backward pass asks
    // (core/cache_strategy.h): from the top down, each below the last.
    const int num = network->num_layers();
    int lowest = -1;
    NonFiniteValue lowest_value;
    for (int i = num; i >= 1; --i) {
      if (i < num && !network->strategy().Activation(i + 1).ok()) break;
      absl::StatusOr<const Tensor*> output = network->strategy().Activation(i);
      if (!output.ok()) break;
      if (std::optional<NonFiniteValue> found = Locate(**output)) {
        lowest = i - 1;
        lowest_value = *found;
      }
    }
    if (lowest < 0) continue;
    Layer& layer = network->layer(lowest);
    std::string text = absl::StrCat("the first layer whose output is not: layer \"", layer.name(),
                                    "\" (", layer.type(), "), element [", lowest_value.row, ", ",
                                    lowest_value.col, "] = ", lowest_value.value,
                                    " (training sample ", samples[lowest_value.row], ")");
    // How large its parameters have grown says whether they overflowed it.
    for (const Parameter& p : layer.parameters()) {
      if (p.value->size() == 0) continue;
      absl::StrAppend(&text, ", largest |", p.name, "| ", p.value->cwiseAbs().maxCoeff());
    }
    return text;
  }
  return "";
}

}  // namespace

bool AllFinite(const Tensor& tensor) {
  // The sum is 0 (or -0) exactly when every product is.
  return (tensor.array() * 0.0f).sum() == 0.0f;
}

std::string NonFiniteValue::ToString() const {
  return absl::StrCat(where, ", element [", row, ", ", col, "] = ", value);
}

double SquaredNorm(const Tensor& tensor) {
  const float sum = tensor.squaredNorm();
  if (std::isfinite(sum)) return sum;
  // Not finite: an element is not, or the float sum overflowed; the double
  // one tells them apart (a finite float squared stays below 1.2e77).
  return tensor.cast<double>().squaredNorm();
}

std::optional<NonFiniteValue> FindNonFiniteGradient(absl::Span<const ModelParameter> parameters,
                                                    double* squared_norm) {
  if (squared_norm == nullptr) return Find(parameters, /*gradients=*/true);
  double total = 0;
  for (const ModelParameter& p : parameters) {
    const double sum = SquaredNorm(*p.gradient);
    if (!std::isfinite(sum)) {
      std::optional<NonFiniteValue> found = Locate(*p.gradient);
      if (found.has_value()) {
        found->where = Where(p);
        return found;
      }
    }
    total += sum;
  }
  *squared_norm = total;
  return std::nullopt;
}

std::optional<NonFiniteValue> FindNonFiniteValue(absl::Span<const ModelParameter> parameters) {
  return Find(parameters, /*gradients=*/false);
}

std::string ExplainNonFiniteLoss(absl::Span<const ModelParameter> parameters,
                                 const std::vector<Network*>& networks, const Tensor& input,
                                 absl::Span<const int32_t> samples) {
  if (std::optional<NonFiniteValue> bad = FindNonFiniteValue(parameters)) {
    return absl::StrCat(bad->ToString(), " already");
  }
  if (std::optional<NonFiniteValue> cell = Locate(input)) {
    return absl::StrCat("training sample ", samples[cell->row], " has feature ", cell->col, " = ",
                        cell->value);
  }
  std::string output = FirstNonFiniteOutput(networks, samples);
  return absl::StrCat("the parameters and the inputs are finite",
                      output.empty() ? "" : absl::StrCat("; ", output));
}

}  // namespace mnemo
