// A plugin built with another toolchain: same ABI version, different build
// fingerprint. Written by hand, as MNEMO_PLUGIN always states this build's.

#include "core/plugin_api.h"
#include "core/registry.h"
#include "tests/plugins/test_layers.h"

namespace {

void Register(void* registrar) {
  static_cast<mnemo::PluginRegistrar*>(registrar)->AddLayer(
      "BadFingerprintLayer", mnemo::testing::PassThroughFactory("BadFingerprintLayer"));
}

}  // namespace

extern "C" __attribute__((visibility("default"))) const MnemoPluginInfo* mnemo_plugin_info() {
  static const MnemoPluginInfo info = {
      sizeof(MnemoPluginInfo), MNEMO_PLUGIN_ABI_MAJOR, MNEMO_PLUGIN_ABI_MINOR,
      "gcc 4.8.5; cxx11-abi 0; protobuf 3005000; eigen 3.3.4; abseil 20180600",
      "bad_fingerprint_plugin", &Register};
  return &info;
}
