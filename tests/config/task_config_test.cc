// The config fields of tasks, data files and early stopping, checked when the
// config is read, each problem at its line and column.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/config_loader.h"
#include "core/registry.h"
#include "tests/testing/config_text.h"
#include "tests/testing/test_files.h"

namespace mnemo {
namespace {

using ::testing::ElementsAre;

constexpr char kPath[] = "dir/task.pbtxt";

// "PATH:LINE:COLUMN: " of the first `needle` in `text`.
std::string At(const std::string& text, const std::string& needle) {
  return testing::ConfigAt(kPath, text, needle);
}

absl::StatusOr<std::unique_ptr<LoadedConfig>> Load(const std::string& text) {
  return ConfigLoader().LoadText(text, kPath);
}

std::vector<std::string> Lines(const absl::Status& status) {
  return absl::StrSplit(std::string(status.message()), '\n');
}

constexpr char kOptimizer[] = "optimizer { type: 'adam' learning_rate: 0.001 } batch_size: 8";

TEST(TaskConfigTest, LossAndItsOutputsAreChecked) {
  const std::string text = absl::StrCat(
      "model {\n  input_size: 4\n  layer { type: 'Dense' units: 3 }\n"
      "  loss: SIGMOID_CROSS_ENTROPY\n  huber_delta: 2\n}\n"
      "trainer { ",
      kOptimizer, " epochs: 1 }\n");
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = Load(text);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(
      Lines(config.status()),
      ElementsAre(
          At(text, "loss:") + "model.loss SIGMOID_CROSS_ENTROPY needs one output (the logit of "
                              "class 1) but the last layer has 3; use SOFTMAX_CROSS_ENTROPY for "
                              "more classes",
          At(text, "huber_delta") + "model.huber_delta is only read with model.loss HUBER"));
}

TEST(TaskConfigTest, EarlyStoppingAndTheValidationSplitAreChecked) {
  const std::string text = absl::StrCat(
      "model { input_size: 4 layer { type: 'Dense' units: 3 } }\n"
      "data { validation_fraction: 1.5 }\n"
      "trainer {\n  ",
      kOptimizer,
      " epochs: 1\n"
      "  early_stopping { metric: 'f2' patience: 0 }\n}\n");
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = Load(text);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(
      Lines(config.status()),
      ElementsAre(
          At(text, "validation_fraction") +
              "data.validation_fraction must be >= 0 and < 1, not 1.5",
          At(text, "early_stopping") +
              "trainer.early_stopping.metric \"f2\" is unknown (known: loss, accuracy, macro_f1, "
              "log_loss, rmse, mae, r2)",
          At(text, "patience") +
              "trainer.early_stopping.patience must be > 0 (epochs without improvement), not 0"));
  // A negative patience, at its own place.
  const std::string patience = absl::StrCat(
      "model { input_size: 4 layer { type: 'Dense' units: 3 } }\n"
      "data { validation_fraction: 0.1 }\n"
      "trainer { ",
      kOptimizer, " epochs: 1 early_stopping { patience: -2 } }\n");
  config = Load(patience);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            At(patience, "patience") +
                "trainer.early_stopping.patience must be > 0 (epochs without improvement), not -2");
}

TEST(TaskConfigTest, EarlyStoppingWatchesAFigureOfTheModelsTask) {
  const std::string text = absl::StrCat(
      "model { input_size: 4 layer { type: 'Dense' units: 1 } loss: HUBER }\n"
      "data { validation_fraction: 0.1 }\n"
      "trainer { ",
      kOptimizer, " epochs: 1 early_stopping { metric: 'accuracy' patience: 2 } }\n");
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = Load(text);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            At(text, "early_stopping") +
                "trainer.early_stopping.metric \"accuracy\" is not a figure of model.loss HUBER "
                "(it reports: loss, rmse, mae, r2)");
}

TEST(TaskConfigTest, AValueQuotedInAMessageIsEscaped) {
  // A terminal escape written as the config's octal escape, and a long name.
  const std::string text =
      absl::StrCat("model {\n  input_size: 4\n  layer { type: '\\033[2J' }\n  backend: '",
                   std::string(60, 'b'), "'\n}\ntrainer { ", kOptimizer, " epochs: 1 }\n");
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = Load(text);
  ASSERT_FALSE(config.ok());
  const std::vector<std::string> lines = Lines(config.status());
  ASSERT_EQ(lines.size(), 2u) << config.status();
  // In the order of their lines.
  EXPECT_THAT(lines[0], ::testing::HasSubstr("unknown layer type \"\\x1b[2J\" (known types: "));
  EXPECT_THAT(lines[1], ::testing::HasSubstr("unknown backend \"" + std::string(40, 'b') +
                                             "\" (and 20 bytes more) (known: "));
}

