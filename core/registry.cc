#include "core/registry.h"

#include <set>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/str_join.h"
#include "absl/types/optional.h"

namespace mnemo {
namespace {

// The payload of a LayerFieldError: the field's name.
constexpr char kLayerFieldPayload[] = "mnemo/layer_field";

// Checks one interface's pending entries against the registry and each other.
template <typename R>
void CheckPending(const R& registry,
                  const std::vector<std::pair<std::string, typename R::Entry>>& pending,
                  const std::string& library, std::vector<std::string>* problems) {
  std::set<std::string> seen;
  for (const auto& [name, entry] : pending) {
    if (name.empty()) {
      problems->push_back(absl::StrCat("a ", registry.kind(), " type with an empty name"));
    } else if (!seen.insert(name).second) {
      problems->push_back(absl::StrCat(registry.kind(), " type \"", name,
                                       "\" is registered twice by ", library));
    } else if (absl::Status s = registry.CheckAvailable(name, library); !s.ok()) {
      problems->push_back(std::string(s.message()));
    }
    if (!entry.factory) {
      problems->push_back(absl::StrCat(registry.kind(), " type \"", name, "\" has no factory"));
    }
  }
}

template <typename R>
void AddAll(R& registry,
            const std::vector<std::pair<std::string, typename R::Entry>>& pending) {
  for (const auto& [name, entry] : pending) {
    // Checked just before; a concurrent load of another library is serialised
    // by the plugin loader, so this cannot fail.
    registry.Add(name, entry).IgnoreError();
  }
}

}  // namespace

absl::Status PluginRegistrar::CommitTo(Registries& registries) const {
  std::vector<std::string> problems = failures_;
  CheckPending(registries.layers, layers_, library_, &problems);
  CheckPending(registries.cache_strategies, cache_strategies_, library_, &problems);
  CheckPending(registries.memory_modules, memory_modules_, library_, &problems);
  CheckPending(registries.backends, backends_, library_, &problems);
  CheckPending(registries.data_formats, data_formats_, library_, &problems);
  CheckPending(registries.communicators, communicators_, library_, &problems);
  if (!problems.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(library_, ": nothing was registered: ",
                     absl::StrJoin(problems, "; ")));
  }
  AddAll(registries.layers, layers_);
  AddAll(registries.cache_strategies, cache_strategies_);
  AddAll(registries.memory_modules, memory_modules_);
  AddAll(registries.backends, backends_);
  AddAll(registries.data_formats, data_formats_);
  AddAll(registries.communicators, communicators_);
  return absl::OkStatus();
}

Registries& Registries::Global() {
  static Registries* const registries = [] {
    auto* r = new Registries;  // never destroyed: plugins may outlive exit order
    PluginRegistrar builtins("libmnemo_core.so (built-in types)");
    RegisterBuiltins(builtins);
    absl::Status status = builtins.CommitTo(*r);
    if (!status.ok()) {
      // Only a programming error in core can get here; there is no caller to
      // return it to from a static initialiser.
      fprintf(stderr, "mnemo: %s\n", std::string(status.message()).c_str());
      abort();
    }
    return r;
  }();
  return *registries;
}

absl::Status LayerFieldError(const std::string& field, const std::string& message) {
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kLayerFieldPayload, absl::Cord(field));
  return status;
}

std::string LayerErrorField(const absl::Status& status) {
  absl::optional<absl::Cord> field = status.GetPayload(kLayerFieldPayload);
  return field.has_value() ? std::string(*field) : std::string();
}

}  // namespace mnemo
