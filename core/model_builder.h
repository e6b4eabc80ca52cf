#ifndef MNEMO_CORE_MODEL_BUILDER_H_
#define MNEMO_CORE_MODEL_BUILDER_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config_loader.h"
#include "core/network.h"
#include "core/registry.h"

namespace mnemo {

// Builds the network an experiment describes: its layers (an `activation` on
// a layer appends that activation layer; `trainable: false` freezes) from the
// registries, each initialised from the run's seed, and its cache strategy.
// Every problem is reported together, each with its file:line:column.
absl::StatusOr<std::unique_ptr<Network>> BuildNetwork(const LoadedConfig& config,
                                                      const Registries& registries);

}  // namespace mnemo

#endif  // MNEMO_CORE_MODEL_BUILDER_H_
