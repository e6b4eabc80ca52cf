#include "tools/quantization/quantize_model.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/model_io.h"
#include "core/status_macros.h"
#include "google/protobuf/text_format.h"
#include "tools/quantization/calibration.h"
#include "tools/quantization/weights.h"

namespace mnemo {
namespace {

// The experiment as the quantized file describes it.
void SetPrecision(const QuantizeOptions& options, int calibration_samples,
                  config::Experiment* experiment) {
  config::Model& model = *experiment->mutable_model();
  model.set_precision(options.precision);
  model.clear_quantization();
  if (options.precision == config::Model::INT8) {
    model.mutable_quantization()->set_activations(options.activations);
    if (calibration_samples > 0) {
      model.mutable_quantization()->set_calibration_samples(calibration_samples);
    }
  }
  model.set_backend("onednn");
  for (const std::string& plugin : experiment->plugin()) {
    if (absl::EndsWith(plugin, "libonednn_plugin.so")) return;
  }
  experiment->add_plugin(kOneDnnPluginPath);
}

}  // namespace

absl::StatusOr<TensorFile> QuantizeModel(Network& network, config::Experiment experiment,
                                         const config::DataNames& names,
                                         const QuantizeOptions& options) {
  if (options.precision != config::Model::INT8 && options.precision != config::Model::BF16) {
    return absl::InvalidArgumentError(
        absl::StrCat("a model is quantized to INT8 or BF16, not ",
                     config::Model::Precision_Name(options.precision)));
  }
  const bool calibrate = options.static_activations();
  std::vector<float> largest;
  if (calibrate) {
    if (options.calibration == nullptr || options.calibration->rows() == 0) {
      return absl::InvalidArgumentError("static activation scales need calibration samples");
    }
    MNEMO_ASSIGN_OR_RETURN(largest,
                           LargestDenseInputs(network, *options.calibration, options.batch_size));
  }

  TensorFile file;
  for (int i = 0; i < network.num_layers(); ++i) {
    Layer& layer = network.layer(i);
    if (!layer.int8_buffers().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("layer \"", layer.name(), "\" is already int8: quantize an FP32 model"));
    }
    const bool dense = IsDenseLayer(layer);
    std::vector<Parameter> tensors = layer.parameters();
    for (const Parameter& b : layer.buffers()) tensors.push_back(b);
    for (const Parameter& p : tensors) {
      const std::string name = absl::StrCat(layer.name(), ".", p.name);
      if (!dense || p.name != "weight") {
        file.tensors.emplace(name, *p.value);
      } else if (options.precision == config::Model::BF16) {
        file.narrow_tensors.emplace(name, ToBf16Tensor(*p.value));
      } else {
        Int8Columns q = QuantizeColumns(*p.value);
        file.narrow_tensors.emplace(name, ToI8Tensor(q.values));
        file.tensors.emplace(absl::StrCat(layer.name(), ".weight_scale"), std::move(q.scales));
        if (calibrate) {
          // Inputs all zero in calibration: any scale quantizes them exactly.
          const float scale = largest[i] > 0 ? largest[i] / 127.0f : 1.0f / 127.0f;
          file.tensors.emplace(absl::StrCat(layer.name(), ".input_scale"),
                               Tensor::Constant(1, 1, scale));
        }
      }
    }
  }

  SetPrecision(options, calibrate ? static_cast<int>(options.calibration->rows()) : 0,
               &experiment);
  std::string config_text;
  google::protobuf::TextFormat::PrintToString(experiment, &config_text);
  file.metadata = ModelMetadata(config_text, names);
  return file;
}

}  // namespace mnemo
