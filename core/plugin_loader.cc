#include "core/plugin_loader.h"

#include <dlfcn.h>
#include <google/protobuf/descriptor.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/abi.h"
#include "core/io/read_file.h"
#include "core/plugin_api.h"
#include "core/status_macros.h"

namespace mnemo {
namespace {

// The handshake reads every field up to and including register_types; a
// plugin built against an older, shorter struct would make those reads run
// past its data.
constexpr size_t kMinStructSize =
    offsetof(MnemoPluginInfo, register_types) + sizeof(MnemoPluginInfo::register_types);

std::string DlError() {
  const char* error = dlerror();
  return error != nullptr ? error : "unknown dynamic loader error";
}

bool IsFile(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

std::string JoinPath(const std::string& dir, const std::string& path) {
  if (dir.empty()) return path;
  if (dir.back() == '/') return dir + path;
  return absl::StrCat(dir, "/", path);
}

std::string Getenv(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

// The running program's own path (/proc/self/exe), or "" where it cannot be read.
std::string ExecutablePath() {
  char buffer[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buffer, sizeof(buffer) - 1);
  if (n <= 0) return "";
  return std::string(buffer, static_cast<size_t>(n));
}

// The directory libmnemo_core.so was loaded from ("" where dladdr cannot say):
// an installed SDK keeps its plugins in <that>/mnemo/plugins.
std::string CoreLibraryDirectory() {
  Dl_info info;
  if (dladdr(reinterpret_cast<const void*>(&CoreBuildFingerprint), &info) == 0 ||
      info.dli_fname == nullptr) {
    return "";
  }
  const std::string library = info.dli_fname;
  const size_t slash = library.rfind('/');
  return slash == std::string::npos ? "" : library.substr(0, slash);
}

std::string Basename(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string CurrentDirectory() {
  char buffer[PATH_MAX];
  if (getcwd(buffer, sizeof(buffer)) == nullptr) return "";
  return buffer;
}

size_t ContentsHash(const std::string& bytes) { return std::hash<std::string>()(bytes); }

// What each library this process opened through a loader is: opening one
// runs its static initialisers, whatever the loader then decided, so every
// loader of the process checks against all of them.
struct OpenedLibrary {
  std::string path;                      // canonical
  size_t contents_hash;                  // of the file's bytes
  std::vector<std::string> proto_files;  // EmbeddedProtoFiles
};
std::mutex opened_mu;
std::vector<OpenedLibrary>* const opened = new std::vector<OpenedLibrary>;  // guarded by opened_mu

bool IsProtoNameByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '/' || c == '.' || c == '-';
}

}  // namespace

std::vector<std::string> EmbeddedProtoFiles(absl::string_view library) {
  constexpr absl::string_view kSuffix = ".proto";
  std::vector<std::string> names;
  for (size_t end = library.find(kSuffix); end != absl::string_view::npos;
       end = library.find(kSuffix, end + 1)) {
    end += kSuffix.size();  // one past the name
    // Back over the name's bytes, then the length (a one- or two-byte
    // varint) and the tag 0x0a of FileDescriptorProto.name.
    size_t start = end - kSuffix.size();
    while (start > 0 && IsProtoNameByte(static_cast<unsigned char>(library[start - 1]))) --start;
    for (; start < end - kSuffix.size(); ++start) {
      const size_t length = end - start;
      const auto at = [&](size_t back) {
        return static_cast<unsigned char>(library[start - back]);
      };
      const bool one_byte = length < 0x80 && start >= 2 && at(1) == length && at(2) == 0x0a;
      const bool two_bytes = length >= 0x80 && length < 0x4000 && start >= 3 &&
                             at(2) == (0x80 | (length & 0x7f)) && at(1) == (length >> 7) &&
                             at(3) == 0x0a;
      if (one_byte || two_bytes) {
        names.emplace_back(library.substr(start, length));
        break;
      }
    }
    end -= kSuffix.size();
  }
  return names;
}

namespace {

// Refuses a library new to the process that is a copy of one opened before,
// or that would register a .proto file the process has; records it
// otherwise. Reads the file only when the process does not have it open.
absl::Status CheckNotOpenedAsAnother(const std::string& canonical) {
  std::lock_guard<std::mutex> lock(opened_mu);
  // Open already (this path, or the process linked it): dlopen runs nothing again.
  if (void* handle = dlopen(canonical.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD)) {
    dlclose(handle);  // the reference RTLD_NOLOAD took
    return absl::OkStatus();
  }
  MNEMO_ASSIGN_OR_RETURN(const std::string bytes, ReadFileToString(canonical));
  const size_t hash = ContentsHash(bytes);
  for (const OpenedLibrary& library : *opened) {
    if (library.path == canonical || library.contents_hash != hash) continue;
    absl::StatusOr<std::string> its_bytes = ReadFileToString(library.path);
    if (its_bytes.ok() && *its_bytes == bytes) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot load plugin ", canonical, ": it is a copy of the plugin already loaded from ",
          library.path, " (the same bytes); name one of the two in the config"));
    }
  }
  const std::vector<std::string> protos = EmbeddedProtoFiles(bytes);
  for (const std::string& proto : protos) {
    if (google::protobuf::DescriptorPool::generated_pool()->FindFileByName(proto) == nullptr) {
      continue;
    }
    std::string from = "a library the process linked";
    for (const OpenedLibrary& library : *opened) {
      if (std::count(library.proto_files.begin(), library.proto_files.end(), proto) > 0) {
        from = absl::StrCat("the plugin loaded from ", library.path);
      }
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot load plugin ", canonical, ": it holds the generated code of ", proto, ", which ",
        from,
        " registered already (another build of the same plugin?); protobuf cannot register "
        "it twice; name one of the two in the config"));
  }
  opened->push_back({canonical, hash, protos});
  return absl::OkStatus();
}

}  // namespace

