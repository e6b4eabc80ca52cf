// The one library plugin_info_fuzzer loads: its entry point returns whatever
// info the fuzzer set last (tests/fuzz/plugin_info_input.h), so the real
// loader's dlsym and handshake run on fuzzed bytes without dlopen'ing them.

#include "core/plugin_api.h"

namespace {
const MnemoPluginInfo* info = nullptr;
}  // namespace

extern "C" __attribute__((visibility("default"))) void mnemo_fuzz_set_plugin_info(
    const MnemoPluginInfo* new_info) {
  info = new_info;
}

extern "C" __attribute__((visibility("default"))) const MnemoPluginInfo* mnemo_plugin_info() {
  return info;
}
