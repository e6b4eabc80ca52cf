// Registers a type of its own and one the good plugin also registers: the
// whole library must be refused, its own type included.

#include "core/plugin_api.h"
#include "core/registry.h"
#include "tests/plugins/test_layers.h"

MNEMO_PLUGIN("duplicate_plugin", [](mnemo::PluginRegistrar& registrar) {
  registrar.AddLayer("DuplicateOnly", mnemo::testing::PassThroughFactory("DuplicateOnly"));
  registrar.AddLayer("GoodLayer", mnemo::testing::PassThroughFactory("GoodLayer"));
});
