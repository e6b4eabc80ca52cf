#include "tools/model_conversion.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "tools/paths.h"
#include "tools/run_snapshots.h"

namespace mnemo {

absl::StatusOr<ModelConversion> StartModelConversion(const std::string& model_flag,
                                                     const std::string& config_flag,
                                                     const std::string& out_flag,
                                                     const std::string& out_kind, bool overwrite) {
  if (model_flag.empty()) return absl::InvalidArgumentError("--model is required");
  if (out_flag.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--out is required (", out_kind, ")"));
  }
  ModelConversion conversion;
  MNEMO_ASSIGN_OR_RETURN(conversion.model_path, FindInputFile(model_flag));
  conversion.out_path = UserPath(out_flag);
  if (SameFile(conversion.model_path, conversion.out_path)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--out=", conversion.out_path, " is the model file itself: give another --out"));
  }
  if (FileExists(conversion.out_path) && !overwrite) {
    return absl::FailedPreconditionError(
        absl::StrCat("--out=", conversion.out_path,
                     " exists: give another --out, or --overwrite to replace it"));
  }
  std::string config_path;
  if (!config_flag.empty()) {
    MNEMO_ASSIGN_OR_RETURN(config_path, FindInputFile(config_flag));
  }
  ConfigLoader loader(Registries::Global(), ConfigUse::kInference);
  MNEMO_ASSIGN_OR_RETURN(conversion.config,
                         loader.LoadForModel(config_path, conversion.model_path));
  return conversion;
}

}  // namespace mnemo
