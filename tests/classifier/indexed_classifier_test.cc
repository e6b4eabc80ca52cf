// A dual-path classifier from a config whose cached memory searches with an
// approximate index (memory_module.index), through the real plugin: it
// trains a step (the store fills the memory past ivf_flat's training
// threshold) and retrieves. With nprobe = nlist the index visits every list,
// so its answers are exact search's: the same classifier with the default
// index is the reference.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/config_loader.h"
#include "core/optimizer.h"
#include "core/plugin_loader.h"
#include "memory_modules/classifier/dual_path_classifier.h"
#include "tests/classifier/config_files.h"
#include "tests/classifier/small_models.h"
#include "tests/plugins/test_args.h"
#include "tests/testing/tensors.h"

namespace mnemo {
namespace {

class IndexedClassifierTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<LoadedPlugin> loaded =
        PluginLoader::Global().Load(testing::TestArg("cached_memory_plugin"));
    ASSERT_TRUE(loaded.ok()) << loaded.status();
  }

  // 6 -> 8 ReLU ("features") -> 3 with a cached memory of 80 items, trained
  // one step on 120 samples; then the memory's answers for 40 samples.
  static DualPathPrediction TrainAndPredict(const std::string& index) {
    const std::string text = testing::ClassifierConfig(
        "  type: \"cached_memory\" capacity: 80 features_after: \"features\"\n" + index);
    absl::StatusOr<std::unique_ptr<LoadedConfig>> config = ConfigLoader().LoadText(text, "t.pbtxt");
    EXPECT_TRUE(config.ok()) << config.status();
    if (!config.ok()) return {};
    absl::StatusOr<std::unique_ptr<DualPathClassifier>> classifier =
        DualPathClassifier::Create(**config);
    EXPECT_TRUE(classifier.ok()) << classifier.status();
    if (!classifier.ok()) return {};

    testing::TestRng rng(4);
    const Tensor x = rng.Random(120, 6);
    std::vector<int32_t> labels(120);
    for (int i = 0; i < 120; ++i) labels[i] = i % 3;
    config::Optimizer sgd;
    sgd.set_type("sgd");
    sgd.set_learning_rate(0.1f);
    absl::StatusOr<std::unique_ptr<Optimizer>> optimizer = CreateOptimizer(sgd);
    EXPECT_TRUE(optimizer.ok());
    absl::StatusOr<StepResult> step = testing::TrainStep(
        **classifier, x, labels, ForwardContext{/*training=*/true, 0, 0}, **optimizer);
    EXPECT_TRUE(step.ok()) << step.status();
    // ivf_flat with nlist 2 is trained from 78 items on.
    EXPECT_GE((*classifier)->memory().size(), 78);

    absl::StatusOr<DualPathPrediction> prediction = (*classifier)->Predict(rng.Random(40, 6));
    EXPECT_TRUE(prediction.ok()) << prediction.status();
    return prediction.ok() ? *prediction : DualPathPrediction{};
  }
};

TEST_F(IndexedClassifierTest, TrainsAStepAndRetrievesThroughTheIndex) {
  const DualPathPrediction indexed =
      TrainAndPredict("  index { type: \"ivf_flat\" nlist: 2 nprobe: 2 }\n");
  const DualPathPrediction exact = TrainAndPredict("");
  ASSERT_EQ(indexed.memory_label.size(), 40u);
  EXPECT_THAT(indexed.memory_label, ::testing::Each(::testing::Ge(0)));
  EXPECT_EQ(indexed.memory_label, exact.memory_label);
  ASSERT_EQ(exact.confidence.size(), 40u);
  for (int i = 0; i < 40; ++i) EXPECT_NEAR(indexed.confidence[i], exact.confidence[i], 1e-5f);
  EXPECT_EQ(indexed.label, exact.label);
}

TEST_F(IndexedClassifierTest, AnIndexTheCapacityNeverTrainsIsRefusedAtItsField) {
  const std::string text = testing::ClassifierConfig(
      "  type: \"cached_memory\" capacity: 80 features_after: \"features\"\n"
      "  index { type: \"ivf_flat\" nlist: 4 nprobe: 2 }\n");
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = ConfigLoader().LoadText(text, "t.pbtxt");
  ASSERT_FALSE(config.ok());
  // file:line:column of the field, then its message.
  EXPECT_THAT(std::string(config.status().message()),
              ::testing::HasSubstr("t.pbtxt:9:28: memory_module.index.nlist must be at most "
                                   "capacity / 39 (2; unset = 1024)"));
}

}  // namespace
}  // namespace mnemo
