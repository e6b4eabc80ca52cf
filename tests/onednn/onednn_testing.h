#ifndef MNEMO_TESTS_ONEDNN_ONEDNN_TESTING_H_
#define MNEMO_TESTS_ONEDNN_ONEDNN_TESTING_H_

// What the oneDNN backend's tests share: the plugin loaded as a user's config
// loads it (through the plugin loader, from the path BUILD passes), its
// backend, and the error measure the tests hold results to.

#include <cmath>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/backend.h"
#include "core/plugin_loader.h"
#include "core/registry.h"
#include "core/tensor.h"
#include "gtest/gtest.h"
#include "tests/plugins/test_args.h"

namespace mnemo::testing {

// Loads //plugins/onednn:libonednn_plugin.so (--onednn_plugin=PATH) into the
// global registries, once per process.
inline void LoadOneDnnPlugin() {
  absl::StatusOr<LoadedPlugin> loaded = PluginLoader::Global().Load(TestArg("onednn_plugin"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
}

// The "onednn" backend with `threads` threads (0 = one per core).
inline std::shared_ptr<const Backend> OneDnnBackend(int threads = 0) {
  absl::StatusOr<std::unique_ptr<Backend>> backend =
      Registries::Global().backends.Create("onednn", BackendArgs{threads});
  EXPECT_TRUE(backend.ok()) << backend.status();
  if (!backend.ok()) return nullptr;
  return std::shared_ptr<const Backend>(*std::move(backend));
}

// The backend's counter `name`; -1 when it has none.
inline double Counter(const Backend& backend, const std::string& name) {
  for (const auto& [key, value] : backend.counters()) {
    if (key == name) return value;
  }
  return -1;
}

// |actual - expected| / |expected| in the Frobenius norm, over the whole
// tensor: elementwise relative errors would blow up where the expected value
// is near 0 (a ReLU's zeros, a gradient that cancels), which says nothing
// about the computation. Shapes must agree (a mismatch is infinite error).
inline double RelativeError(const Tensor& actual, const Tensor& expected) {
  if (actual.rows() != expected.rows() || actual.cols() != expected.cols()) return INFINITY;
  const double norm = expected.cast<double>().norm();
  const double diff = (actual.cast<double>() - expected.cast<double>()).norm();
  if (norm == 0) return diff;
  return diff / norm;
}

// The agreement the issue asks of every layer, forward and backward.
inline constexpr double kTolerance = 1e-5;

}  // namespace mnemo::testing

#endif  // MNEMO_TESTS_ONEDNN_ONEDNN_TESTING_H_
