#ifndef MNEMO_TOOLS_QUANTIZATION_QUANTIZE_MODEL_H_
#define MNEMO_TOOLS_QUANTIZATION_QUANTIZE_MODEL_H_

#include "absl/status/statusor.h"
#include "core/config.pb.h"
#include "core/io/safetensors.h"
#include "core/network.h"
#include "core/tensor.h"

namespace mnemo {

// The plugin an INT8 or BF16 model computes on, as a config's `plugin:` line.
inline constexpr char kOneDnnPluginPath[] = "plugins/onednn/libonednn_plugin.so";

struct QuantizeOptions {
  // INT8 (int8 weights, one scale per output) or BF16 (bf16 weights).
  config::Model::Precision precision = config::Model::INT8;
  // INT8: how the dense layers' inputs are quantized (config.proto's
  // Quantization).
  config::Quantization::Activations activations = config::Quantization::DYNAMIC;
  // STATIC: the samples (rows) each dense layer's input scale is calibrated
  // on: its largest input magnitude over their forward passes / 127.
  const Tensor* calibration = nullptr;
  int batch_size = 256;

  // INT8 with STATIC activations: the case that needs `calibration`.
  bool static_activations() const {
    return precision == config::Model::INT8 && activations == config::Quantization::STATIC;
  }
};

// The model file of `network` (loaded, built in FP32 from `experiment`) in
// options.precision: every dense layer's weight as I8 with
// "<layer>.weight_scale" (and, STATIC, "<layer>.input_scale"), or as BF16;
// every other tensor as it is (F32). Its config is `experiment` with
// model.precision, model.quantization, backend "onednn" and that plugin's
// line, so that Predictor::Load, tools/eval and tools/serve build the model
// from the file alone. `names`: the data's names, kept.
absl::StatusOr<TensorFile> QuantizeModel(Network& network, config::Experiment experiment,
                                         const config::DataNames& names,
                                         const QuantizeOptions& options);

}  // namespace mnemo

#endif  // MNEMO_TOOLS_QUANTIZATION_QUANTIZE_MODEL_H_
