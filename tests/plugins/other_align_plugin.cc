// A plugin like any other, but built with -DEIGEN_MAX_ALIGN_BYTES=16 (BUILD)
// while core pins 64: its Tensors would be freed with another alignment than
// core allocates them with. The handshake refuses it, both fingerprints named.
#include "core/plugin_api.h"
#include "core/registry.h"
#include "tests/plugins/test_layers.h"

static_assert(EIGEN_MAX_ALIGN_BYTES == 16, "the plugin needs its own alignment");

MNEMO_PLUGIN("other_align_plugin", [](mnemo::PluginRegistrar& registrar) {
  registrar.AddLayer("OtherAlignLayer", mnemo::testing::PassThroughFactory("OtherAlignLayer"));
});
