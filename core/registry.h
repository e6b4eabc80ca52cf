#ifndef MNEMO_CORE_REGISTRY_H_
#define MNEMO_CORE_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/backend.h"
#include "core/cache_strategy.h"
#include "core/communicator.h"
#include "core/config.pb.h"
#include "core/data_format.h"
#include "core/io/quote.h"
#include "core/layer.h"
#include "core/memory_module.h"
#include "core/status_macros.h"

namespace mnemo {

// What a layer factory gets: its config, the width of its input, the
// initialisation resolved from the model's defaults, and the model's backend.
struct LayerArgs {
  const config::Layer& config;
  int input_size;
  config::Init init;  // scheme never SCHEME_UNSPECIFIED here
  uint64_t seed;      // derived from the run's seed and the layer's index
  // The backend the model was built for (never null from BuildNetwork; null
  // when a layer is made on its own). A backend's layers read its settings
  // (threads) from it; it outlives the call only, not the layer.
  const Backend* backend = nullptr;
  // Built for inference (a config loaded with ConfigUse::kInference):
  // Backward is never called, so the layer may leave its gradients empty
  // (Parameter::gradient) rather than hold another copy of its weights.
  bool inference = false;
  // model.precision and model.quantization. The backend accepted the
  // precision (Backend::CheckPrecision) before any layer is made; a layer
  // that has no such arithmetic computes in FP32 (an activation, a norm).
  config::Model::Precision precision = config::Model::FP32;
  config::Quantization quantization = {};
};

// An error of a layer factory about one field of the layer's config
// ("epsilon"): BuildNetwork reports it at that field's line and column
// ("model.layer[2].epsilon") rather than at the layer's. `message` is the
// whole message, as for any other error.
absl::Status LayerFieldError(const std::string& field, const std::string& message);
// The field a LayerFieldError names; "" for any other status.
std::string LayerErrorField(const absl::Status& status);

struct Registries;

struct CacheStrategyArgs {
  const config::CacheStrategy& config;
  // Rows of a training batch (trainer.batch_size), so that options that
  // depend on it (a memory budget) can be checked when the config is read;
  // 0 when unknown. Batches of other sizes may still come.
  int batch_size = 0;
  // For strategies that wrap another one (a memo around checkpointing).
  const Registries* registries = nullptr;
};

struct MemoryModuleArgs {
  const config::MemoryModule& config;
  int feature_dim;
  int num_classes;
  // The backend of the network whose features the module holds: its
  // similarity search runs on it. Null means the reference backend.
  std::shared_ptr<const Backend> backend = nullptr;
};

// Type name -> factory, for one interface. Thread-safe.
template <typename T, typename Args>
class Registry {
 public:
  using Factory = std::function<absl::StatusOr<std::unique_ptr<T>>(const Args&)>;
  struct Entry {
    Factory factory;
    // Full name of the options message the type reads from its `options`
    // field ("" = takes none); the config validator checks it.
    std::string options_type;
    std::string library;  // who registered it, for error messages
  };

  // `kind` names the interface in messages: "layer", "cache strategy", ...
  explicit Registry(std::string kind) : kind_(std::move(kind)) {}

  absl::Status Add(const std::string& name, Entry entry) {
    std::lock_guard<std::mutex> lock(mu_);
    MNEMO_RETURN_IF_ERROR(CheckAvailableLocked(name, entry.library));
    entries_.emplace(name, std::move(entry));
    return absl::OkStatus();
  }

  // OK when `name` may be added by `library`; else the duplicate error.
  absl::Status CheckAvailable(const std::string& name,
                              const std::string& library) const {
    std::lock_guard<std::mutex> lock(mu_);
    return CheckAvailableLocked(name, library);
  }

  // The entry for `name`, or an error that lists the known types.
  absl::StatusOr<Entry> Find(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      return absl::NotFoundError(absl::StrCat("unknown ", kind_, " type ", QuoteValue(name),
                                              " (known types: ", absl::StrJoin(NamesLocked(), ", "),
                                              ")"));
    }
    return it->second;
  }

  absl::StatusOr<std::unique_ptr<T>> Create(const std::string& name,
                                            const Args& args) const {
    MNEMO_ASSIGN_OR_RETURN(Entry entry, Find(name));
    return entry.factory(args);
  }

