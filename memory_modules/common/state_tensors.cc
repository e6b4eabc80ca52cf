#include "memory_modules/common/state_tensors.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/avx512_warning_workaround.h"  // first: see there

namespace mnemo::memory {

Tensor LabelsToTensor(absl::Span<const int> labels) {
  Tensor tensor(1, static_cast<Eigen::Index>(labels.size()));
  for (size_t i = 0; i < labels.size(); ++i) tensor(0, i) = static_cast<float>(labels[i]);
  return tensor;
}

absl::Status CheckStateNames(const std::map<std::string, Tensor>& state,
                             const std::vector<std::string>& names) {
  std::vector<std::string> missing, unknown;
  for (const std::string& name : names) {
    if (state.count(name) == 0) missing.push_back(name);
  }
  for (const auto& [name, tensor] : state) {
    if (std::find(names.begin(), names.end(), name) == names.end()) unknown.push_back(name);
  }
  if (missing.empty() && unknown.empty()) return absl::OkStatus();
  std::vector<std::string> problems;
  if (!missing.empty()) {
    problems.push_back(absl::StrCat("missing tensors: ", absl::StrJoin(missing, ", ")));
  }
  if (!unknown.empty()) {
    problems.push_back(absl::StrCat("unknown tensors: ", absl::StrJoin(unknown, ", ")));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "memory state (expected ", absl::StrJoin(names, ", "), "): ", absl::StrJoin(problems, "; ")));
}

absl::StatusOr<const Tensor*> StateTensor(const std::map<std::string, Tensor>& state,
                                          const std::string& name, Eigen::Index rows,
                                          Eigen::Index cols) {
  auto it = state.find(name);
  if (it == state.end()) {
    return absl::InvalidArgumentError(absl::StrCat("memory state: no tensor \"", name, "\""));
  }
  const Tensor& tensor = it->second;
  if ((rows >= 0 && tensor.rows() != rows) || (cols >= 0 && tensor.cols() != cols)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "memory state: \"", name, "\" is ", tensor.rows(), " x ", tensor.cols(), ", expected ",
        rows >= 0 ? absl::StrCat(rows) : "any", " x ", cols >= 0 ? absl::StrCat(cols) : "any"));
  }
  if (!tensor.allFinite()) {
    return absl::InvalidArgumentError(
        absl::StrCat("memory state: \"", name, "\" holds a NaN or an infinity"));
  }
  return &tensor;
}

absl::StatusOr<std::vector<int>> LabelsFromTensor(const Tensor& labels, const std::string& name,
                                                  int lowest, int end) {
  std::vector<int> out(static_cast<size_t>(labels.size()));
  for (Eigen::Index i = 0; i < labels.size(); ++i) {
    const float value = labels.data()[i];
    if (!(value >= static_cast<float>(lowest) && value < static_cast<float>(end)) ||
        std::floor(value) != value) {
      return absl::InvalidArgumentError(
          absl::StrCat("memory state: \"", name, "\"[", i, "] = ", value,
                       " is not a class label (an integer in [", lowest, ", ", end, "))"));
    }
    out[i] = static_cast<int>(value);
  }
  return out;
}

}  // namespace mnemo::memory
