// A plugin from a future mnemo: its ABI major version is one ahead. Written
// by hand, as MNEMO_PLUGIN always states the current version.

#include "core/plugin_api.h"
#include "core/registry.h"
#include "tests/plugins/test_layers.h"

namespace {

void Register(void* registrar) {
  static_cast<mnemo::PluginRegistrar*>(registrar)->AddLayer(
      "BadAbiLayer", mnemo::testing::PassThroughFactory("BadAbiLayer"));
}

}  // namespace

extern "C" __attribute__((visibility("default"))) const MnemoPluginInfo* mnemo_plugin_info() {
  static const MnemoPluginInfo info = {
      sizeof(MnemoPluginInfo), MNEMO_PLUGIN_ABI_MAJOR + 1, 0, MNEMO_BUILD_FINGERPRINT,
      "bad_abi_plugin", &Register};
  return &info;
}
