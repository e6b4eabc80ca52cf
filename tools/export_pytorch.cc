// Exports a saved model for PyTorch: a state_dict file in torch.save's own
// format that an nn.Sequential of the same layers takes as it is, and that
// nn.Sequential as Python (tools/export/pytorch_state_dict.h says how each
// layer maps; a layer PyTorch has no match for is refused, naming it).
//
//   ./bazelw run //tools:export_pytorch -- --model=out/digits_npy/model.safetensors --out=d.pt
//
// then, in Python:
//
//   import torch, torch.nn as nn
//   model = nn.Sequential(...)  # the expression the tool printed
//   model.load_state_dict(torch.load("digits.pt"))
//   model.eval()
//
// Without --config, the config stored in the model file at training time is
// used. An existing --out is replaced only with --overwrite.

#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/config_loader.h"
#include "core/model_builder.h"
#include "core/model_io.h"
#include "core/status_macros.h"
#include "tools/export/pytorch_state_dict.h"
#include "tools/export/torch_zip.h"
#include "tools/model_conversion.h"
#include "tools/paths.h"
#include "tools/run_snapshots.h"
#include "tools/tool_main.h"

ABSL_FLAG(std::string, model, "", "saved model (.safetensors), as tools/train writes it; required");
ABSL_FLAG(std::string, config, "", "experiment config; empty = the one stored in the model");
ABSL_FLAG(std::string, out, "", "the PyTorch state_dict file to write (.pt); required");
ABSL_FLAG(bool, overwrite, false, "replace --out when it exists");

namespace mnemo {
namespace {

absl::Status Run() {
  MNEMO_ASSIGN_OR_RETURN(
      ModelConversion conversion,
      StartModelConversion(absl::GetFlag(FLAGS_model), absl::GetFlag(FLAGS_config),
                           absl::GetFlag(FLAGS_out), "a .pt file", absl::GetFlag(FLAGS_overwrite)));
  const std::string& model_path = conversion.model_path;
  const std::string& out_path = conversion.out_path;
  // Before anything is built or read: what PyTorch has no module for.
  MNEMO_RETURN_IF_ERROR(WithPrefix(CheckExportableToPyTorch(*conversion.config),
                                   absl::StrCat("cannot export ", model_path)));

  // The reference backend computes the same model from the same tensors as
  // any other (CheckModelMatchesFile lets the backend differ), and its layers
  // are the ones the export knows.
  config::Experiment& experiment = conversion.config->mutable_experiment();
  experiment.mutable_model()->set_backend("");
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Network> network,
                         BuildNetwork(*conversion.config, Registries::Global()));
  MNEMO_RETURN_IF_ERROR(LoadModel(model_path, *network));
  MNEMO_RETURN_IF_ERROR(CheckModelMatchesFile(experiment.model(), model_path));
  MNEMO_ASSIGN_OR_RETURN(config::DataNames names, ReadModelDataNames(model_path));

  absl::StatusOr<PyTorchSequential> exported = ExportToPyTorch(*network, *conversion.config);
  if (!exported.ok()) {
    return WithPrefix(exported.status(), absl::StrCat("cannot export ", model_path));
  }
  MNEMO_RETURN_IF_ERROR(WriteTorchStateDict(out_path, exported->state_dict));

  // The report is Python: comments, then the module's expression.
  int64_t values = 0;
  for (const TorchTensor& t : exported->state_dict) values += static_cast<int64_t>(t.values.size());
  absl::PrintF("# %s: the state_dict of the nn.Sequential below (%d tensors, %d values), from\n",
               out_path, exported->state_dict.size(), values);
  absl::PrintF("# %s. In Python, with torch.nn as nn:\n", model_path);
  absl::PrintF("#   model = <the expression below>\n");
  absl::PrintF("#   model.load_state_dict(torch.load(\"%s\")); model.eval()\n", out_path);
  if (names.feature_size() > 0) {
    absl::PrintF("# inputs: %d features, in this order: %s\n", names.feature_size(),
                 absl::StrJoin(names.feature(), ", "));
  }
  for (const std::string& note : exported->notes) absl::PrintF("# %s\n", note);
  if (names.class_label_size() > 0) {
    std::vector<std::string> classes;
    for (int i = 0; i < names.class_label_size(); ++i) {
      classes.push_back(absl::StrCat(i, " = ", names.class_label(i)));
    }
    absl::PrintF("# classes: %s\n", absl::StrJoin(classes, ", "));
  }
  absl::PrintF("%s\n", exported->Expression());
  return absl::OkStatus();
}

}  // namespace
}  // namespace mnemo

int main(int argc, char** argv) {
  return mnemo::RunTool(
      argc, argv, "export_pytorch",
      "Writes a saved model as a PyTorch state_dict (torch.save's format) and prints the\n"
      "nn.Sequential that loads it with load_state_dict.\n"
      "  bazel run //tools:export_pytorch -- --model=FILE --out=FILE.pt [--config=FILE] "
      "[--overwrite]",
      &mnemo::Run);
}
