#include "core/model_io.h"

#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/types/span.h"
#include "core/config_diff.h"
#include "core/io/quote.h"
#include "core/io/safetensors.h"
#include "core/nonfinite.h"
#include "core/status_macros.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace mnemo {
namespace {

std::string ShapeString(Eigen::Index rows, Eigen::Index cols) {
  return absl::StrCat("[", rows, ", ", cols, "]");
}

// Every parameter and buffer of every layer (frozen ones too: they are part
// of the model), by their names in the file.
std::vector<ModelParameter> ModelTensors(const std::vector<Network*>& networks) {
  std::vector<ModelParameter> tensors;
  for (Network* network : networks) {
    for (ModelParameter& p : network->Parameters()) tensors.push_back(std::move(p));
    for (ModelParameter& b : network->Buffers()) tensors.push_back(std::move(b));
  }
  return tensors;
}

std::map<std::string, Tensor*> NamedTensors(const std::vector<Network*>& networks) {
  std::map<std::string, Tensor*> named;
  for (const ModelParameter& p : ModelTensors(networks)) named[p.name] = p.value;
  return named;
}

}  // namespace

absl::Status SaveModel(const std::string& path, Network& network, const std::string& config_text,
                       const config::DataNames& names) {
  return SaveModel(path, std::vector<Network*>{&network}, config_text, {}, names);
}

absl::Status SaveModel(const std::string& path, const std::vector<Network*>& networks,
                       const std::string& config_text,
                       const std::map<std::string, Tensor>& extra_tensors,
                       const config::DataNames& names) {
  TensorFile file;
  for (const auto& [name, value] : NamedTensors(networks)) {
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
  if (names.ByteSizeLong() > 0) {
    google::protobuf::TextFormat::PrintToString(names, &file.metadata[kModelDataKey]);
  }
  return WriteSafetensors(path, file);
}

absl::Status LoadModel(const std::string& path, Network& network) {
  return LoadModel(path, std::vector<Network*>{&network}, "").status();
}

absl::StatusOr<std::map<std::string, Tensor>> LoadModel(const std::string& path,
                                                        const std::vector<Network*>& networks,
                                                        const std::string& extra_prefix) {
  MNEMO_ASSIGN_OR_RETURN(SafetensorsReader file, SafetensorsReader::Open(path));
  const std::map<std::string, TensorInfo>& tensors = file.header().tensors;

  std::map<std::string, Tensor*> named = NamedTensors(networks);
  std::vector<std::string> problems;
  for (const auto& [name, target] : named) {
    auto it = tensors.find(name);
    if (it == tensors.end()) {
      problems.push_back(absl::StrCat("tensor ", QuoteValue(name), " is missing"));
    } else if (it->second.rows != target->rows() || it->second.cols != target->cols()) {
      problems.push_back(absl::StrCat(
          "tensor \"", name, "\" has shape ", ShapeString(it->second.rows, it->second.cols),
          " but the model needs ", ShapeString(target->rows(), target->cols())));
    }
  }
  for (const auto& [name, info] : tensors) {
    if (named.count(name) == 0 && (extra_prefix.empty() || !absl::StartsWith(name, extra_prefix))) {
      problems.push_back(absl::StrCat("tensor ", QuoteValue(name), " is not in the model"));
    } else if (info.dtype != Dtype::kF32) {
      // Refused here, before any is read, not by ReadTensor halfway through.
      problems.push_back(
          absl::StrCat("tensor ", QuoteValue(name), " is ", DtypeName(info.dtype), ", not F32"));
    }
  }
  if (!problems.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " does not match the model: ", absl::StrJoin(problems, "; ")));
  }

  // Checked everything first, so a refusal leaves the network untouched. The
  // data goes straight into the parameters, in the file's order (name order,
  // as SaveModel writes): no copy of the file is held, and so only an I/O
  // error can stop the loop halfway.
  std::map<std::string, Tensor> extras;
  absl::Status read;
  for (const auto& [name, info] : tensors) {
    auto it = named.find(name);
    Tensor* target = it != named.end()
                         ? it->second
                         : &extras.emplace(name, Tensor(info.rows, info.cols)).first->second;
    read = file.ReadTensor(name, absl::MakeSpan(target->data(), target->size()));
    if (!read.ok()) break;
  }
  // Even after a failed read: the values did change.
  for (Network* network : networks) {
    for (int i = 0; i < network->num_layers(); ++i) network->layer(i).MarkParametersUpdated();
  }
  if (!read.ok()) {
    return absl::Status(read.code(), absl::StrCat(read.message(),
                                                  "; the model is now partly loaded (every check "
                                                  "had passed and the tensors before this one "
                                                  "were read): discard it"));
  }
  // A NaN or an infinity would be served as answers that look like any other.
  std::vector<ModelParameter> parameters = ModelTensors(networks);
  for (auto& [name, tensor] : extras) parameters.push_back({name, &tensor, nullptr, nullptr});
  if (std::optional<NonFiniteValue> bad = FindNonFiniteValue(parameters)) {
    return absl::DataLossError(
        absl::StrCat(path, ": ", bad->ToString(),
                     ": a model with a NaN or infinite weight is refused (the network now holds "
                     "it: discard it)"));
  }
  return extras;
}

absl::StatusOr<std::string> ReadModelConfigText(const std::string& path) {
  MNEMO_ASSIGN_OR_RETURN(SafetensorsReader file, SafetensorsReader::Open(path));
  const std::map<std::string, std::string>& metadata = file.header().metadata;
  auto it = metadata.find(kModelConfigKey);
  return it == metadata.end() ? std::string() : it->second;
}

namespace {

// The model section of a config as text, without what may change between
// training and serving: the backend and its threads compute the same model.
std::string ModelText(config::Model model) {
  model.clear_backend();
  model.clear_threads();
  std::string text;
  google::protobuf::TextFormat::PrintToString(model, &text);
  return text;
}

// Parse errors go into the message, not to stderr.
class SilentErrors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int /*line*/, int /*column*/, const std::string& /*message*/) override {}
};

}  // namespace

absl::Status CheckModelMatchesFile(const config::Model& given, const std::string& model_path) {
  MNEMO_ASSIGN_OR_RETURN(std::string stored_text, ReadModelConfigText(model_path));
  if (stored_text.empty()) return absl::OkStatus();  // nothing to compare with
  config::Experiment stored;
  SilentErrors errors;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(stored_text, &stored)) {
    return absl::InvalidArgumentError(
        absl::StrCat(model_path,
                     ": its stored config does not parse with the given config's plugins; "
                     "serve it with the config it was trained with"));
  }
  const ConfigDifference difference = DiffConfigText(ModelText(stored.model()), ModelText(given));
  if (difference.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat(model_path,
                   " was trained as another model than the given config describes (only "
                   "model.backend and model.threads may differ): the file's model has ",
                   difference.only_first, " where the config has ", difference.only_second));
}

absl::StatusOr<config::DataNames> ReadModelDataNames(const std::string& path) {
  MNEMO_ASSIGN_OR_RETURN(SafetensorsReader file, SafetensorsReader::Open(path));
  const std::map<std::string, std::string>& metadata = file.header().metadata;
  config::DataNames names;
  auto it = metadata.find(kModelDataKey);
  if (it != metadata.end() && !google::protobuf::TextFormat::ParseFromString(it->second, &names)) {
    return absl::DataLossError(
        absl::StrCat(path, ": metadata \"", kModelDataKey, "\" is not the data's names"));
  }
  return names;
}

}  // namespace mnemo
