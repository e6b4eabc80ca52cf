#include "core/abi.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace mnemo {

const char* CoreBuildFingerprint() { return MNEMO_BUILD_FINGERPRINT; }

absl::Status CheckCallerAbi(const char* caller) {
  if (caller == nullptr) caller = "(none)";
  if (std::strcmp(caller, CoreBuildFingerprint()) == 0) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("this program was built with flags that change mnemo's ABI: program \"", caller,
                   "\", libmnemo_core.so \"", CoreBuildFingerprint(),
                   "\"; build it with the SDK's flags (pkg-config --cflags mnemo, or CMake's "
                   "mnemo::core target: -DEIGEN_MAX_ALIGN_BYTES=64 "
                   "-DEIGEN_MAX_STATIC_ALIGN_BYTES=64) and the same compiler and libraries"));
}

}  // namespace mnemo
