// The trainable_memory plugin: registers the "trainable_memory" memory module
// (trainable_memory.h), reading its optional typed options
// (trainable_memory_options.proto).

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "core/plugin_api.h"
#include "core/registry.h"
#include "memory_modules/trainable_memory/trainable_memory.h"
#include "memory_modules/trainable_memory/trainable_memory_options.pb.h"

namespace mnemo::memory_modules::trainable_memory {
namespace {

constexpr float kDefaultValueScale = 5.0f;

absl::StatusOr<std::unique_ptr<MemoryModule>> Create(const MemoryModuleArgs& args) {
  TrainableMemoryOptions options;
  // UnpackTo checks the type name before it parses the bytes.
  if (args.config.has_options() && !args.config.options().UnpackTo(&options)) {
    return absl::InvalidArgumentError(
        absl::StrCat("trainable_memory needs options of type ",
                     TrainableMemoryOptions::descriptor()->full_name(), ", not ",
                     args.config.options().type_url()));
  }
  const float value_scale =
      options.value_scale() == 0.0f ? kDefaultValueScale : options.value_scale();
  return TrainableMemory::Create(args, value_scale);
}

void Register(PluginRegistrar& registrar) {
  registrar.AddMemoryModule("trainable_memory", &Create,
                            TrainableMemoryOptions::descriptor()->full_name());
}

}  // namespace
}  // namespace mnemo::memory_modules::trainable_memory

MNEMO_PLUGIN("trainable_memory_plugin", mnemo::memory_modules::trainable_memory::Register);
