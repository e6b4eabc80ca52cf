// Registers two types, then gives up: nothing may be committed.

#include "core/plugin_api.h"
#include "core/registry.h"
#include "tests/plugins/test_layers.h"

MNEMO_PLUGIN("failing_plugin", [](mnemo::PluginRegistrar& registrar) {
  registrar.AddLayer("FailingA", mnemo::testing::PassThroughFactory("FailingA"));
  registrar.AddLayer("FailingB", mnemo::testing::PassThroughFactory("FailingB"));
  registrar.Fail("cannot find the accelerator this plugin drives");
});
