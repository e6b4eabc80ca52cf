// The cached_memory plugin: registers the "cached_memory" memory module
// (cached_memory.h), which takes no options.

#include "core/plugin_api.h"
#include "core/registry.h"
#include "memory_modules/cached_memory/cached_memory.h"

namespace mnemo::memory_modules {
namespace {

void Register(PluginRegistrar& registrar) {
  registrar.AddMemoryModule("cached_memory", &CachedMemory::Create);
}

}  // namespace
}  // namespace mnemo::memory_modules

MNEMO_PLUGIN("cached_memory_plugin", mnemo::memory_modules::Register);