TEST(TaskConfigTest, NumbersAreCheckedAtLoadWithTheirPlace) {
  // The optimizer's fields, and an init's std, at load: not when the
  // optimizer or the layer is built, without a place.
  const std::string text =
      "model {\n  input_size: 4\n  init { std: nan }\n"
      "  layer { type: 'Dense' units: 3 init { std: -0.5 } }\n}\n"
      "trainer {\n  optimizer {\n    type: 'adam'\n    learning_rate: inf\n"
      "    beta1: 1\n    weight_decay: -inf\n  }\n  batch_size: 8 epochs: 1\n}\n";
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = Load(text);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(
      Lines(config.status()),
      ElementsAre(At(text, "std: nan") + "model.init.std must be finite and > 0, not nan",
                  At(text, "std: -0.5") +
                      "model.layer[0].init.std must be > 0 (0 = the default 0.01), not -0.5",
                  At(text, "learning_rate") +
                      "trainer.optimizer.learning_rate must be finite and > 0, not inf",
                  At(text, "weight_decay") +
                      "trainer.optimizer.weight_decay must be finite and >= 0, not -inf",
                  At(text, "beta1") + "trainer.optimizer.beta1 must be in [0, 1), not 1"));
}

TEST(TaskConfigTest, AMemoryModuleNeedsAClassificationLoss) {
  const std::string text = absl::StrCat(
      "model {\n  input_size: 4\n  layer { type: 'Dense' units: 3 name: 'f' }\n"
      "  layer { type: 'Dense' units: 1 }\n  loss: MEAN_SQUARED_ERROR\n}\n"
      "memory_module { type: 'none_registered' capacity: 10 features_after: 'f' }\n"
      "trainer { ",
      kOptimizer, " epochs: 1 }\n");
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = Load(text);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(Lines(config.status()),
              ::testing::Contains(At(text, "loss:") +
                                  "a memory module answers classes, so model.loss must be a "
                                  "classification loss, not MEAN_SQUARED_ERROR"));
}

TEST(TaskConfigTest, DataFilesAreTakenFromTheConfigsDirectory) {
  const std::string dir = TestDir();
  WriteFile(dir + "/t.csv", "a,y\n1,p\n2,q\n");
  const std::string text = absl::StrCat(
      "model { input_size: 1 layer { type: 'Dense' units: 2 } }\n"
      "data { format: 'csv' train_file: 't.csv' test_file: 'missing.csv' target: 'y' }\n"
      "trainer { ",
      kOptimizer, " epochs: 1 }\n");
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config =
      ConfigLoader().LoadText(text, dir + "/x.pbtxt");
  ASSERT_FALSE(config.ok());
  // t.csv is found beside the config; missing.csv is not there.
  EXPECT_EQ(std::string(config.status().message()),
            absl::StrCat(dir, "/x.pbtxt:2:42: no such file: \"", dir, "/missing.csv\""));
}

TEST(TaskConfigTest, CsvAndNpyFieldsDoNotMix) {
  const std::string text = absl::StrCat(
      "model { input_size: 1 layer { type: 'Dense' units: 2 } }\n"
      "data { format: 'npy' train_file: '/no/x.npz' target: 'y' }\n"
      "trainer { ",
      kOptimizer, " epochs: 1 }\n");
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = Load(text);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(Lines(config.status()),
              ElementsAre(At(text, "target") +
                              "data.target does not apply to format \"npy\" (arrays have no "
                              "columns by name)",
                          At(text, "train_file") + "no such file: \"/no/x.npz\""));
}

TEST(TaskConfigTest, ACsvFieldInAnIdxConfigIsNotSilentlyIgnored) {
  // Without data.format the data would be Fashion-MNIST, not the table.
  const std::string text = absl::StrCat(
      "model { input_size: 784 layer { type: 'Dense' units: 10 } }\n"
      "data { train_file: 'mine.csv' target: 'y' }\n"
      "trainer { ",
      kOptimizer, " epochs: 1 }\n");
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = Load(text);
  ASSERT_FALSE(config.ok());
  const std::string hint =
      " does not apply to format \"idx\" (its files are <dir>/<prefix>-images-idx3-ubyte and "
      "-labels-idx1-ubyte; set data.format for a csv or npy data set)";
  EXPECT_THAT(Lines(config.status()), ElementsAre(At(text, "train_file") + "data.train_file" + hint,
                                                  At(text, "target") + "data.target" + hint));
}

}  // namespace
}  // namespace mnemo
