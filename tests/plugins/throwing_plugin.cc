// Registers a type, then throws: MNEMO_PLUGIN must turn the exception into a
// failed registration instead of letting it cross into the host.

#include <stdexcept>

#include "core/plugin_api.h"
#include "core/registry.h"
#include "tests/plugins/test_layers.h"

MNEMO_PLUGIN("throwing_plugin", [](mnemo::PluginRegistrar& registrar) {
  registrar.AddLayer("ThrowingA", mnemo::testing::PassThroughFactory("ThrowingA"));
  throw std::runtime_error("out of coffee");
});