PluginLoader& PluginLoader::Global() {
  // Never destroyed, like the registries it fills: libraries stay loaded.
  static PluginLoader* const loader = new PluginLoader(Registries::Global());
  return *loader;
}

PluginLoader::PluginLoader(Registries& registries) : registries_(registries) {}

std::vector<LoadedPlugin> PluginLoader::loaded() const {
  std::lock_guard<std::mutex> lock(mu_);
  return loaded_;
}

absl::StatusOr<LoadedPlugin> PluginLoader::Load(const std::string& path, const char* caller_abi) {
  MNEMO_RETURN_IF_ERROR(CheckCallerAbi(caller_abi));
  char resolved[PATH_MAX];
  if (realpath(path.c_str(), resolved) == nullptr) {
    return absl::NotFoundError(absl::StrCat("cannot load plugin \"", path,
                                            "\": ", std::strerror(errno)));
  }
  const std::string canonical = resolved;

  // Held for the whole load: two loads must not interleave their duplicate
  // checks and commits (see PluginRegistrar::CommitTo).
  std::lock_guard<std::mutex> lock(mu_);
  for (const LoadedPlugin& plugin : loaded_) {
    if (plugin.path == canonical) return plugin;
  }
  MNEMO_RETURN_IF_ERROR(CheckNotOpenedAsAnother(canonical));

  // Refused or failed libraries are deliberately never dlclose'd: their static
  // initialisers have run and may have registered things (protobuf
  // descriptors, absl flags) that point into the library; unloading it would
  // leave those dangling. A refused library costs only its mapping.
  void* handle = dlopen(canonical.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot load plugin ", canonical, ": ", DlError()));
  }
  dlerror();  // clear, so that a null symbol is told apart from an error
  void* symbol = dlsym(handle, MNEMO_PLUGIN_ENTRY_POINT);
  if (symbol == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        canonical, " is not a mnemo plugin: it does not export the symbol \"",
        MNEMO_PLUGIN_ENTRY_POINT, "\" (", DlError(),
        "); define it with one MNEMO_PLUGIN(...) call (core/plugin_api.h)"));
  }
  using EntryPoint = const MnemoPluginInfo* (*)();
  const MnemoPluginInfo* info = reinterpret_cast<EntryPoint>(symbol)();
  if (info == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(canonical, ": ", MNEMO_PLUGIN_ENTRY_POINT, "() returned null"));
  }

  // The handshake, field by field in struct order, so that only fields the
  // struct size vouches for are read.
  if (info->struct_size < kMinStructSize) {
    return absl::FailedPreconditionError(absl::StrCat(
        canonical, " has a plugin info of ", info->struct_size,
        " bytes; this host needs at least ", kMinStructSize,
        "; rebuild the plugin against this mnemo"));
  }
  if (info->abi_major != MNEMO_PLUGIN_ABI_MAJOR) {
    return absl::FailedPreconditionError(absl::StrCat(
        canonical, " was built for mnemo plugin ABI ", info->abi_major, ".",
        info->abi_minor, "; this host speaks ABI ", MNEMO_PLUGIN_ABI_MAJOR, ".",
        MNEMO_PLUGIN_ABI_MINOR, "; rebuild the plugin against this mnemo"));
  }
  const char* fingerprint =
      info->build_fingerprint != nullptr ? info->build_fingerprint : "(none)";
  if (std::strcmp(fingerprint, CoreBuildFingerprint()) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        canonical, " was built with a different toolchain, libraries or ABI flags: plugin \"",
        fingerprint, "\", host \"", CoreBuildFingerprint(),
        "\"; rebuild the plugin against this mnemo"));
  }
  if (info->register_types == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(canonical, ": the plugin info has no register_types function"));
  }

  PluginRegistrar registrar(canonical);
  info->register_types(&registrar);
  MNEMO_RETURN_IF_ERROR(registrar.CommitTo(registries_));
  LoadedPlugin plugin;
  plugin.path = canonical;
  plugin.name = info->name != nullptr ? info->name : "";
  plugin.types_registered = static_cast<int>(registrar.size());
  loaded_.push_back(plugin);
  return plugin;
}

