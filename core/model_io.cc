#include "core/model_io.h"

#include <map>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/io/safetensors.h"

namespace mnemo {
namespace {

std::string ShapeString(const Tensor& t) {
  return absl::StrCat("[", t.rows(), ", ", t.cols(), "]");
}

// Every parameter of every layer (frozen ones too: they are part of the model).
std::map<std::string, Tensor*> NamedParameters(const std::vector<Network*>& networks) {
  std::map<std::string, Tensor*> named;
  for (Network* network : networks) {
    for (int i = 0; i < network->num_layers(); ++i) {
      Layer& layer = network->layer(i);
      for (const Parameter& p : layer.parameters()) {
        named[absl::StrCat(layer.name(), ".", p.name)] = p.value;
      }
    }
  }
  return named;
}

}  // namespace

absl::Status SaveModel(const std::string& path, Network& network,
                       const std::string& config_text) {
  return SaveModel(path, std::vector<Network*>{&network}, config_text, {});
}

absl::Status SaveModel(const std::string& path, const std::vector<Network*>& networks,
                       const std::string& config_text,
                       const std::map<std::string, Tensor>& extra_tensors) {
  TensorFile file;
  for (const auto& [name, value] : NamedParameters(networks)) {
    file.tensors.emplace(name, *value);
  }
  for (const auto& [name, tensor] : extra_tensors) {
    if (!file.tensors.emplace(name, tensor).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot save ", path, ": tensor \"", name, "\" is both a layer's and an extra one"));
    }
  }
  file.metadata[kModelFormatKey] = kModelFormatVersion;
  file.metadata[kModelConfigKey] = config_text;
  return WriteSafetensors(path, file);
}

absl::Status LoadModel(const std::string& path, Network& network) {
  return LoadModel(path, std::vector<Network*>{&network}, "").status();
}

absl::StatusOr<std::map<std::string, Tensor>> LoadModel(const std::string& path,
                                                        const std::vector<Network*>& networks,
                                                        const std::string& extra_prefix) {
  absl::StatusOr<TensorFile> file = ReadSafetensors(path);
  if (!file.ok()) return file.status();

  std::map<std::string, Tensor*> named = NamedParameters(networks);
  std::map<std::string, Tensor> extras;
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
  for (auto& [name, tensor] : file->tensors) {
    if (named.count(name) != 0) continue;
    if (!extra_prefix.empty() && absl::StartsWith(name, extra_prefix)) {
      extras.emplace(name, std::move(tensor));
    } else {
      problems.push_back(absl::StrCat("tensor \"", name, "\" is not in the model"));
    }
  }
  if (!problems.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " does not match the model: ", absl::StrJoin(problems, "; ")));
  }
  // Checked everything first, so a refusal leaves the network untouched.
  for (auto& [name, target] : named) *target = file->tensors.at(name);
  for (Network* network : networks) {
    for (int i = 0; i < network->num_layers(); ++i) network->layer(i).MarkParametersUpdated();
  }
  return extras;
}

absl::StatusOr<std::string> ReadModelConfigText(const std::string& path) {
  absl::StatusOr<TensorFile> file = ReadSafetensors(path);
  if (!file.ok()) return file.status();
  auto it = file->metadata.find(kModelConfigKey);
  return it == file->metadata.end() ? std::string() : it->second;
}

}  // namespace mnemo
