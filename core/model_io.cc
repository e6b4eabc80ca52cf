#include "core/model_io.h"

#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/io/safetensors.h"

namespace mnemo {
namespace {

std::string ShapeString(const Tensor& t) {
  return absl::StrCat("[", t.rows(), ", ", t.cols(), "]");
}

// Every parameter of every layer (frozen ones too: they are part of the model).
std::map<std::string, Tensor*> NamedParameters(Network& network) {
  std::map<std::string, Tensor*> named;
  for (int i = 0; i < network.num_layers(); ++i) {
    Layer& layer = network.layer(i);
    for (const Parameter& p : layer.parameters()) {
      named[absl::StrCat(layer.name(), ".", p.name)] = p.value;
    }
  }
  return named;
}

}  // namespace

absl::Status SaveModel(const std::string& path, Network& network,
                       const std::string& config_text) {
  TensorFile file;
  for (const auto& [name, value] : NamedParameters(network)) {
    file.tensors.emplace(name, *value);
  }
  file.metadata[kModelFormatKey] = kModelFormatVersion;
  file.metadata[kModelConfigKey] = config_text;
  return WriteSafetensors(path, file);
}

absl::Status LoadModel(const std::string& path, Network& network) {
  absl::StatusOr<TensorFile> file = ReadSafetensors(path);
  if (!file.ok()) return file.status();

  std::map<std::string, Tensor*> named = NamedParameters(network);
  std::vector<std::string> problems;
  for (const auto& [name, target] : named) {
    auto it = file->tensors.find(name);
    if (it == file->tensors.end()) {
      problems.push_back(absl::StrCat("tensor \"", name, "\" is missing"));
    } else if (it->second.rows() != target->rows() ||
               it->second.cols() != target->cols()) {
      problems.push_back(absl::StrCat("tensor \"", name, "\" has shape ",
                                      ShapeString(it->second), " but the model needs ",
                                      ShapeString(*target)));
    }
  }
  for (const auto& [name, tensor] : file->tensors) {
    if (named.count(name) == 0) {
      problems.push_back(absl::StrCat("tensor \"", name, "\" is not in the model"));
    }
  }
  if (!problems.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " does not match the model: ", absl::StrJoin(problems, "; ")));
  }
  // Checked everything first, so a refusal leaves the network untouched.
  for (auto& [name, target] : named) *target = file->tensors.at(name);
  for (int i = 0; i < network.num_layers(); ++i) network.layer(i).MarkParametersUpdated();
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadModelConfigText(const std::string& path) {
  absl::StatusOr<TensorFile> file = ReadSafetensors(path);
  if (!file.ok()) return file.status();
  auto it = file->metadata.find(kModelConfigKey);
  return it == file->metadata.end() ? std::string() : it->second;
}

}  // namespace mnemo
