// memory_module in a config: where the features are taken (with the file,
// line and column of a mistake), and the loader's checks of every setting.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/config_loader.h"
#include "core/feature_split.h"
#include "core/status_macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "memory_modules/classifier/dual_path_classifier.h"
#include "tests/classifier/config_files.h"
#include "tests/classifier/exact_memory.h"
#include "tests/testing/config_text.h"

namespace mnemo {
namespace {

using ::mnemo::testing::ClassifierConfig;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAreArray;

constexpr char kPath[] = "test.pbtxt";

// "PATH:LINE:COLUMN: " of the first `needle` in `text`.
std::string At(const std::string& text, const std::string& needle) {
  return testing::ConfigAt(kPath, text, needle);
}

class MemoryConfigTest : public ::testing::Test {
 protected:
  void SetUp() override { testing::RegisterExactMemory(); }

  std::vector<std::string> Problems(const std::string& text) {
    absl::StatusOr<std::unique_ptr<LoadedConfig>> config = ConfigLoader().LoadText(text, kPath);
    EXPECT_FALSE(config.ok());
    if (config.ok()) return {};
    return absl::StrSplit(std::string(config.status().message()), '\n');
  }
};

TEST_F(MemoryConfigTest, FeaturesAfterMustNameALayerThatIsNotTheLast) {
  const char kLayers[] = "(the model's layers: features, 1_dense)";
  std::string text =
      ClassifierConfig("  type: \"exact_memory\" capacity: 10\n  features_after: \"feature\"\n");
  EXPECT_THAT(Problems(text),
              ElementsAre(At(text, "features_after") +
                          "memory_module.features_after \"feature\" names no layer " + kLayers));

  text = ClassifierConfig("  type: \"exact_memory\" capacity: 10\n  features_after: \"1_dense\"\n");
  EXPECT_THAT(Problems(text),
              ElementsAre(At(text, "features_after") +
                          "memory_module.features_after \"1_dense\" is the last layer; the "
                          "network head needs the layers after the feature layer " +
                          kLayers));

  // Missing: reported at the memory_module block.
  text = ClassifierConfig("  type: \"exact_memory\" capacity: 10\n");
  EXPECT_THAT(Problems(text),
              ElementsAre(At(text, "memory_module") +
                          "memory_module.features_after is required: the name of the layer "
                          "whose output is the feature vector " +
                          kLayers));
}

TEST_F(MemoryConfigTest, DefaultLayerNamesAreAcceptedAndCountActivations) {
  // Without names: "0_dense" (with its ReLU, two network layers) and "1_dense".
  std::string text =
      ClassifierConfig("  type: \"exact_memory\" capacity: 10 features_after: \"0_dense\"\n");
  const std::string name = " name: \"features\"";
  text.replace(text.find(name), name.size(), "");
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = ConfigLoader().LoadText(text, kPath);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(*FeatureSplitIndex(**config), 2);
  auto classifier = DualPathClassifier::Create(**config);
  ASSERT_TRUE(classifier.ok()) << classifier.status();
  EXPECT_EQ((*classifier)->backbone().num_layers(), 2);
  EXPECT_EQ((*classifier)->backbone().layer(1).name(), "0_relu");
}

TEST_F(MemoryConfigTest, EverySettingIsCheckedWithItsPlace) {
  const std::string text = ClassifierConfig(
      "  type: \"exact_memory\"\n"
      "  capacity: -3\n"
      "  features_after: \"features\"\n"
      "  confidence_threshold: 1.5\n"
      "  similarity_threshold: nan\n"
      "  temperature: -0.1\n"
      "  memory_loss_weight: -1\n"
      "  top_k: -1\n");
  EXPECT_THAT(
      Problems(text),
      ElementsAre(
          At(text, "capacity") +
              "memory_module.capacity must be > 0 (the items the memory holds), not -3",
          At(text, "confidence_threshold") +
              "memory_module.confidence_threshold must be in [0, 1] (a memory's confidence "
              "is; unset = 0.85), not 1.5",
          At(text, "similarity_threshold") +
              "memory_module.similarity_threshold must be finite (a cosine similarity; "
              "unset = 0.9), not nan",
          At(text, "temperature") +
              "memory_module.temperature must be > 0 and finite (unset = 0.1), not -0.1",
          At(text, "memory_loss_weight") +
              "memory_module.memory_loss_weight must be >= 0 and finite (unset = 0.4), not -1",
          At(text, "top_k") + "memory_module.top_k must be >= 0 (0 = 1), not -1"));
}

TEST_F(MemoryConfigTest, TopKAboveTheCapacityIsRefused) {
  const std::string text = ClassifierConfig(
      "  type: \"exact_memory\" capacity: 4 features_after: \"features\" top_k: 5\n");
  EXPECT_THAT(Problems(text), ElementsAre(At(text, "top_k") +
                                          "memory_module.top_k must be at most the capacity (4; "
                                          "unset = 1), not 5"));
}

TEST_F(MemoryConfigTest, NumClassesIsTheMemorysCountAtLeastTheHeads) {
  auto create = [](const std::string& text) -> absl::StatusOr<std::unique_ptr<DualPathClassifier>> {
    MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<LoadedConfig> config,
                           ConfigLoader().LoadText(text, kPath));
    return DualPathClassifier::Create(*config);
  };
  // Unset: the head's 3.
  auto classifier = create(ClassifierConfig());
  ASSERT_TRUE(classifier.ok()) << classifier.status();
  EXPECT_EQ((*classifier)->memory_num_classes(), 3);
  EXPECT_EQ((*classifier)->memory().num_classes(), 3);

  classifier = create(ClassifierConfig(
      "  type: \"exact_memory\" capacity: 10 features_after: \"features\" num_classes: 5\n"));
  ASSERT_TRUE(classifier.ok()) << classifier.status();
  EXPECT_EQ((*classifier)->memory_num_classes(), 5);
  EXPECT_EQ((*classifier)->num_classes(), 3);

  const std::string fewer = ClassifierConfig(
      "  type: \"exact_memory\" capacity: 10 features_after: \"features\" num_classes: 2\n");
  classifier = create(fewer);
  ASSERT_FALSE(classifier.ok());
  EXPECT_EQ(classifier.status().message(),
            At(fewer, "num_classes") +
                "memory_module.num_classes must be 0 (the head's outputs) or at least the "
                "head's 3 outputs (the memory holds every class the head answers), not 2");
}

TEST_F(MemoryConfigTest, SettingsWithoutATypeAreAMistake) {
  const std::string text = ClassifierConfig("  features_after: \"features\"\n");
  EXPECT_THAT(Problems(text),
              ElementsAre(At(text, "memory_module") + "memory_module has settings but no type"));
}

TEST_F(MemoryConfigTest, CreateWithoutAMemoryModuleSaysSo) {
  std::string text = ClassifierConfig("");
  text.replace(text.find("memory_module {\n}\n"), 18, "");
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = ConfigLoader().LoadText(text, kPath);
  ASSERT_TRUE(config.ok()) << config.status();
  auto classifier = DualPathClassifier::Create(**config);
  ASSERT_FALSE(classifier.ok());
  EXPECT_EQ(classifier.status().message(),
            "test.pbtxt: a dual-path classifier needs memory_module.type (no memory module "
            "is configured)");
}

}  // namespace
}  // namespace mnemo
