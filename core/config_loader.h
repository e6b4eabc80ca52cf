#ifndef MNEMO_CORE_CONFIG_LOADER_H_
#define MNEMO_CORE_CONFIG_LOADER_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/abi.h"
#include "core/config.pb.h"
#include "core/plugin_loader.h"
#include "core/registry.h"

namespace mnemo {

// Where a field was written in a config file.
struct SourceLocation {
  int line = 0;    // 1-based; 0 = unknown
  int column = 0;  // 1-based
};

// What a config is loaded for. Training checks the whole config; inference
// skips the `data` and `trainer` sections, which serving a model does not
// read, so that a model serves on a machine without its training data, and
// from a config that has only a model. A network built from a config loaded
// for inference has no gradients (BuildNetwork): it cannot be trained.
enum class ConfigUse { kTraining, kInference };

// A parsed config file and where each of its fields stands, so that problems
// found after parsing can still be reported as file:line:column.
class LoadedConfig {
 public:
  const config::Experiment& experiment() const { return experiment_; }
  config::Experiment& mutable_experiment() { return experiment_; }
  const std::string& path() const { return path_; }

  // What the ConfigLoader loaded it for.
  ConfigUse use() const { return use_; }
  // Narrows a config loaded for training to inference (a Predictor's copy).
  // There is no way back: a config loaded for inference skipped the
  // training checks.
  void RestrictToInference() { use_ = ConfigUse::kInference; }

  // The location of a field given as a path of (field name, index) steps from
  // the root, written "model.layer[2].units"; falls back to the nearest
  // enclosing message that has one, then to line 0.
  SourceLocation Locate(const std::string& field_path) const;

  // "path:line:column: message" for `field_path`.
  std::string Describe(const std::string& field_path, const std::string& message) const;

 private:
  friend class ConfigLoader;
  config::Experiment experiment_;
  std::string path_;
  ConfigUse use_ = ConfigUse::kTraining;
  std::map<std::string, SourceLocation> locations_;
};

// Reads experiment configs in two steps: the `plugin` list first (loading each
// library through the plugin loader so its option types exist), then the whole
// file, including `google.protobuf.Any` options of plugin types. Then the whole
// config is validated at once: every problem is reported together, one line
// each, as file:line:column: message.
class ConfigLoader {
 public:
  // Plugins are loaded through PluginLoader::Global() for the global
  // registries, and through a loader of this object's own for any other.
  // `caller_abi`: leave it to its default, which expands to the fingerprint
  // of the code that calls (core/abi.h): a host built with other ABI flags
  // gets that error from every Load, before anything crosses.
  explicit ConfigLoader(Registries& registries = Registries::Global(),
                        ConfigUse use = ConfigUse::kTraining,
                        const char* caller_abi = MNEMO_BUILD_FINGERPRINT);

  // Directories a relative `plugin:` path is looked for in before any other
  // place (PluginLoader::Resolve has the whole order).
  void set_plugin_path(std::vector<std::string> dirs) { plugin_path_ = std::move(dirs); }

  absl::StatusOr<std::unique_ptr<LoadedConfig>> LoadFile(const std::string& path);
  // The config of the saved model at `model_path`: LoadFile(config_path),
  // or when `config_path` is "" the config stored in the model file, named
  // "<model_path> (stored config)" (so its relative plugin paths are looked
  // for beside the model). A model that stores none is InvalidArgument.
  absl::StatusOr<std::unique_ptr<LoadedConfig>> LoadForModel(const std::string& config_path,
                                                             const std::string& model_path);
  // `path` only names the text in messages and anchors relative plugin paths.
  absl::StatusOr<std::unique_ptr<LoadedConfig>> LoadText(const std::string& text,
                                                         const std::string& path);

 private:
  Registries& registries_;
  const ConfigUse use_;
  const absl::Status abi_;  // CheckCallerAbi's answer for the caller
  std::vector<std::string> plugin_path_;
  std::unique_ptr<PluginLoader> own_plugin_loader_;  // for non-global registries
  PluginLoader* plugin_loader_;                       // global or own
};

}  // namespace mnemo

#endif  // MNEMO_CORE_CONFIG_LOADER_H_
