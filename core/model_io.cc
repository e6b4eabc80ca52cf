#include "core/model_io.h"

#include <cstring>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/types/span.h"
#include "core/bfloat16.h"
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

std::map<std::string, MatrixS8*> NamedInt8Tensors(const std::vector<Network*>& networks) {
  std::map<std::string, MatrixS8*> named;
  for (Network* network : networks) {
    for (const Int8Parameter& t : network->Int8Buffers()) named[t.name] = t.value;
  }
  return named;
}

// What a model tensor of the file's dtype may be loaded into: a float tensor
// from F32, or from BF16 (a model tools/quantize wrote in bf16: widened
// exactly); an int8 one from I8 only. "" when it fits, the problem otherwise.
std::string DtypeProblem(const std::string& name, Dtype stored, bool int8_target) {
  const bool fits = int8_target ? stored == Dtype::kI8 : stored != Dtype::kI8;
  if (fits) return "";
  return absl::StrCat("tensor ", QuoteValue(name), " is ", DtypeName(stored),
                      " but the model holds it as ", int8_target ? "I8" : "F32 (or BF16)",
                      stored == Dtype::kI8 ? " (an INT8 model, as tools/quantize writes it: load it "
                                             "with the config it stores)"
                                           : "");
}

// Reads tensor `name` of `file` into `target`, widening BF16 to float.
absl::Status ReadFloatTensor(const SafetensorsReader& file, const std::string& name,
                             const TensorInfo& info, Tensor* target) {
  if (info.dtype == Dtype::kF32) {
    return file.ReadTensor(name, absl::MakeSpan(target->data(), target->size()));
  }
  std::vector<uint8_t> bytes(info.bytes());
  MNEMO_RETURN_IF_ERROR(file.ReadTensorBytes(name, absl::MakeSpan(bytes)));
  for (Eigen::Index i = 0; i < target->size(); ++i) {
    uint16_t bits;
    std::memcpy(&bits, bytes.data() + 2 * i, sizeof bits);
    target->data()[i] = Bfloat16ToFloat(bits);
  }
  return absl::OkStatus();
}

}  // namespace

std::map<std::string, std::string> ModelMetadata(const std::string& config_text,
                                                 const config::DataNames& names) {
  std::map<std::string, std::string> metadata;
  metadata[kModelFormatKey] = kModelFormatVersion;
  metadata[kModelConfigKey] = config_text;
  if (names.ByteSizeLong() > 0) {
    google::protobuf::TextFormat::PrintToString(names, &metadata[kModelDataKey]);
  }
  return metadata;
}

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
  for (const auto& [name, value] : NamedInt8Tensors(networks)) {
    file.narrow_tensors.emplace(name, ToI8Tensor(*value));
  }
  for (const auto& [name, tensor] : extra_tensors) {
    if (!file.tensors.emplace(name, tensor).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot save ", path, ": tensor \"", name, "\" is both a layer's and an extra one"));
    }
  }
  file.metadata = ModelMetadata(config_text, names);
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
  std::map<std::string, MatrixS8*> named_int8 = NamedInt8Tensors(networks);
  std::vector<std::string> problems;
  auto check = [&](const std::string& name, Eigen::Index rows, Eigen::Index cols, bool int8) {
    auto it = tensors.find(name);
    if (it == tensors.end()) {
      problems.push_back(absl::StrCat("tensor ", QuoteValue(name), " is missing"));
    } else if (std::string problem = DtypeProblem(name, it->second.dtype, int8);
               !problem.empty()) {
      problems.push_back(std::move(problem));
    } else if (it->second.rows != rows || it->second.cols != cols) {
      problems.push_back(absl::StrCat("tensor \"", name, "\" has shape ",
                                      ShapeString(it->second.rows, it->second.cols),
                                      " but the model needs ", ShapeString(rows, cols)));
    }
  };
  for (const auto& [name, target] : named) check(name, target->rows(), target->cols(), false);
  for (const auto& [name, target] : named_int8) check(name, target->rows(), target->cols(), true);
  for (const auto& [name, info] : tensors) {
    if (named.count(name) > 0 || named_int8.count(name) > 0) continue;  // checked above
    if (extra_prefix.empty() || !absl::StartsWith(name, extra_prefix)) {
      problems.push_back(absl::StrCat("tensor ", QuoteValue(name), " is not in the model"));
    } else if (info.dtype != Dtype::kF32) {
      problems.push_back(absl::StrCat("tensor ", QuoteValue(name), " is ", DtypeName(info.dtype),
                                      ", not F32"));
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
    if (auto int8 = named_int8.find(name); int8 != named_int8.end()) {
      MatrixS8& target = *int8->second;
      read = file.ReadTensorBytes(
          name, absl::MakeSpan(reinterpret_cast<uint8_t*>(target.data()), target.size()));
    } else {
      auto it = named.find(name);
      Tensor* target = it != named.end()
                           ? it->second
                           : &extras.emplace(name, Tensor(info.rows, info.cols)).first->second;
      read = ReadFloatTensor(file, name, info, target);
    }
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
  // FP32 and BF16 models hold the same tensors; INT8 ones do not.
  if (model.precision() != config::Model::INT8) model.clear_precision();
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
                   "model.backend, model.threads and a precision of FP32 or BF16 may differ): the "
                   "file's model has ",
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
