// Built with -DEIGEN_MAX_ALIGN_BYTES=16 (BUILD), against core built with 64:
// the heap blocks of a Tensor would be allocated and freed with different
// alignments. Every entry point a host calls first refuses, naming both
// fingerprints, before a Tensor crosses.
#include <string>

#include "absl/status/status.h"
#include "core/abi.h"
#include "core/config_loader.h"
#include "core/inference/predictor.h"
#include "core/plugin_loader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mnemo {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

static_assert(EIGEN_MAX_ALIGN_BYTES == 16, "the test needs its own alignment");

auto NamesBothFingerprints() {
  return AllOf(HasSubstr("program \""), HasSubstr("eigen-align 16/16/"),
               HasSubstr("libmnemo_core.so \""), HasSubstr("eigen-align 64/64/64"),
               HasSubstr("EIGEN_MAX_ALIGN_BYTES=64"));
}

TEST(AbiMismatchTest, TheFingerprintsDiffer) {
  EXPECT_STRNE(MNEMO_BUILD_FINGERPRINT, CoreBuildFingerprint());
  EXPECT_THAT(std::string(CoreBuildFingerprint()), HasSubstr("eigen-align 64/64/64"));
}

TEST(AbiMismatchTest, PredictorLoadRefuses) {
  // The model file does not exist: the ABI is checked before any file is read.
  absl::StatusOr<std::unique_ptr<Predictor>> predictor =
      Predictor::Load("", "/nonexistent/model.safetensors");
  ASSERT_FALSE(predictor.ok());
  EXPECT_EQ(predictor.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(predictor.status().message()), NamesBothFingerprints());
}

TEST(AbiMismatchTest, ConfigLoaderRefuses) {
  ConfigLoader loader;
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config =
      loader.LoadText("model { input_size: 2 }", "inline.pbtxt");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()), NamesBothFingerprints());
}

TEST(AbiMismatchTest, PluginLoaderRefuses) {
  absl::StatusOr<LoadedPlugin> plugin = PluginLoader::Global().Load("/nonexistent/libx.so");
  ASSERT_FALSE(plugin.ok());
  EXPECT_THAT(std::string(plugin.status().message()), NamesBothFingerprints());
}

}  // namespace
}  // namespace mnemo