std::vector<std::string> PluginSearchPath(const std::vector<std::string>& dirs) {
  std::vector<std::string> path = dirs;
  for (absl::string_view dir : absl::StrSplit(Getenv("MNEMO_PLUGIN_PATH"), ':')) {
    if (!dir.empty()) path.emplace_back(dir);
  }
  return path;
}

absl::StatusOr<std::string> PluginLoader::Resolve(const std::string& path,
                                                  const std::string& config_dir,
                                                  const std::vector<std::string>& search_path) {
  if (path.empty()) return absl::InvalidArgumentError("empty plugin path");
  if (path.front() == '/') return path;

  // The order is documented in the header (and the README's "Plugin search
  // order"): the search path (the caller's directories, then
  // $MNEMO_PLUGIN_PATH's), each as given and by the library's file name;
  // beside the config; the runfiles of the running tool (under `bazel run`
  // and `bazel test` the working directory is the runfiles root; a tool
  // started by hand finds its runfiles beside its executable); the
  // workspace's bazel-bin; the installed SDK's plugin directory.
  const std::string name = Basename(path);
  std::vector<std::string> candidates;
  for (const std::string& dir : PluginSearchPath(search_path)) {
    candidates.push_back(JoinPath(dir, path));
    if (name != path) candidates.push_back(JoinPath(dir, name));
  }
  candidates.push_back(JoinPath(config_dir.empty() ? "." : config_dir, path));
  if (std::string runfiles = Getenv("RUNFILES_DIR"); !runfiles.empty()) {
    candidates.push_back(JoinPath(runfiles, "mnemo/" + path));
  }
  if (std::string cwd = CurrentDirectory(); !cwd.empty()) {
    candidates.push_back(JoinPath(cwd, path));
  }
  if (std::string srcdir = Getenv("TEST_SRCDIR"); !srcdir.empty()) {
    candidates.push_back(JoinPath(srcdir, "mnemo/" + path));
  }
  if (std::string executable = ExecutablePath(); !executable.empty()) {
    candidates.push_back(JoinPath(executable + ".runfiles", "mnemo/" + path));
  }
  if (std::string workspace = Getenv("BUILD_WORKSPACE_DIRECTORY"); !workspace.empty()) {
    candidates.push_back(JoinPath(workspace, "bazel-bin/" + path));
  } else if (std::string cwd = CurrentDirectory(); !cwd.empty()) {
    candidates.push_back(JoinPath(cwd, "bazel-bin/" + path));  // run from the workspace
  }
  if (std::string core_dir = CoreLibraryDirectory(); !core_dir.empty()) {
    candidates.push_back(JoinPath(core_dir, "mnemo/plugins/" + name));
  }
  for (const std::string& candidate : candidates) {
    if (IsFile(candidate)) return candidate;
  }
  return absl::NotFoundError(absl::StrCat("plugin \"", path, "\" not found; tried ",
                                          absl::StrJoin(candidates, ", ")));
}

}  // namespace mnemo
