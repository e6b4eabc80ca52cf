#ifndef MNEMO_PLUGINS_ONEDNN_LAYER_SUPPORT_H_
#define MNEMO_PLUGINS_ONEDNN_LAYER_SUPPORT_H_

// What the plugin's layers share: their thread count, and what they do when
// oneDNN fails.

#include "absl/status/status.h"
#include "core/layer.h"
#include "core/registry.h"

namespace mnemo::onednn {

// The threads a layer computes with: its model's backend's (LayerArgs::backend),
// or one per core for a layer made on its own.
int LayerThreads(const LayerArgs& args);

// Layer::Forward and Backward cannot fail, so when oneDNN does (it should
// not: shapes are checked when the layer is made, and an unimplemented shape
// is the one thing left) the layer computes that pass with the Eigen
// reference instead. This counts it (Backend::counters() "fallbacks") and
// says so on stderr, once per layer: a silent fallback would hide a slow path.
void ReportFallback(const Layer& layer, const char* pass, const absl::Status& status,
                    bool* reported);

}  // namespace mnemo::onednn

#endif  // MNEMO_PLUGINS_ONEDNN_LAYER_SUPPORT_H_
