#ifndef MNEMO_TOOLS_MODEL_CONVERSION_H_
#define MNEMO_TOOLS_MODEL_CONVERSION_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/config_loader.h"

namespace mnemo {

// What a tool that reads a saved model and writes it as another file
// (tools/export_pytorch, tools/quantize) starts from.
struct ModelConversion {
  std::string model_path;  // found where the user ran the tool, or in the runfiles
  std::string out_path;    // where the user said
  // The model's config for inference: --config, or the one the file stores.
  std::unique_ptr<LoadedConfig> config;
};

// Checks the flags and loads the config. Refused, naming the flag: --model or
// --out missing (`out_kind` says what --out is: "a .pt file"), --out naming
// the model file itself, and --out existing without `overwrite`: nothing a
// user finished is replaced unasked. `config_flag` "" uses the config stored
// in the model.
absl::StatusOr<ModelConversion> StartModelConversion(const std::string& model_flag,
                                                     const std::string& config_flag,
                                                     const std::string& out_flag,
                                                     const std::string& out_kind, bool overwrite);

}  // namespace mnemo

#endif  // MNEMO_TOOLS_MODEL_CONVERSION_H_
