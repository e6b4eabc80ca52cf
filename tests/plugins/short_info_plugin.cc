// A plugin whose info struct is too short to hold the fields the host reads.

#include <cstdint>

#include "core/plugin_api.h"

extern "C" __attribute__((visibility("default"))) const MnemoPluginInfo* mnemo_plugin_info() {
  // Only struct_size and the versions are meaningful; the host must not read on.
  static const MnemoPluginInfo info = {3 * sizeof(uint32_t), MNEMO_PLUGIN_ABI_MAJOR,
                                       MNEMO_PLUGIN_ABI_MINOR, nullptr, nullptr, nullptr};
  return &info;
}
