#ifndef MNEMO_CORE_MODEL_BUILDER_H_
#define MNEMO_CORE_MODEL_BUILDER_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config_loader.h"
#include "core/network.h"
#include "core/registry.h"

namespace mnemo {

// Builds the network an experiment describes: its layers (an `activation` on
// a layer appends that activation layer; `trainable: false` freezes) from the
// registries, each initialised from the run's seed, and its cache strategy.
// Every problem is reported together, each with its file:line:column.
//
// Names: a layer without `name` is "<index>_<type in lower case>" ("0_dense"),
// its activation "<index>_<activation in lower case>" ("0_relu").
//
// Backends: `model.backend` names a registered Backend (core/backend.h; ""
// means "eigen", the reference), created with `model.threads`; the network
// carries it. The reference backend uses the layer types as written. With any
// other backend B each layer uses the type "B/<Type>" (e.g. "onednn/Dense")
// when B registered one and the reference "<Type>" otherwise, so a backend
// plugin need only provide the layers it accelerates. An unknown backend is
// an error listing the known ones.
//
// Inference: from a config loaded with ConfigUse::kInference the layers are
// made with LayerArgs::inference, and so without gradients (core's Dense
// leaves them empty): such a network runs Forward only and is never trained.
//
// Sizes: every count of the model is held to its schema's range
// (core/field_range.h), the layers to kMaxLayers, and the parameters of the
// layers that choose their width (about (inputs + 1) x units each) to the
// memory the process may use, before anything is allocated.
inline constexpr int kMaxLayers = 4096;

absl::StatusOr<std::unique_ptr<Network>> BuildNetwork(const LoadedConfig& config,
                                                      const Registries& registries);

}  // namespace mnemo

#endif  // MNEMO_CORE_MODEL_BUILDER_H_
