#ifndef MNEMO_CORE_MODEL_IO_H_
#define MNEMO_CORE_MODEL_IO_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/network.h"

namespace mnemo {

// Metadata keys of a saved model.
inline constexpr char kModelFormatKey[] = "mnemo.format";
inline constexpr char kModelFormatVersion[] = "1";
inline constexpr char kModelConfigKey[] = "mnemo.config";  // the config's text

// Saves every layer's parameters as safetensors, tensor "<layer name>.<param>"
// (e.g. "0_dense.weight", fan_in x fan_out), with the experiment config's text
// in the metadata so the file describes its own model. Written atomically.
absl::Status SaveModel(const std::string& path, Network& network,
                       const std::string& config_text);

// Loads parameters saved by SaveModel into `network`, which must have been
// built from the same model config. Refuses (changing nothing) a file that is
// damaged, lacks a tensor the network has, has one it does not, or has a shape
// that differs, naming the tensor and both shapes.
absl::Status LoadModel(const std::string& path, Network& network);

// The config text stored in a saved model ("" when there is none).
absl::StatusOr<std::string> ReadModelConfigText(const std::string& path);

}  // namespace mnemo

#endif  // MNEMO_CORE_MODEL_IO_H_
