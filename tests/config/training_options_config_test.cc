// The config fields of learning-rate schedules, AdamW, gradient clipping and
// label smoothing, checked when the config is read, each problem at its line
// and column; and a config with all of them on loads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/config_loader.h"
#include "tests/testing/config_text.h"

namespace mnemo {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

constexpr char kPath[] = "dir/options.pbtxt";

std::string At(const std::string& text, const std::string& needle) {
  return testing::ConfigAt(kPath, text, needle);
}

absl::StatusOr<std::unique_ptr<LoadedConfig>> Load(const std::string& text) {
  return ConfigLoader().LoadText(text, kPath);
}

std::vector<std::string> Lines(const absl::Status& status) {
  return absl::StrSplit(std::string(status.message()), '\n');
}

constexpr char kModel[] = "model { input_size: 4 layer { type: 'Dense' units: 3 } }\n";

TEST(TrainingOptionsConfigTest, EveryOptimizerProblemAtItsPlace) {
  const std::string text = absl::StrCat(kModel,
                                        "trainer {\n"
                                        "  optimizer {\n"
                                        "    type: 'adamw'\n"
                                        "    learning_rate: 0.01\n"
                                        "    clip_value: -1\n"
                                        "    clip_global_norm: nan\n"
                                        "    schedule {\n"
                                        "      type: 'cosine'\n"
                                        "      gamma: 0.5\n"
                                        "      min_learning_rate: 0.02\n"
                                        "      warmup_epochs: -0.5\n"
                                        "    }\n"
                                        "  }\n"
                                        "  batch_size: 8 epochs: 2\n"
                                        "}\n");
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = Load(text);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(
      Lines(config.status()),
      UnorderedElementsAre(
          At(text, "clip_value") +
              "trainer.optimizer.clip_value must be > 0 (0 = no clipping), not -1",
          At(text, "clip_global_norm") +
              "trainer.optimizer.clip_global_norm must be finite and > 0 (0 = no clipping), not "
              "nan",
          At(text, "gamma") +
              "trainer.optimizer.schedule.gamma applies to step and exponential only, not cosine",
          At(text, "min_learning_rate") +
              "trainer.optimizer.schedule.min_learning_rate must be >= 0 and below "
              "trainer.optimizer.learning_rate (0.01), not 0.02",
          At(text, "warmup_epochs") +
              "trainer.optimizer.schedule.warmup_epochs must be >= 0, not -0.5"));
}

TEST(TrainingOptionsConfigTest, AnUnknownScheduleTypeIsNamedWithTheKnownOnes) {
  const std::string text = absl::StrCat(
      kModel,
      "trainer { optimizer { type: 'sgd' learning_rate: 0.1 schedule { type: 'linear' } }\n"
      "  batch_size: 8 epochs: 2 }\n");
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = Load(text);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            At(text, "type: 'linear'") +
                "unknown schedule type \"linear\" (known types: constant, cosine, exponential, "
                "one_cycle, plateau, step)");
}

TEST(TrainingOptionsConfigTest, PlateauNeedsAValidationSetAndAFigureOfTheTask) {
  const std::string text = absl::StrCat(kModel,
                                        "trainer { optimizer { type: 'sgd' learning_rate: 0.1\n"
                                        "  schedule { type: 'plateau' metric: 'r2' } }\n"
                                        "  batch_size: 8 epochs: 2 }\n");
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = Load(text);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(Lines(config.status()),
              ElementsAre(At(text, "type: 'plateau'") +
                              "trainer.optimizer.schedule.type plateau needs a validation set: "
                              "set data.validation_fraction or data.validation_file",
                          At(text, "metric") +
                              "trainer.optimizer.schedule.metric \"r2\" is not a figure of "
                              "model.loss SOFTMAX_CROSS_ENTROPY (it reports: loss, accuracy, "
                              "macro_f1, log_loss)"));
}

