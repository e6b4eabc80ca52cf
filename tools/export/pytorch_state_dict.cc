#include "tools/export/pytorch_state_dict.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/layers/activations.h"
#include "core/layers/batch_norm.h"
#include "core/layers/dense.h"
#include "core/layers/dropout.h"
#include "core/layers/input_scaling.h"
#include "core/layers/layer_norm.h"
#include "core/loss.h"
#include "core/status_macros.h"

namespace mnemo {
namespace {

// Where network layer i came from in the config: "model.layer[k]" or
// "model.layer[k].activation" (BuildNetwork appends an activation layer
// after its layer); "model.layer" when the network is not the config's.
std::vector<std::string> ConfigPaths(const config::Model& model, int num_layers) {
  std::vector<std::string> paths;
  for (int k = 0; k < model.layer_size(); ++k) {
    paths.push_back(absl::StrCat("model.layer[", k, "]"));
    if (!model.layer(k).activation().empty()) {
      paths.push_back(absl::StrCat("model.layer[", k, "].activation"));
    }
  }
  if (static_cast<int>(paths.size()) != num_layers) paths.assign(num_layers, "model.layer");
  return paths;
}

bool Exportable(const std::string& type) {
  const std::vector<std::string>& types = PyTorchExportableLayerTypes();
  return std::find(types.begin(), types.end(), type) != types.end();
}

std::string RefusedType(const std::string& what, const std::string& type) {
  return absl::StrCat(what, " is of type \"", type,
                      "\", which the PyTorch export cannot express (it knows ",
                      absl::StrJoin(PyTorchExportableLayerTypes(), ", "), ")");
}

TorchTensor Transposed(const std::string& name, const Tensor& t) {
  TorchTensor out{name, {static_cast<int64_t>(t.cols()), static_cast<int64_t>(t.rows())}, {}};
  out.values.resize(static_cast<size_t>(t.size()));
  // The transpose, row-major: element (c, r) of the result is t(r, c).
  Eigen::Map<Tensor>(out.values.data(), t.cols(), t.rows()) = t.transpose();
  return out;
}

TorchTensor Flat(const std::string& name, const Tensor& t) {
  TorchTensor out{name, {static_cast<int64_t>(t.size())}, {}};
  out.values.assign(t.data(), t.data() + t.size());
  return out;
}

const Tensor* FindParameter(Layer& layer, const std::string& name) {
  for (const Parameter& p : layer.parameters()) {
    if (p.name == name) return p.value;
  }
  return nullptr;
}

std::string OutputNote(config::Model::Loss loss, int outputs) {
  switch (ResolvedLoss(loss)) {
    case config::Model::SIGMOID_CROSS_ENTROPY:
      return "output: one logit; the label is 1 when it is > 0 (torch.sigmoid gives P(class 1))";
    case config::Model::MEAN_SQUARED_ERROR:
    case config::Model::HUBER:
      return absl::StrCat("output: the ", outputs, " predicted value", outputs == 1 ? "" : "s");
    default:
      return absl::StrCat("output: the logits of ", outputs,
                          " classes; the label is their argmax (torch.softmax gives the "
                          "probabilities)");
  }
}

}  // namespace

std::string PyTorchSequential::Expression() const {
  return absl::StrCat("nn.Sequential(", absl::StrJoin(modules, ", "), ")");
}

const std::vector<std::string>& PyTorchExportableLayerTypes() {
  static const auto* types =
      new std::vector<std::string>{"Dense",       "ReLU",        "Sigmoid",   "Tanh",     "Dropout",
                                   "Standardize", "MinMaxScale", "LayerNorm", "BatchNorm"};
  return *types;
}

absl::Status CheckExportableToPyTorch(const LoadedConfig& config) {
  const config::Experiment& experiment = config.experiment();
  std::vector<std::string> problems;
  if (!experiment.memory_module().type().empty()) {
    problems.push_back(config.Describe(
        "memory_module",
        absl::StrCat("the model has a memory module (", experiment.memory_module().type(),
                     "), which answers beside its network: a dual-path model is no "
                     "nn.Sequential, and the PyTorch export refuses it")));
  }
  const config::Model& model = experiment.model();
  for (int k = 0; k < model.layer_size(); ++k) {
    const config::Layer& layer = model.layer(k);
    const std::string path = absl::StrCat("model.layer[", k, "]");
    const std::string name = layer.name().empty()
                                 ? absl::StrCat(k, "_", absl::AsciiStrToLower(layer.type()))
                                 : layer.name();
    if (!Exportable(layer.type())) {
      problems.push_back(config.Describe(
          path + ".type",
          RefusedType(absl::StrCat("layer ", k, " (\"", name, "\")"), layer.type())));
    }
    if (!layer.activation().empty() && !Exportable(layer.activation())) {
      problems.push_back(config.Describe(
          path + ".activation",
          RefusedType(absl::StrCat("the activation of layer ", k, " (\"", name, "\")"),
                      layer.activation())));
    }
  }
  if (problems.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(problems, "\n"));
}

absl::StatusOr<PyTorchSequential> ExportToPyTorch(Network& network, const LoadedConfig& config) {
  MNEMO_RETURN_IF_ERROR(CheckExportableToPyTorch(config));
  const std::vector<std::string> paths =
      ConfigPaths(config.experiment().model(), network.num_layers());
  PyTorchSequential out;
  for (int i = 0; i < network.num_layers(); ++i) {
    Layer& layer = network.layer(i);
    const std::string key = absl::StrCat(i);
    if (const auto* dense = dynamic_cast<const Dense*>(&layer)) {
      out.modules.push_back(
          absl::StrCat("nn.Linear(", layer.input_size(), ", ", layer.output_size(), ")"));
      out.state_dict.push_back(Transposed(key + ".weight", dense->weight()));
      out.state_dict.push_back(Flat(key + ".bias", dense->bias()));
    } else if (dynamic_cast<const ReLU*>(&layer) != nullptr) {
      out.modules.push_back("nn.ReLU()");
    } else if (dynamic_cast<const Sigmoid*>(&layer) != nullptr) {
      out.modules.push_back("nn.Sigmoid()");
    } else if (dynamic_cast<const Tanh*>(&layer) != nullptr) {
      out.modules.push_back("nn.Tanh()");
    } else if (const auto* dropout = dynamic_cast<const Dropout*>(&layer)) {
      out.modules.push_back(absl::StrFormat("nn.Dropout(p=%.9g)", dropout->rate()));
    } else if (const auto* norm = dynamic_cast<const LayerNorm*>(&layer)) {
      out.modules.push_back(
          absl::StrFormat("nn.LayerNorm(%d, eps=%.9g)", layer.input_size(), norm->epsilon()));
      out.state_dict.push_back(Flat(key + ".weight", norm->gamma()));
      out.state_dict.push_back(Flat(key + ".bias", norm->beta()));
    } else if (const auto* norm = dynamic_cast<const BatchNorm*>(&layer)) {
      out.modules.push_back(absl::StrFormat("nn.BatchNorm1d(%d, eps=%.9g, momentum=%.9g)",
                                            layer.input_size(), norm->epsilon(), norm->momentum()));
      out.state_dict.push_back(Flat(key + ".weight", norm->gamma()));
      out.state_dict.push_back(Flat(key + ".bias", norm->beta()));
      out.state_dict.push_back(Flat(key + ".running_mean", norm->running_mean()));
      out.state_dict.push_back(Flat(key + ".running_var", norm->running_var()));
      std::string note = absl::StrCat(
          i, ": BatchNorm (\"", layer.name(),
          "\") as nn.BatchNorm1d with its running statistics; num_batches_tracked is not "
          "exported (load_state_dict sets it to 0; mnemo does not count batches)");
      if (!layer.trainable()) {
        absl::StrAppend(&note,
                        "; frozen in mnemo, where it normalises with the running statistics in "
                        "training too: keep it in eval() (and requires_grad_(False)) to do the "
                        "same");
      }
      out.notes.push_back(std::move(note));
    } else if (dynamic_cast<const InputScaling*>(&layer) != nullptr) {
      const Tensor* shift = FindParameter(layer, "shift");
      const Tensor* scale = FindParameter(layer, "scale");
      if (shift == nullptr || scale == nullptr) {
        return absl::InternalError(
            config.Describe(paths[i], absl::StrCat("layer ", i, " (\"", layer.name(), "\", ",
                                                   layer.type(), ") has no shift and scale")));
      }
      const int n = layer.input_size();
      out.modules.push_back(absl::StrCat("nn.Linear(", n, ", ", n, ")"));
      TorchTensor weight{key + ".weight", {n, n}, std::vector<float>(static_cast<size_t>(n) * n)};
      TorchTensor bias{key + ".bias", {n}, std::vector<float>(n)};
      for (int f = 0; f < n; ++f) {
        weight.values[static_cast<size_t>(f) * n + f] = (*scale)(0, f);
        bias.values[f] = static_cast<float>(-static_cast<double>((*shift)(0, f)) * (*scale)(0, f));
      }
      out.state_dict.push_back(std::move(weight));
      out.state_dict.push_back(std::move(bias));
      out.notes.push_back(absl::StrCat(
          i, ": ", layer.type(), " (\"", layer.name(), "\") as nn.Linear(", n, ", ", n,
          "): weight diag(scale), bias -shift * scale, the fitted (x - shift) * scale "
          "(equal up to float rounding); freeze it (requires_grad_(False)) to keep it fixed"));
    } else {
      return absl::InvalidArgumentError(config.Describe(
          paths[i],
          RefusedType(absl::StrCat("layer ", i, " (\"", layer.name(), "\")"), layer.type())));
    }
  }
  out.notes.push_back(OutputNote(network.loss().kind, network.output_size()));
  return out;
}

}  // namespace mnemo
