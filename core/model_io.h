#ifndef MNEMO_CORE_MODEL_IO_H_
#define MNEMO_CORE_MODEL_IO_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/config.pb.h"
#include "core/network.h"

namespace mnemo {

// Metadata keys of a saved model.
inline constexpr char kModelFormatKey[] = "mnemo.format";
inline constexpr char kModelFormatVersion[] = "1";
inline constexpr char kModelConfigKey[] = "mnemo.config";  // the config's text
// What the data calls the model's inputs and outputs (config::DataNames as
// text); absent when the data named nothing (IDX, CIFAR-10).
inline constexpr char kModelDataKey[] = "mnemo.data";

// The metadata of a model file: the format's version, the config's text and,
// when there are any, the data's names (kModelDataKey). SaveModel's, and a
// tool's that writes a model file of its own making (tools/quantize).
std::map<std::string, std::string> ModelMetadata(const std::string& config_text,
                                                 const config::DataNames& names);

// Saves every layer's parameters and buffers (Layer::buffers; int8 ones,
// Layer::int8_buffers, as I8 tensors) as safetensors,
// tensor "<layer name>.<param>" (e.g. "0_dense.weight", fan_in x fan_out;
// "1_batchnorm.running_mean"), with the experiment config's text
// in the metadata so the file describes its own model, and the data's names
// (kModelDataKey) when there are any. Written atomically.
absl::Status SaveModel(const std::string& path, Network& network, const std::string& config_text,
                       const config::DataNames& names = {});

// Loads parameters and buffers saved by SaveModel into `network`, which must have been
// built from the same model config. Reads the file's header first and
// refuses (changing nothing) a file that is damaged, lacks a tensor the
// network has, has one it does not, or has a shape that differs, naming the
// tensor and both shapes, or holds it in another type (an int8 tensor as I8,
// a float one as F32 or BF16, which is widened exactly: tools/quantize's bf16
// files). Only then reads each tensor's data straight into
// its parameter, so loading costs no memory beyond the network's own.
//
// The failures after the checks are an I/O error while reading the data
// (a disk error, the file truncated meanwhile): the parameters read before
// it are loaded, the others not; and a NaN or infinite value in a tensor,
// refused (DataLoss) naming the tensor and the element once all are read.
// Both errors say to discard the network.
absl::Status LoadModel(const std::string& path, Network& network);

// SaveModel for a model whose layers are spread over several networks (a
// backbone and its head; layer names unique across them), with tensors that
// belong to no layer beside them, written under their own names (a memory's
// contents, "memory.keys", ...). One file, written atomically.
absl::Status SaveModel(const std::string& path, const std::vector<Network*>& networks,
                       const std::string& config_text,
                       const std::map<std::string, Tensor>& extra_tensors,
                       const config::DataNames& names = {});

// LoadModel for several networks: the tensors whose names start with
// `extra_prefix` belong to no layer and are returned (names as saved); every
// other tensor must match the networks' parameters as LoadModel requires.
// Changes nothing when the checks refuse; an I/O error in the data leaves the
// networks partly loaded, as LoadModel says.
absl::StatusOr<std::map<std::string, Tensor>> LoadModel(const std::string& path,
                                                        const std::vector<Network*>& networks,
                                                        const std::string& extra_prefix);

// The config text stored in a saved model ("" when there is none). Reads only
// the file's header (checked as LoadModel checks it).
absl::StatusOr<std::string> ReadModelConfigText(const std::string& path);

// Whether `given`, a model section of a config given beside the model file
// at `model_path`, describes the model the file stores (its stored config's):
// FailedPrecondition quoting the lines that differ otherwise. model.backend
// and model.threads may differ (they compute the same model), and so may
// model.precision between FP32 and BF16 (the same tensors); a file with no
// stored config matches anything.
absl::Status CheckModelMatchesFile(const config::Model& given, const std::string& model_path);

// The data's names stored in a saved model (empty when there are none), from
// the file's header; an error names the file when they do not parse.
absl::StatusOr<config::DataNames> ReadModelDataNames(const std::string& path);

}  // namespace mnemo

#endif  // MNEMO_CORE_MODEL_IO_H_
