#ifndef MNEMO_CORE_PLUGIN_API_H_
#define MNEMO_CORE_PLUGIN_API_H_

// The one entry point of a plugin shared object, and the handshake the loader
// runs before it lets any C++ type cross the boundary.
//
// A plugin is a cc_binary(linkshared = 1) that depends on //core and calls
// MNEMO_PLUGIN once:
//
//   MNEMO_PLUGIN("my_plugin", [](mnemo::PluginRegistrar& registrar) {
//     registrar.AddLayer("MyLayer", &CreateMyLayer);
//   });

#include <cstdint>

#include "core/abi.h"  // MNEMO_BUILD_FINGERPRINT

#define MNEMO_PLUGIN_ABI_MAJOR 1  // incompatible changes refuse the plugin
#define MNEMO_PLUGIN_ABI_MINOR 0  // compatible additions

extern "C" {

// Plain C so that the handshake itself is safe with a foreign plugin.
typedef struct MnemoPluginInfo {
  uint32_t struct_size;  // sizeof(MnemoPluginInfo) as the plugin saw it
  uint32_t abi_major;
  uint32_t abi_minor;
  const char* build_fingerprint;
  const char* name;
  // Called once, after the handshake passed, with a mnemo::PluginRegistrar*.
  // Must not throw; MNEMO_PLUGIN turns an exception into a registration error.
  void (*register_types)(void* registrar);
} MnemoPluginInfo;

}  // extern "C"

// The symbol the loader looks up with dlsym.
#define MNEMO_PLUGIN_ENTRY_POINT "mnemo_plugin_info"

#define MNEMO_PLUGIN(plugin_name, register_function)                          \
  extern "C" __attribute__((visibility("default"))) const MnemoPluginInfo*     \
  mnemo_plugin_info() {                                                       \
    static const MnemoPluginInfo info = {                                     \
        sizeof(MnemoPluginInfo),                                              \
        MNEMO_PLUGIN_ABI_MAJOR,                                               \
        MNEMO_PLUGIN_ABI_MINOR,                                               \
        MNEMO_BUILD_FINGERPRINT,                                              \
        plugin_name,                                                          \
        [](void* registrar) {                                                 \
          auto& typed = *static_cast<::mnemo::PluginRegistrar*>(registrar);   \
          try {                                                               \
            register_function(typed);                                         \
          } catch (const std::exception& e) {                                 \
            typed.Fail(std::string("exception during registration: ") +       \
                       e.what());                                             \
          } catch (...) {                                                     \
            typed.Fail("unknown exception during registration");              \
          }                                                                   \
        }};                                                                   \
    return &info;                                                             \
  }

#endif  // MNEMO_CORE_PLUGIN_API_H_