TEST(TrainingOptionsConfigTest, LabelSmoothingIsInRangeAndForSoftmaxOnly) {
  const std::string text =
      "model { input_size: 4 layer { type: 'Dense' units: 3 } label_smoothing: 1 }\n"
      "trainer { optimizer { type: 'sgd' learning_rate: 0.1 } batch_size: 8 epochs: 1 }\n";
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = Load(text);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            At(text, "label_smoothing") + "model.label_smoothing must be in [0, 1), not 1");

  const std::string huber =
      "model { input_size: 4 layer { type: 'Dense' units: 1 } loss: HUBER\n"
      "  label_smoothing: 0.1 }\n"
      "trainer { optimizer { type: 'sgd' learning_rate: 0.1 } batch_size: 8 epochs: 1 }\n";
  config = Load(huber);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            At(huber, "label_smoothing") +
                "model.label_smoothing is only read with model.loss SOFTMAX_CROSS_ENTROPY, not "
                "HUBER");
}

TEST(TrainingOptionsConfigTest, LabelSmoothingIsRefusedWithAMemoryModule) {
  const std::string text =
      "model {\n  input_size: 4\n  layer { type: 'Dense' units: 3 name: 'f' }\n"
      "  layer { type: 'Dense' units: 2 }\n  label_smoothing: 0.1\n}\n"
      "memory_module { type: 'none_registered' capacity: 10 features_after: 'f' }\n"
      "trainer { optimizer { type: 'sgd' learning_rate: 0.1 } batch_size: 8 epochs: 1 }\n";
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = Load(text);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(Lines(config.status()),
              ::testing::Contains(At(text, "label_smoothing") +
                                  "model.label_smoothing is not read with a memory_module: its "
                                  "classifier trains on the plain cross-entropy"));
}

TEST(TrainingOptionsConfigTest, ClassSelectionProblemsAtTheirPlace) {
  const std::string text = absl::StrCat(
      kModel,
      "data { rare_classes { classes: [1, -2] }\n"
      "  held_out_classes: 1 }\n"
      "trainer { optimizer { type: 'sgd' learning_rate: 0.1 } batch_size: 8 epochs: 1 }\n");
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = Load(text);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(Lines(config.status()),
              UnorderedElementsAre(
                  At(text, "rare_classes {") +
                      "data.rare_classes.keep is required: the training samples kept of "
                      "each class (> 0; to leave a class out, name it in "
                      "data.held_out_classes)",
                  At(text, "classes: [") + "data.rare_classes.classes[1] must be >= 0, not -2",
                  At(text, "held_out_classes") + "data.held_out_classes: class 1 is named twice"));

  const std::string regression =
      "model { input_size: 4 layer { type: 'Dense' units: 1 } loss: MEAN_SQUARED_ERROR }\n"
      "data { held_out_classes: 0 }\n"
      "trainer { optimizer { type: 'sgd' learning_rate: 0.1 } batch_size: 8 epochs: 1 }\n";
  config = Load(regression);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            At(regression, "held_out_classes") +
                "class selection needs a classifier; model.loss is a regression loss");

  const std::string fine = absl::StrCat(
      kModel, "data { rare_classes { classes: [0, 1] keep: 10 } held_out_classes: 2 }\n",
      "trainer { optimizer { type: 'sgd' learning_rate: 0.1 } batch_size: 8 epochs: 1 }\n");
  EXPECT_TRUE(Load(fine).ok()) << Load(fine).status();
}

TEST(TrainingOptionsConfigTest, AllOfThemTogetherLoad) {
  const std::string text = absl::StrCat(
      "model { input_size: 4 layer { type: 'Dense' units: 3 } label_smoothing: 0.1 }\n"
      "data { validation_fraction: 0.2 }\n"
      "trainer {\n"
      "  optimizer { type: 'adamw' learning_rate: 0.01 clip_value: 1 clip_global_norm: 5\n"
      "    schedule { type: 'plateau' metric: 'macro_f1' factor: 0.5 patience: 2 } }\n"
      "  batch_size: 8 epochs: 2\n"
      "}\n");
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = Load(text);
  EXPECT_TRUE(config.ok()) << config.status();
}

}  // namespace
}  // namespace mnemo
