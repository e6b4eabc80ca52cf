// Writes a trained model as an INT8 (or BF16) model file: each dense layer's
// weights as int8 with one scale per output (or as bf16), the inputs of
// those layers quantized per sample at run time (dynamic) or by scales
// calibrated here on training samples (static). The file carries its config
// (model.precision, model.quantization, backend "onednn"), so Predictor,
// tools/eval and tools/serve take it as they take any model:
//
//   ./bazelw run //tools:quantize -- --model=out/fashion_mlp/model.safetensors
//       --out=out/fashion_mlp/model_int8.safetensors [--activations=static]
//   ./bazelw run //tools:eval -- --model=out/fashion_mlp/model_int8.safetensors
//
// Serving an INT8 model needs AVX512-VNNI (a BF16 one AVX512-BF16): elsewhere
// it is refused when loaded, naming what is missing. An existing --out is
// replaced only with --overwrite.

#include <sys/stat.h>

#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/io/safetensors.h"
#include "core/model_builder.h"
#include "core/model_io.h"
#include "core/status_macros.h"
#include "tools/data/readers.h"
#include "tools/model_conversion.h"
#include "tools/paths.h"
#include "tools/quantization/quantize_model.h"
#include "tools/tool_main.h"

ABSL_FLAG(std::string, model, "", "trained model (.safetensors), FP32 or BF16; required");
ABSL_FLAG(std::string, config, "", "experiment config; empty = the one stored in the model");
ABSL_FLAG(std::string, out, "", "the quantized model file to write (.safetensors); required");
ABSL_FLAG(bool, overwrite, false, "replace --out when it exists");
ABSL_FLAG(std::string, precision, "int8", "int8 or bf16 (the weights' type)");
ABSL_FLAG(std::string, activations, "dynamic",
          "int8: dynamic (each sample's inputs scaled by their own largest magnitude) or "
          "static (one scale per layer, calibrated on --calibration_samples training samples)");
ABSL_FLAG(int, calibration_samples, 1000,
          "static: training samples the scales are calibrated on, spread evenly over the set");
ABSL_FLAG(std::string, data_dir, "", "static: data directory; empty = as the config says");

namespace mnemo {
namespace {

absl::StatusOr<QuantizeOptions> OptionsFromFlags() {
  QuantizeOptions options;
  const std::string precision = absl::GetFlag(FLAGS_precision);
  if (precision == "int8") {
    options.precision = config::Model::INT8;
  } else if (precision == "bf16") {
    options.precision = config::Model::BF16;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--precision must be int8 or bf16, not \"", precision, "\""));
  }
  const std::string activations = absl::GetFlag(FLAGS_activations);
  if (activations == "dynamic") {
    options.activations = config::Quantization::DYNAMIC;
  } else if (activations == "static") {
    options.activations = config::Quantization::STATIC;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--activations must be dynamic or static, not \"", activations, "\""));
  }
  if (absl::GetFlag(FLAGS_calibration_samples) <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("--calibration_samples must be > 0, not ",
                                                   absl::GetFlag(FLAGS_calibration_samples)));
  }
  return options;
}

// --calibration_samples rows of the training set, spread evenly over it (a
// file sorted by class still gives every class).
absl::StatusOr<Tensor> CalibrationSamples(config::Experiment experiment) {
  if (const std::string dir = absl::GetFlag(FLAGS_data_dir); !dir.empty()) {
    experiment.mutable_data()->set_dir(UserPath(dir));
  }
  MNEMO_ASSIGN_OR_RETURN(TrainTestData data, LoadData(experiment));
  const int available = static_cast<int>(data.train.size());
  const int count = std::min(absl::GetFlag(FLAGS_calibration_samples), available);
  if (count == 0) return absl::InvalidArgumentError("the training set is empty");
  std::vector<int32_t> rows(count);
  for (int i = 0; i < count; ++i) {
    rows[i] = static_cast<int32_t>(static_cast<int64_t>(i) * available / count);
  }
  Tensor samples;
  GatherRows(data.train, rows.data(), count, &samples);
  return samples;
}

absl::Status Run() {
  MNEMO_ASSIGN_OR_RETURN(QuantizeOptions options, OptionsFromFlags());
  MNEMO_ASSIGN_OR_RETURN(ModelConversion conversion,
                         StartModelConversion(absl::GetFlag(FLAGS_model),
                                              absl::GetFlag(FLAGS_config), absl::GetFlag(FLAGS_out),
                                              "a .safetensors", absl::GetFlag(FLAGS_overwrite)));
  const std::string& model_path = conversion.model_path;
  const std::string& out_path = conversion.out_path;
  config::Experiment& experiment = conversion.config->mutable_experiment();
  if (experiment.model().precision() == config::Model::INT8) {
    return absl::InvalidArgumentError(
        absl::StrCat(model_path, " is an INT8 model already: quantize the model it was made from"));
  }
  if (experiment.has_memory_module()) {
    return absl::InvalidArgumentError(absl::StrCat(
        model_path, " has a memory module: tools/quantize takes models of layers alone"));
  }
  // The fp32 weights (a BF16 model's master copy), computed in FP32 for the
  // calibration: the file is the same either way.
  const config::Experiment original = experiment;
  experiment.mutable_model()->set_precision(config::Model::FP32);
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Network> network,
                         BuildNetwork(*conversion.config, Registries::Global()));
  MNEMO_RETURN_IF_ERROR(LoadModel(model_path, *network));
  MNEMO_RETURN_IF_ERROR(CheckModelMatchesFile(experiment.model(), model_path));
  MNEMO_ASSIGN_OR_RETURN(config::DataNames names, ReadModelDataNames(model_path));

  Tensor calibration;
  if (options.static_activations()) {
    MNEMO_ASSIGN_OR_RETURN(calibration, CalibrationSamples(original));
    options.calibration = &calibration;
  }
  config::Experiment written = original;
  written.mutable_model()->clear_threads();
  MNEMO_ASSIGN_OR_RETURN(TensorFile file, QuantizeModel(*network, written, names, options));
  MNEMO_RETURN_IF_ERROR(WriteSafetensors(out_path, file));

  struct stat in_stat, out_stat;
  const bool sized = stat(model_path.c_str(), &in_stat) == 0 && stat(out_path.c_str(), &out_stat) == 0;
  absl::PrintF("model       %s\n", model_path);
  absl::PrintF("quantized   %s (%s%s)\n", out_path, absl::GetFlag(FLAGS_precision),
               options.precision == config::Model::INT8
                   ? absl::StrCat(", ", absl::GetFlag(FLAGS_activations), " activations",
                                  options.calibration != nullptr
                                      ? absl::StrCat(" calibrated on ", calibration.rows(),
                                                     " training samples")
                                      : "")
                   : "");
  if (sized) {
    absl::PrintF("file size   %d bytes (was %d)\n", static_cast<int64_t>(out_stat.st_size),
                 static_cast<int64_t>(in_stat.st_size));
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace mnemo

int main(int argc, char** argv) {
  return mnemo::RunTool(
      argc, argv, "quantize",
      "Writes a trained model as an INT8 (or BF16) model file that Predictor, tools/eval and\n"
      "tools/serve load.\n"
      "  bazel run //tools:quantize -- --model=FILE --out=FILE [--precision=int8|bf16]\n"
      "      [--activations=dynamic|static] [--calibration_samples=N] [--overwrite]",
      &mnemo::Run);
}
