#include "tests/fuzz/plugin_info_input.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>

#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/fuzz/fuzz_support.h"

namespace mnemo::fuzz {
namespace {

constexpr size_t kFixedBytes = 13;

uint32_t ReadLittleEndian32(absl::string_view bytes, size_t offset) {
  uint32_t n = 0;
  for (size_t i = 0; i < 4; ++i) n |= uint32_t{static_cast<uint8_t>(bytes[offset + i])} << (8 * i);
  return n;
}

// The input of the load in progress: register_types is a plain C function
// pointer, so it reaches the registrations through this.
const PluginInfoInput* current_input = nullptr;

absl::StatusOr<std::unique_ptr<Layer>> NoLayer(const LayerArgs&) {
  return absl::UnimplementedError("a fuzz plugin's layer");
}
absl::StatusOr<std::unique_ptr<CacheStrategy>> NoStrategy(const CacheStrategyArgs&) {
  return absl::UnimplementedError("a fuzz plugin's cache strategy");
}
absl::StatusOr<std::unique_ptr<MemoryModule>> NoModule(const MemoryModuleArgs&) {
  return absl::UnimplementedError("a fuzz plugin's memory module");
}
absl::StatusOr<std::unique_ptr<Backend>> NoBackend(const BackendArgs&) {
  return absl::UnimplementedError("a fuzz plugin's backend");
}

void RegisterTypes(void* opaque) {
  auto& registrar = *static_cast<PluginRegistrar*>(opaque);
  for (const std::string& registration : current_input->registrations) {
    if (registration.empty()) continue;
    std::string name = registration.substr(1);
    switch (registration[0]) {
      case 'L':
        registrar.AddLayer(std::move(name), &NoLayer);
        break;
      case 'C':
        registrar.AddCacheStrategy(std::move(name), &NoStrategy);
        break;
      case 'M':
        registrar.AddMemoryModule(std::move(name), &NoModule);
        break;
      case 'B':
        registrar.AddBackend(std::move(name), &NoBackend);
        break;
      case 'F':
        registrar.Fail(std::move(name));
        break;
      default:
        break;
    }
  }
}

using SetInfo = void (*)(const MnemoPluginInfo*);

struct FuzzPlugin {
  std::string path;
  SetInfo set_info = nullptr;
};

const FuzzPlugin& ThePlugin() {
  static const FuzzPlugin* const plugin = [] {
    absl::StatusOr<std::string> found =
        PluginLoader::Resolve("tests/fuzz/libfuzz_info_plugin.so", ".");
    if (!found.ok()) Fail(found.status().ToString());
    char canonical[PATH_MAX];
    if (realpath(found->c_str(), canonical) == nullptr) Fail(absl::StrCat("realpath ", *found));
    // The loader's own dlopen of this path returns this same handle.
    void* handle = dlopen(canonical, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) Fail(dlerror());
    auto set_info = reinterpret_cast<SetInfo>(dlsym(handle, "mnemo_fuzz_set_plugin_info"));
    if (set_info == nullptr) Fail(absl::StrCat(canonical, " has no mnemo_fuzz_set_plugin_info"));
    return new FuzzPlugin{canonical, set_info};
  }();
  return *plugin;
}

}  // namespace

PluginInfoInput DecodePluginInfo(absl::string_view bytes) {
  std::string fixed(bytes.substr(0, kFixedBytes));
  fixed.resize(kFixedBytes, '\0');
  PluginInfoInput input;
  input.struct_size = ReadLittleEndian32(fixed, 0);
  input.abi_major = ReadLittleEndian32(fixed, 4);
  input.abi_minor = ReadLittleEndian32(fixed, 8);
  input.flags = static_cast<uint8_t>(fixed[12]);
  std::vector<std::string> strings;
  if (bytes.size() > kFixedBytes) {
    strings = absl::StrSplit(bytes.substr(kFixedBytes), absl::ByChar('\0'));
  }
  size_t next = 0;
  if (!(input.flags & kHostFingerprint) && next < strings.size()) {
    input.fingerprint = strings[next++];
  }
  if (next < strings.size()) input.name = strings[next++];
  input.registrations.assign(strings.begin() + static_cast<std::ptrdiff_t>(next), strings.end());
  return input;
}

void AddBuiltinTypes(Registries& registries) {
  PluginRegistrar builtins("libmnemo_core.so (built-in types)");
  RegisterBuiltins(builtins);
  if (absl::Status s = builtins.CommitTo(registries); !s.ok()) Fail(s.ToString());
}

const std::string& FuzzInfoPluginPath() { return ThePlugin().path; }

absl::StatusOr<LoadedPlugin> LoadWithInfo(const PluginInfoInput& input, Registries& registries) {
  MnemoPluginInfo info;
  info.struct_size = input.struct_size;
  info.abi_major = input.abi_major;
  info.abi_minor = input.abi_minor;
  info.build_fingerprint = (input.flags & kNoFingerprint)     ? nullptr
                           : (input.flags & kHostFingerprint) ? MNEMO_BUILD_FINGERPRINT
                                                              : input.fingerprint.c_str();
  info.name = (input.flags & kNoName) ? nullptr : input.name.c_str();
  info.register_types = (input.flags & kNoRegisterTypes) ? nullptr : &RegisterTypes;

  const FuzzPlugin& plugin = ThePlugin();
  plugin.set_info((input.flags & kEntryReturnsNull) ? nullptr : &info);
  current_input = &input;
  PluginLoader loader(registries);
  absl::StatusOr<LoadedPlugin> loaded = loader.Load(plugin.path);
  plugin.set_info(nullptr);  // `info` dies here
  current_input = nullptr;
  return loaded;
}

}  // namespace mnemo::fuzz
