// Fuzzes the plugin handshake and registration of PluginLoader::Load
// (core/plugin_loader.h) with the info a plugin hands over, decoded from the
// input as plugin_info_input.h describes. Beyond not crashing, the loader
// keeps two promises checked here: a refusal names the library, and a
// plugin's registrations are committed all together or not at all. The same
// bytes go through EmbeddedProtoFiles, the loader's scan of a library file.

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/plugin_loader.h"
#include "core/registry.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/fuzz/plugin_info_input.h"

namespace mnemo::fuzz {
namespace {

// Every registered name, as "<kind> <name>".
std::set<std::string> Names(const Registries& registries) {
  std::set<std::string> names;
  for (const std::string& n : registries.layers.Names()) names.insert("L" + n);
  for (const std::string& n : registries.cache_strategies.Names()) names.insert("C" + n);
  for (const std::string& n : registries.memory_modules.Names()) names.insert("M" + n);
  for (const std::string& n : registries.backends.Names()) names.insert("B" + n);
  return names;
}

void TestOneInput(absl::string_view bytes) {
  // The loader's scan of a library's bytes for embedded .proto names, on the
  // same bytes: every name it finds ends ".proto" and is in them.
  for (const std::string& name : EmbeddedProtoFiles(bytes)) {
    if (!absl::EndsWith(name, ".proto") || !absl::StrContains(bytes, name)) {
      Fail(absl::StrCat("EmbeddedProtoFiles found \"", name,
                        "\", which is not a .proto name "
                        "in the bytes"));
    }
  }
  const PluginInfoInput input = DecodePluginInfo(bytes);
  Registries registries;
  AddBuiltinTypes(registries);
  const std::set<std::string> before = Names(registries);

  const absl::StatusOr<LoadedPlugin> loaded = LoadWithInfo(input, registries);
  const std::set<std::string> after = Names(registries);
  const std::string& path = FuzzInfoPluginPath();
  if (!loaded.ok()) {
    if (!absl::StrContains(loaded.status().message(), path)) {
      Fail(absl::StrCat("the refusal does not name the library: ", loaded.status().ToString()));
    }
    if (after != before) Fail("a refused plugin registered types");
    return;
  }
  std::set<std::string> added;
  for (const std::string& name : after) {
    if (before.count(name) == 0) added.insert(name);
  }
  std::set<std::string> expected;
  for (const std::string& registration : input.registrations) {
    if (!registration.empty() && absl::StrContains("LCMB", registration.substr(0, 1))) {
      expected.insert(registration);
    }
  }
  if (added != expected || loaded->types_registered != static_cast<int>(expected.size())) {
    Fail(absl::StrCat("registered [", absl::StrJoin(added, ", "), "] (", loaded->types_registered,
                      ") instead of [", absl::StrJoin(expected, ", "), "]"));
  }
}

}  // namespace
}  // namespace mnemo::fuzz

// Loads the fuzz plugin before libFuzzer counts the modules it measures.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  mnemo::fuzz::FuzzInfoPluginPath();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mnemo::fuzz::TestOneInput(mnemo::fuzz::Bytes(data, size));
  return 0;
}
