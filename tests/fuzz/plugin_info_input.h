#ifndef MNEMO_TESTS_FUZZ_PLUGIN_INFO_INPUT_H_
#define MNEMO_TESTS_FUZZ_PLUGIN_INFO_INPUT_H_

// The plugin handshake on bytes: what a foreign or broken plugin could put in
// its MnemoPluginInfo (core/plugin_api.h), handed to the real PluginLoader
// through one fixed plugin, libfuzz_info_plugin.so, whose entry point returns
// the info decoded from the bytes. No other library is ever dlopen'ed.
//
// The bytes (a layout of the fuzzer's own: a plugin's info lives in its
// memory, not in a file), zero-padded when shorter:
//   0-3, 4-7, 8-11  struct_size, abi_major, abi_minor (uint32, little-endian)
//   12              flags, the bits of PluginInfoFlag
//   13-             strings separated by NUL bytes: the build fingerprint
//                   (absent with kHostFingerprint), the plugin's name, then
//                   what register_types does, one string each: a kind letter
//                   and a name, "L" layer, "C" cache strategy, "M" memory
//                   module, "B" backend, "F" a call to Fail with the message.
// The struct itself is always whole in memory: a struct_size below the real
// size only claims to be short, as a plugin built against an older header
// would.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/plugin_api.h"
#include "core/plugin_loader.h"
#include "core/registry.h"

namespace mnemo::fuzz {

enum PluginInfoFlag : uint8_t {
  kEntryReturnsNull = 1 << 0,  // mnemo_plugin_info() returns null
  kNoFingerprint = 1 << 1,     // build_fingerprint is null
  kNoName = 1 << 2,            // name is null
  kNoRegisterTypes = 1 << 3,   // register_types is null
  kHostFingerprint = 1 << 4,   // build_fingerprint is this host's MNEMO_BUILD_FINGERPRINT
};

struct PluginInfoInput {
  uint32_t struct_size = 0;
  uint32_t abi_major = 0;
  uint32_t abi_minor = 0;
  uint8_t flags = 0;
  std::string fingerprint;
  std::string name;
  std::vector<std::string> registrations;  // kind letter + name
};

PluginInfoInput DecodePluginInfo(absl::string_view bytes);

// The path of libfuzz_info_plugin.so, found in the runfiles as a config's
// plugin would be; dlopens it once to reach its setter. Aborts when missing.
const std::string& FuzzInfoPluginPath();

// Adds core's built-in types to `registries`, as the global registries have
// them when a plugin loads, so that a plugin's type can clash with core's.
void AddBuiltinTypes(Registries& registries);

// Loads libfuzz_info_plugin.so with a new PluginLoader into `registries`,
// its entry point returning the info `input` describes.
absl::StatusOr<LoadedPlugin> LoadWithInfo(const PluginInfoInput& input, Registries& registries);

}  // namespace mnemo::fuzz

#endif  // MNEMO_TESTS_FUZZ_PLUGIN_INFO_INPUT_H_