  bool Contains(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mu_);
    return entries_.count(name) > 0;
  }

  std::vector<std::string> Names() const {
    std::lock_guard<std::mutex> lock(mu_);
    return NamesLocked();
  }

  const std::string& kind() const { return kind_; }

 private:
  // Called with mu_ held.
  absl::Status CheckAvailableLocked(const std::string& name,
                                    const std::string& library) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) return absl::OkStatus();
    return absl::AlreadyExistsError(absl::StrCat(
        kind_, " type \"", name, "\" is registered twice: by ",
        it->second.library, " and by ", library));
  }

  // Called with mu_ held.
  std::vector<std::string> NamesLocked() const {
    std::vector<std::string> names;
    for (const auto& [name, entry] : entries_) names.push_back(name);
    return names;  // std::map: sorted
  }

  const std::string kind_;
  // std::mutex rather than absl::Mutex: the system's Abseil is not built with
  // ThreadSanitizer, which would then not see the locking.
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;  // guarded by mu_
};

using LayerRegistry = Registry<Layer, LayerArgs>;
using CacheStrategyRegistry = Registry<CacheStrategy, CacheStrategyArgs>;
using MemoryModuleRegistry = Registry<MemoryModule, MemoryModuleArgs>;
using BackendRegistry = Registry<Backend, BackendArgs>;
using DataFormatRegistry = Registry<DataFormat, DataFormatArgs>;
using CommunicatorRegistry = Registry<Communicator, CommunicatorArgs>;

// One registry per interface.
struct Registries {
  LayerRegistry layers{"layer"};
  CacheStrategyRegistry cache_strategies{"cache strategy"};
  MemoryModuleRegistry memory_modules{"memory module"};
  BackendRegistry backends{"backend"};
  DataFormatRegistry data_formats{"data format"};
  CommunicatorRegistry communicators{"communicator"};

  // The process-wide registries, with core's built-in types. Built on first
  // use by an explicit call, never by static registrars that a linker can drop.
  static Registries& Global();
};

// Collects one library's registrations; the loader commits them all or none.
class PluginRegistrar {
 public:
  explicit PluginRegistrar(std::string library) : library_(std::move(library)) {}

  void AddLayer(std::string name, LayerRegistry::Factory factory,
                std::string options_type = "") {
    layers_.push_back({std::move(name), {std::move(factory), std::move(options_type), library_}});
  }
  void AddCacheStrategy(std::string name, CacheStrategyRegistry::Factory factory,
                        std::string options_type = "") {
    cache_strategies_.push_back(
        {std::move(name), {std::move(factory), std::move(options_type), library_}});
  }
  void AddMemoryModule(std::string name, MemoryModuleRegistry::Factory factory,
                       std::string options_type = "") {
    memory_modules_.push_back(
        {std::move(name), {std::move(factory), std::move(options_type), library_}});
  }
  // A compute backend (core/backend.h), selected by `model.backend: name`;
  // its layers are registered as "<name>/<Type>" with AddLayer.
  void AddBackend(std::string name, BackendRegistry::Factory factory) {
    backends_.push_back({std::move(name), {std::move(factory), "", library_}});
  }

  // A format of training data (core/data_format.h), selected by
  // `data.format: name`.
  void AddDataFormat(std::string name, DataFormatRegistry::Factory factory) {
    data_formats_.push_back({std::move(name), {std::move(factory), "", library_}});
  }

  // The ranks of a data-parallel run (core/communicator.h), selected by
  // `trainer.distributed.communicator: name`.
  void AddCommunicator(std::string name, CommunicatorRegistry::Factory factory) {
    communicators_.push_back({std::move(name), {std::move(factory), "", library_}});
  }

  // Marks the whole registration as failed: nothing of it is committed.
  void Fail(std::string message) { failures_.push_back(std::move(message)); }

  // Adds everything to `registries` if no type clashes and nothing failed;
  // otherwise adds nothing and reports every problem.
  absl::Status CommitTo(Registries& registries) const;

  const std::string& library() const { return library_; }
  size_t size() const {
    return layers_.size() + cache_strategies_.size() + memory_modules_.size() + backends_.size() +
           data_formats_.size() + communicators_.size();
  }

 private:
  template <typename R>
  using Pending = std::vector<std::pair<std::string, typename R::Entry>>;

  std::string library_;
  Pending<LayerRegistry> layers_;
  Pending<CacheStrategyRegistry> cache_strategies_;
  Pending<MemoryModuleRegistry> memory_modules_;
  Pending<BackendRegistry> backends_;
  Pending<DataFormatRegistry> data_formats_;
  Pending<CommunicatorRegistry> communicators_;
  std::vector<std::string> failures_;
};

// Registers the types core itself provides (Dense, ReLU, ..., keep_all, the
// "eigen" backend, the "local" communicator).
void RegisterBuiltins(PluginRegistrar& registrar);

}  // namespace mnemo

#endif  // MNEMO_CORE_REGISTRY_H_
