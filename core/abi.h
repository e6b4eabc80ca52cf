#ifndef MNEMO_CORE_ABI_H_
#define MNEMO_CORE_ABI_H_

// What must agree for C++ objects to cross between libmnemo_core.so, a
// plugin and a host application, and the check that refuses a mismatch.
//
// Eigen picks the alignment of its heap blocks and of its fixed-size objects
// from the target ISA (16 bytes for SSE, 32 for AVX, 64 for AVX-512) unless
// EIGEN_MAX_ALIGN_BYTES and EIGEN_MAX_STATIC_ALIGN_BYTES are set,
// and frees a block by the alignment the freeing code was compiled with: a
// Tensor allocated in core (built with -march=native) and freed by a host
// built without it corrupts the heap. So the alignments are pinned to 64 for
// every side: by third_party/eigen.BUILD in Bazel, by the SDK's pkg-config
// and CMake files, and here, before Eigen is first included, for a host that
// passes no flag. What is left (a host that set another alignment, or
// included Eigen before any mnemo header without the flag) is caught by the
// fingerprint: the plugin loader compares a plugin's with core's, and core
// compares a host's with its own on the host's first Predictor::Load or
// ConfigLoader, refusing with both named.
#if __cplusplus < 201703L
#error \
    "mnemo's headers need C++17: -std=c++17 (pkg-config --cflags mnemo and CMake's mnemo::core carry it; in a Bazel workspace, `build --cxxopt=-std=c++17` in .bazelrc, since Bazel 4's default toolchain passes -std=c++0x)"
#endif

#ifndef EIGEN_MAX_ALIGN_BYTES
#define EIGEN_MAX_ALIGN_BYTES 64
#endif
#ifndef EIGEN_MAX_STATIC_ALIGN_BYTES
#define EIGEN_MAX_STATIC_ALIGN_BYTES 64  // Eigen would take the ISA's
#endif

// The workaround before Eigen (see there).
// clang-format off
#include "core/avx512_warning_workaround.h"
#include <Eigen/Core>
// clang-format on
#include <google/protobuf/stubs/common.h>

#include "absl/base/config.h"
#include "absl/status/status.h"

#define MNEMO_STR_(x) #x
#define MNEMO_STR(x) MNEMO_STR_(x)

// The compiler and C++ library ABI, the versions of the libraries whose types
// cross the boundary, and Eigen's alignments (heap, static, default): the
// flags that change the ABI. The target ISA is not in it: with the alignment
// pinned, code built for any x86-64 level lays out and frees mnemo's types the
// same way (the SDK's own code is built with -march=native, for this machine).
#define MNEMO_BUILD_FINGERPRINT \
  "gcc " __VERSION__ "; cxx11-abi " MNEMO_STR(_GLIBCXX_USE_CXX11_ABI)              \
  "; protobuf " MNEMO_STR(GOOGLE_PROTOBUF_VERSION)                                 \
  "; eigen " MNEMO_STR(EIGEN_WORLD_VERSION) "." MNEMO_STR(EIGEN_MAJOR_VERSION) "." \
  MNEMO_STR(EIGEN_MINOR_VERSION)                                                   \
  "; eigen-align " MNEMO_STR(EIGEN_MAX_ALIGN_BYTES) "/" MNEMO_STR(                 \
      EIGEN_MAX_STATIC_ALIGN_BYTES) "/" MNEMO_STR(EIGEN_DEFAULT_ALIGN_BYTES)       \
  "; abseil " MNEMO_STR(ABSL_LTS_RELEASE_VERSION)

namespace mnemo {

// The fingerprint libmnemo_core.so was built with.
const char* CoreBuildFingerprint();

// OK when `caller` (a host's MNEMO_BUILD_FINGERPRINT, expanded where it was
// compiled) is core's; else FailedPrecondition naming both, and what to
// rebuild. The API's entry points take it as a defaulted last argument, so a
// host passes its own without writing it.
absl::Status CheckCallerAbi(const char* caller);

}  // namespace mnemo

#endif  // MNEMO_CORE_ABI_H_
