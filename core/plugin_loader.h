#ifndef MNEMO_CORE_PLUGIN_LOADER_H_
#define MNEMO_CORE_PLUGIN_LOADER_H_

#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/abi.h"
#include "core/registry.h"

namespace mnemo {

// What a loaded library said of itself.
struct LoadedPlugin {
  std::string path;  // canonical
  std::string name;
  int types_registered = 0;
};

// Loads plugin shared objects into the process:
//  - dlopen(RTLD_NOW | RTLD_LOCAL): missing symbols fail now, with dlerror's
//    text, and plugins cannot see each other's symbols;
//  - dlsym(MNEMO_PLUGIN_ENTRY_POINT), then the handshake: struct size, ABI
//    major version and build fingerprint must match the host's, else the
//    library is refused with both sides named;
//  - the plugin's registrations are committed all together or not at all;
//  - a library already loaded (same canonical path) is a no-op;
//  - a plugin is recognised by what it is, not only by its path: before a
//    library new to the process is opened, a copy of one opened before (the
//    same bytes) and any library that embeds a .proto file the process has
//    registered (another build of a loaded plugin) are refused, naming both
//    paths: its static initialisers would register those protobuf messages
//    a second time, which ends the process;
//  - libraries are never unloaded (objects they created may outlive any scope).
// Thread-safe; loads are serialised.
// The .proto files whose generated code `library` (a shared object's bytes)
// holds: the names that open each embedded serialized FileDescriptorProto
// (field 1, "dir/name.proto"). Found by scanning, so it may name a string that
// merely looks like one; the loader only asks whether those are registered.
std::vector<std::string> EmbeddedProtoFiles(absl::string_view library);

// The directories a relative plugin path is looked for in first: `dirs`,
// then those of $MNEMO_PLUGIN_PATH (colon-separated, empty entries skipped).
std::vector<std::string> PluginSearchPath(const std::vector<std::string>& dirs);

class PluginLoader {
 public:
  // The process-wide loader, registering into Registries::Global().
  static PluginLoader& Global();

  explicit PluginLoader(Registries& registries);

  // `caller_abi`: leave it to its default, which expands to the fingerprint
  // of the code that calls (core/abi.h); a program built with other ABI flags
  // is refused before anything crosses.
  absl::StatusOr<LoadedPlugin> Load(const std::string& path,
                                    const char* caller_abi = MNEMO_BUILD_FINGERPRINT);

  std::vector<LoadedPlugin> loaded() const;

  // Resolves a plugin path from a config. An absolute path is taken as it
  // is. A relative one is looked for, in this order:
  //   1. in each directory of `search_path`, then of $MNEMO_PLUGIN_PATH
  //      (colon-separated), as written ("plugins/x/libx.so") and by its file
  //      name alone ("libx.so");
  //   2. beside the config (`config_dir`; for a config stored in a model
  //      file, the model's directory);
  //   3. in the runfiles of the running program ($RUNFILES_DIR/mnemo/, the
  //      working directory, $TEST_SRCDIR/mnemo/, <executable>.runfiles/mnemo/);
  //   4. in the workspace's bazel-bin ($BUILD_WORKSPACE_DIRECTORY's, or the
  //      working directory's);
  //   5. by its file name in the installed SDK's plugin directory,
  //      <directory of libmnemo_core.so>/mnemo/plugins.
  // The first file found wins; the error lists every place tried.
  static absl::StatusOr<std::string> Resolve(const std::string& path, const std::string& config_dir,
                                             const std::vector<std::string>& search_path = {});

 private:
  Registries& registries_;
  // Not absl::Mutex, which ThreadSanitizer cannot see (registry.h).
  mutable std::mutex mu_;
  std::vector<LoadedPlugin> loaded_;  // guarded by mu_
};

}  // namespace mnemo

#endif  // MNEMO_CORE_PLUGIN_LOADER_H_
