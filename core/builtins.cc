#include "core/registry.h"

namespace mnemo {

void RegisterBuiltins(PluginRegistrar& registrar) {
  (void)registrar;
}

}  // namespace mnemo
