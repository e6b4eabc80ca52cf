// A plugin from an older mnemo: its ABI major version is one behind, and its
// info struct is the size the current one has (an older host's layout is
// not read beyond the handshake). Written by hand, as MNEMO_PLUGIN always
// states the current version.

#include "core/plugin_api.h"
#include "core/registry.h"
#include "tests/plugins/test_layers.h"

namespace {

void Register(void* registrar) {
  static_cast<mnemo::PluginRegistrar*>(registrar)->AddLayer(
      "OldAbiLayer", mnemo::testing::PassThroughFactory("OldAbiLayer"));
}

}  // namespace

extern "C" __attribute__((visibility("default"))) const MnemoPluginInfo* mnemo_plugin_info() {
  static_assert(MNEMO_PLUGIN_ABI_MAJOR >= 1, "no ABI before 0");
  static const MnemoPluginInfo info = {
      sizeof(MnemoPluginInfo), MNEMO_PLUGIN_ABI_MAJOR - 1, 7,
      MNEMO_BUILD_FINGERPRINT, "old_abi_plugin",           &Register};
  return &info;
}
