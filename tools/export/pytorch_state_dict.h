#ifndef MNEMO_TOOLS_EXPORT_PYTORCH_STATE_DICT_H_
#define MNEMO_TOOLS_EXPORT_PYTORCH_STATE_DICT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/config_loader.h"
#include "core/network.h"
#include "tools/export/torch_zip.h"

namespace mnemo {

// A network as a PyTorch nn.Sequential built in the order of its layers (the
// config's, each `activation` a module of its own), one module per layer:
//   Dense              nn.Linear(in, out): "<i>.weight" [out, in] (mnemo's
//                      fan_in x fan_out transposed), "<i>.bias" [out]
//   ReLU/Sigmoid/Tanh  nn.ReLU() / nn.Sigmoid() / nn.Tanh(), no tensors
//   Dropout            nn.Dropout(p=rate), no tensors (the identity in eval())
//   Standardize,       nn.Linear(n, n) holding the fitted affine map
//   MinMaxScale        (x - shift) * scale: weight diag(scale), bias
//                      -shift * scale (the same up to float rounding)
//   LayerNorm          nn.LayerNorm(n, eps): "<i>.weight" gamma, "<i>.bias" beta
//   BatchNorm          nn.BatchNorm1d(n, eps, momentum): "<i>.weight" gamma,
//                      "<i>.bias" beta, "<i>.running_mean", "<i>.running_var"
//                      (not num_batches_tracked: load_state_dict fills it in)
// so that nn.Sequential(<modules>).load_state_dict(state_dict) takes the
// tensors as they are (strict).
struct PyTorchSequential {
  std::vector<TorchTensor> state_dict;  // in module order
  std::vector<std::string> modules;     // "nn.Linear(784, 128)", "nn.ReLU()", ...
  // What is not one for one, and what the output means, as comment lines
  // (without the "# ").
  std::vector<std::string> notes;

  // "nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))".
  std::string Expression() const;
};

// The layer types ExportToPyTorch expresses (core's own).
const std::vector<std::string>& PyTorchExportableLayerTypes();

// Refuses, from the config alone and before a model is built, what the
// export cannot express: a memory module (a dual-path model is not a
// sequential network), and any layer or activation of another type (a
// plugin's), each problem as "config:line:column: message" naming the layer.
absl::Status CheckExportableToPyTorch(const LoadedConfig& config);

// The network (built from `config` on the reference backend, weights loaded)
// as a PyTorch nn.Sequential and its state_dict. Refuses, naming the layer
// and its config line, a layer that is not one of core's.
absl::StatusOr<PyTorchSequential> ExportToPyTorch(Network& network, const LoadedConfig& config);

}  // namespace mnemo

#endif  // MNEMO_TOOLS_EXPORT_PYTORCH_STATE_DICT_H_
