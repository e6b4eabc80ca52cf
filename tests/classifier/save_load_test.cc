// A classifier built from a config, trained a little, saved with its memory
// in one safetensors file, and loaded into a fresh one: the same answers.
#include <memory>
#include <string>
#include <vector>

#include "core/config_loader.h"
#include "core/io/safetensors.h"
#include "core/model_io.h"
#include "core/optimizer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "memory_modules/classifier/dual_path_classifier.h"
#include "tests/classifier/config_files.h"
#include "tests/classifier/exact_memory.h"
#include "tests/classifier/small_models.h"
#include "tests/testing/tensors.h"
#include "tests/testing/test_files.h"

namespace mnemo {
namespace {

using ::mnemo::testing::ClassifierConfig;
using ::mnemo::testing::TestRng;
using ::mnemo::testing::TrainStep;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Key;
using ::testing::UnorderedElementsAre;

class SaveLoadTest : public ::testing::Test {
 protected:
  void SetUp() override { testing::RegisterExactMemory(); }

  std::unique_ptr<DualPathClassifier> Create(const std::string& text) {
    absl::StatusOr<std::unique_ptr<LoadedConfig>> config =
        ConfigLoader().LoadText(text, "test.pbtxt");
    EXPECT_TRUE(config.ok()) << config.status();
    if (!config.ok()) return nullptr;
    absl::StatusOr<std::unique_ptr<DualPathClassifier>> classifier =
        DualPathClassifier::Create(**config);
    EXPECT_TRUE(classifier.ok()) << classifier.status();
    return classifier.ok() ? *std::move(classifier) : nullptr;
  }
};

TEST_F(SaveLoadTest, ConfigSplitsAfterTheFeatureLayersActivation) {
  std::unique_ptr<DualPathClassifier> classifier = Create(ClassifierConfig());
  ASSERT_NE(classifier, nullptr);
  ASSERT_EQ(classifier->backbone().num_layers(), 2);
  EXPECT_EQ(classifier->backbone().layer(0).name(), "features");
  EXPECT_STREQ(classifier->backbone().layer(1).type(), "ReLU");
  ASSERT_EQ(classifier->head().num_layers(), 1);
  EXPECT_EQ(classifier->head().layer(0).name(), "1_dense");
  EXPECT_EQ(classifier->memory().feature_dim(), 8);
  EXPECT_EQ(classifier->memory().capacity(), 10);
  EXPECT_EQ(classifier->memory_name(), "exact_memory");
  EXPECT_FLOAT_EQ(classifier->settings().confidence_threshold, 0.85f);
}

TEST_F(SaveLoadTest, AReloadedClassifierAnswersIdentically) {
  const std::string text = ClassifierConfig(
      "  type: \"exact_memory\" capacity: 10 features_after: \"features\"\n"
      "  confidence_threshold: 0.7\n");
  std::unique_ptr<DualPathClassifier> trained = Create(text);
  ASSERT_NE(trained, nullptr);
  config::Optimizer sgd_config;
  sgd_config.set_type("sgd");
  sgd_config.set_learning_rate(0.1f);
  std::unique_ptr<Optimizer> sgd = *CreateOptimizer(sgd_config);
  TestRng rng(4);
  for (int step = 0; step < 3; ++step) {
    ASSERT_TRUE(TrainStep(*trained, rng.Random(4, 6), std::vector<int32_t>{0, 1, 2, step % 3},
                          ForwardContext{true, 3, static_cast<uint64_t>(step)}, *sgd)
                    .ok());
  }
  ASSERT_EQ(trained->memory().size(), 10);  // 12 stored, the oldest 2 replaced
  const std::string path = TestDir() + "/model.safetensors";
  ASSERT_TRUE(trained->Save(path, text).ok());

  absl::StatusOr<TensorFile> file = ReadSafetensors(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_THAT(file->tensors,
              UnorderedElementsAre(Key("features.weight"), Key("features.bias"),
                                   Key("1_dense.weight"), Key("1_dense.bias"), Key("memory.keys"),
                                   Key("memory.labels"), Key("memory.next")));
  EXPECT_EQ(*ReadModelConfigText(path), text);

  std::unique_ptr<DualPathClassifier> loaded = Create(text);
  ASSERT_NE(loaded, nullptr);
  ASSERT_TRUE(loaded->Load(path).ok());
  EXPECT_EQ(loaded->memory().size(), 10);
  const Tensor queries = rng.Random(20, 6);
  absl::StatusOr<DualPathPrediction> a = trained->Predict(queries);
  absl::StatusOr<DualPathPrediction> b = loaded->Predict(queries);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->label, b->label);
  EXPECT_EQ(a->network_label, b->network_label);
  EXPECT_EQ(a->memory_label, b->memory_label);
  EXPECT_EQ(a->confidence, b->confidence);  // bit for bit
  EXPECT_EQ(a->from_memory, b->from_memory);

  // Served from the file alone: the config comes from its metadata.
  absl::StatusOr<std::unique_ptr<DualPathClassifier>> served = DualPathClassifier::FromFile(path);
  ASSERT_TRUE(served.ok()) << served.status();
  absl::StatusOr<DualPathPrediction> c = (*served)->Predict(queries);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(a->label, c->label);
  EXPECT_EQ(a->confidence, c->confidence);
  EXPECT_FLOAT_EQ((*served)->settings().confidence_threshold, 0.7f);
}

// A BatchNorm in the backbone: its running statistics move at every
// CommitStep, are saved beside the parameters ("bn.running_mean") and come
// back, so the reloaded classifier evaluates as the trained one.
TEST_F(SaveLoadTest, TheRunningStatisticsOfABatchNormAreSavedAndLoaded) {
  std::string text = ClassifierConfig();
  const std::string dense =
      "  layer { type: \"Dense\" units: 8 activation: \"ReLU\" name: \"features\" }\n";
  ASSERT_NE(text.find(dense), std::string::npos);
  text.replace(text.find(dense), dense.size(),
               "  layer { type: \"Dense\" units: 8 }\n"
               "  layer { type: \"BatchNorm\" activation: \"ReLU\" name: \"features\" }\n");
  std::unique_ptr<DualPathClassifier> trained = Create(text);
  ASSERT_NE(trained, nullptr);
  config::Optimizer sgd_config;
  sgd_config.set_type("sgd");
  sgd_config.set_learning_rate(0.1f);
  std::unique_ptr<Optimizer> sgd = *CreateOptimizer(sgd_config);
  TestRng rng(5);
  for (int step = 0; step < 3; ++step) {
    ASSERT_TRUE(TrainStep(*trained, rng.Random(4, 6), std::vector<int32_t>{0, 1, 2, step % 3},
                          ForwardContext{true, 3, static_cast<uint64_t>(step)}, *sgd)
                    .ok());
  }
  const std::vector<ModelParameter> buffers = trained->Buffers();
  ASSERT_EQ(buffers.size(), 2u);
  EXPECT_NE(*buffers[1].value, Tensor::Ones(1, 8));  // three commits moved running_var
  const std::string path = TestDir() + "/batch_norm.safetensors";
  ASSERT_TRUE(trained->Save(path, text).ok());
  absl::StatusOr<TensorFile> file = ReadSafetensors(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->tensors.count("features.running_mean"), 1u);
  EXPECT_EQ(file->tensors.count("features.running_var"), 1u);

  std::unique_ptr<DualPathClassifier> loaded = Create(text);
  ASSERT_NE(loaded, nullptr);
  ASSERT_TRUE(loaded->Load(path).ok());
  for (size_t b = 0; b < buffers.size(); ++b) {
    EXPECT_TRUE(testing::SameBits(*loaded->Buffers()[b].value, *buffers[b].value))
        << buffers[b].name;
  }
  const Tensor queries = rng.Random(20, 6);
  absl::StatusOr<DualPathPrediction> a = trained->Predict(queries);
  absl::StatusOr<DualPathPrediction> b = loaded->Predict(queries);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->network_label, b->network_label);
  EXPECT_EQ(a->confidence, b->confidence);  // bit for bit
}

TEST_F(SaveLoadTest, AnEmptyMemoryRoundTrips) {
  std::unique_ptr<DualPathClassifier> fresh = Create(ClassifierConfig());
  ASSERT_NE(fresh, nullptr);
  const std::string path = TestDir() + "/empty.safetensors";
  ASSERT_TRUE(fresh->Save(path, "").ok());
  std::unique_ptr<DualPathClassifier> loaded = Create(ClassifierConfig());
  ASSERT_TRUE(loaded->Load(path).ok());
  EXPECT_EQ(loaded->memory().size(), 0);
}

TEST_F(SaveLoadTest, AFileOfAnotherModelIsRefusedAndChangesNothing) {
  std::unique_ptr<DualPathClassifier> classifier = Create(ClassifierConfig());
  ASSERT_NE(classifier, nullptr);
  // A plain network's file: no memory tensors, other layer names.
  const std::string other =
      ClassifierConfig("  type: \"exact_memory\" capacity: 10 features_after: \"0_dense\"\n");
  std::string renamed = other;
  const std::string name = " name: \"features\"";
  renamed.replace(renamed.find(name), name.size(), "");
  std::unique_ptr<DualPathClassifier> different = Create(renamed);
  ASSERT_NE(different, nullptr);
  const std::string path = TestDir() + "/other.safetensors";
  ASSERT_TRUE(different->Save(path, "").ok());

  const Tensor before = *classifier->head().layer(0).parameters()[0].value;
  absl::Status status = classifier->Load(path);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("tensor \"features.weight\" is missing"));
  EXPECT_EQ(*classifier->head().layer(0).parameters()[0].value, before);

  // Memory contents the module refuses: the layers are put back as well.
  TensorFile file = *ReadSafetensors(path);
  TensorFile damaged;
  damaged.tensors["features.weight"] = file.tensors.at("0_dense.weight");
  damaged.tensors["features.bias"] = file.tensors.at("0_dense.bias");
  damaged.tensors["1_dense.weight"] = file.tensors.at("1_dense.weight");
  damaged.tensors["1_dense.bias"] = file.tensors.at("1_dense.bias");
  damaged.tensors["memory.keys"] = Tensor::Zero(2, 5);  // features are 8 wide
  const std::string damaged_path = TestDir() + "/damaged.safetensors";
  ASSERT_TRUE(WriteSafetensors(damaged_path, damaged).ok());
  status = classifier->Load(damaged_path);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("the memory's contents do not fit exact_memory"));
  EXPECT_EQ(*classifier->head().layer(0).parameters()[0].value, before);
}

}  // namespace
}  // namespace mnemo
