// The trainable_memory plugin: registers the "trainable_memory" memory module
// (trainable_memory.h), reading its optional typed options
// (trainable_memory_options.proto).

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "core/options_check.h"
#include "core/plugin_api.h"
#include "core/registry.h"
#include "core/status_macros.h"
#include "memory_modules/trainable_memory/trainable_memory.h"
#include "memory_modules/trainable_memory/trainable_memory_options.pb.h"

namespace mnemo::memory_modules::trainable_memory {
namespace {

constexpr float kDefaultValueScale = 5.0f;

absl::StatusOr<std::unique_ptr<MemoryModule>> Create(const MemoryModuleArgs& args) {
  MNEMO_ASSIGN_OR_RETURN(TrainableMemoryOptions options,
                         UnpackOptions<TrainableMemoryOptions>(args.config));
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
