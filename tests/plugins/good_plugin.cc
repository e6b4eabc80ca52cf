// A well-behaved plugin: two layer types, and a probe that tells the test
// which registries and descriptor pool this library sees.

#include <google/protobuf/descriptor.h>

#include "core/config.pb.h"
#include "core/plugin_api.h"
#include "core/registry.h"
#include "tests/plugins/test_layers.h"

// Addresses of process-wide singletons as seen from inside the plugin; equal
// to the host's only if core and protobuf exist once in the process.
extern "C" __attribute__((visibility("default"))) const void* good_plugin_probe(int what) {
  switch (what) {
    case 0:
      return &mnemo::Registries::Global();
    case 1:
      return google::protobuf::DescriptorPool::generated_pool();
    case 2:
      return mnemo::config::Experiment::descriptor();
    default:
      return nullptr;
  }
}

MNEMO_PLUGIN("good_plugin", [](mnemo::PluginRegistrar& registrar) {
  registrar.AddLayer("GoodLayer", mnemo::testing::PassThroughFactory("GoodLayer"));
  registrar.AddLayer("GoodFixed8", mnemo::testing::FixedInputFactory("GoodFixed8", 8));
});
