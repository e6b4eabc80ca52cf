// data.augmentation in a config and in LoadData: the readers report their
// images' shape (idx from its header, cifar10 3 x 32 x 32), LoadData fills
// what the config leaves out, and what is wrong is refused naming the field,
// with its place in the file when the config loader can tell it.

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/augmentation.h"
#include "core/config_loader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/config_text.h"
#include "tests/testing/test_files.h"
#include "tools/data/readers.h"

namespace mnemo {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPath[] = "aug.pbtxt";

// `count` IDX images of rows x cols pixels (values 0, 1, 2, ...) and their
// labels (0, 1, 2, ...), as <dir>/<prefix>-images-idx3-ubyte and -labels-.
void WriteIdx(const std::string& dir, const std::string& prefix, uint32_t count, uint32_t rows,
              uint32_t cols) {
  std::string images, labels;
  AppendBigEndian32(0x803, &images);
  AppendBigEndian32(count, &images);
  AppendBigEndian32(rows, &images);
  AppendBigEndian32(cols, &images);
  for (uint32_t i = 0; i < count * rows * cols; ++i) images += static_cast<char>(i % 256);
  AppendBigEndian32(0x801, &labels);
  AppendBigEndian32(count, &labels);
  for (uint32_t i = 0; i < count; ++i) labels += static_cast<char>(i % 10);
  WriteFile(absl::StrCat(dir, "/", prefix, "-images-idx3-ubyte"), images);
  WriteFile(absl::StrCat(dir, "/", prefix, "-labels-idx1-ubyte"), labels);
}

// Training and test sets of 3 x 5 images in the test's directory.
std::string IdxDir() {
  const std::string dir = TestDir();
  WriteIdx(dir, "train", 20, 3, 5);
  WriteIdx(dir, "t10k", 4, 3, 5);
  return dir;
}

// A config of a model of `input_size` features on `data` (the data
// section's fields).
std::string ConfigText(int input_size, const std::string& data) {
  return absl::StrCat("model {\n  input_size: ", input_size,
                      "\n  layer { type: \"Dense\" units: 10 }\n}\ndata {\n", data,
                      "\n}\ntrainer {\n  optimizer { type: \"sgd\" learning_rate: 0.1 }\n"
                      "  batch_size: 4\n  epochs: 1\n}\n");
}

absl::StatusOr<std::unique_ptr<LoadedConfig>> Load(const std::string& text) {
  return ConfigLoader().LoadText(text, kPath);
}

// The config loader's complaint about `text`.
std::string LoadError(const std::string& text) {
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = Load(text);
  if (config.ok()) return "(loaded without error)";
  return std::string(config.status().message());
}

TEST(AugmentationConfigTest, TheReadersReportTheirImagesShape) {
  WriteIdx(TestDir(), "small", 2, 3, 5);
  absl::StatusOr<Dataset> idx =
      ReadIdx(TestDir() + "/small-images-idx3-ubyte", TestDir() + "/small-labels-idx1-ubyte");
  ASSERT_TRUE(idx.ok()) << idx.status();
  EXPECT_EQ(idx->image.height, 3);
  EXPECT_EQ(idx->image.width, 5);
  EXPECT_EQ(idx->image.channels, 1);

  const std::string record(1 + 3072, '\1');
  WriteFile(TestDir() + "/batch.bin", record);
  absl::StatusOr<Dataset> cifar = ReadCifar10({TestDir() + "/batch.bin"});
  ASSERT_TRUE(cifar.ok()) << cifar.status();
  EXPECT_EQ(cifar->image.height, 32);
  EXPECT_EQ(cifar->image.width, 32);
  EXPECT_EQ(cifar->image.channels, 3);
}

TEST(AugmentationConfigTest, LoadDataFillsTheShapeFromTheDataAndKeepsItThroughTheSplit) {
  const std::string text = ConfigText(15, absl::StrCat("  dir: \"", IdxDir(),
                                                       "\"\n  validation_fraction: 0.25\n"
                                                       "  augmentation { max_shift: 1 }"));
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = Load(text);
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<TrainTestData> data = LoadData((*config)->experiment());
  ASSERT_TRUE(data.ok()) << data.status();
  ASSERT_TRUE(data->augmentation.has_value());
  EXPECT_EQ(data->augmentation->height(), 3);
  EXPECT_EQ(data->augmentation->width(), 5);
  EXPECT_EQ(data->augmentation->channels(), 1);
  EXPECT_EQ(data->augmentation->max_shift(), 1);
  for (const Dataset* set : {&data->train, &data->validation, &data->test}) {
    EXPECT_EQ(set->image.height, 3);
    EXPECT_EQ(set->image.width, 5);
  }
  // Without the section: none.
  config = Load(ConfigText(15, absl::StrCat("  dir: \"", IdxDir(), "\"")));
  ASSERT_TRUE(config.ok()) << config.status();
  data = LoadData((*config)->experiment());
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_FALSE(data->augmentation.has_value());
}

TEST(AugmentationConfigTest, AShapeThatDisagreesWithTheIdxHeaderIsRefused) {
  // 5 x 3 is 15 features, as the model takes; the header says 3 x 5.
  const std::string text = ConfigText(
      15, absl::StrCat("  dir: \"", IdxDir(),
                       "\"\n  augmentation { height: 5 width: 3 horizontal_flip: true }"));
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = Load(text);
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<TrainTestData> data = LoadData((*config)->experiment());
  ASSERT_FALSE(data.ok());
  EXPECT_THAT(data.status().message(),
              HasSubstr("data.augmentation.height is 5, but the training images of " + TestDir() +
                        " (idx) have height 3; leave it out or set 3"));
  EXPECT_THAT(data.status().message(), HasSubstr("data.augmentation.width is 3, but"));
}

TEST(AugmentationConfigTest, BadValuesAreRefusedAtTheirPlaceInTheFile) {
  const std::string dir = IdxDir();
  struct Case {
    std::string augmentation;  // the section's fields
    std::string needle;        // where the message points
    std::string message;
  };
  const std::vector<Case> cases = {
      {"max_rotation_degrees: 200", "max_rotation_degrees",
       "data.augmentation.max_rotation_degrees must be in [0, 180], not 200"},
      {"max_rotation_degrees: -1", "max_rotation_degrees",
       "data.augmentation.max_rotation_degrees must be in [0, 180], not -1"},
      {"max_rotation_degrees: nan", "max_rotation_degrees",
       "data.augmentation.max_rotation_degrees must be in [0, 180], not nan"},
      {"max_shift: 1 fill: inf", "fill", "data.augmentation.fill must be finite, not inf"},
      {"max_shift: -2", "max_shift", "data.augmentation.max_shift must be >= 0, not -2"},
      {"height: 3 width: 5", "augmentation",
       "data.augmentation changes nothing: set max_shift, crop_padding, horizontal_flip or "
       "max_rotation_degrees, or leave it out"},
      {"height: 4 width: 5 max_shift: 1", "height",
       "data.augmentation's images of 4 x 5 x 1 (height x width x channels) are 20 features, "
       "but model.input_size is 15"},
      {"channels: 3 max_shift: 1", "channels",
       "data.augmentation.channels is 3, but idx's images have channels 1; leave it out or set "
       "1"},
  };
  for (const Case& c : cases) {
    const std::string text = ConfigText(
        15, absl::StrCat("  dir: \"", dir, "\"\n  augmentation { ", c.augmentation, " }"));
    EXPECT_THAT(LoadError(text), HasSubstr(testing::ConfigAt(kPath, text, c.needle) + c.message))
        << c.augmentation;
  }
}

TEST(AugmentationConfigTest, Cifar10sShapeIsKnownBeforeItsFilesAreRead) {
  const std::string text = ConfigText(
      3072, absl::StrCat("  format: \"cifar10\"\n  dir: \"", TestDir(),
                         "\"\n  augmentation { height: 32 width: 28 channels: 1 max_shift: 4 }"));
  const std::string error = LoadError(text);
  EXPECT_THAT(error, HasSubstr(testing::ConfigAt(kPath, text, "width: 28") +
                               "data.augmentation.width is 28, but cifar10's images have "
                               "width 32; leave it out or set 32"));
  EXPECT_THAT(error, HasSubstr("data.augmentation.channels is 1, but cifar10's images have "
                               "channels 3"));
  EXPECT_THAT(error, Not(HasSubstr("data.augmentation.height is")));
}

TEST(AugmentationConfigTest, CsvAndNpyNeedHeightAndWidth) {
  for (const std::string format : {"csv", "npy"}) {
    const std::string text = ConfigText(
        4, absl::StrCat("  format: \"", format, "\"\n  train_file: \"train.", format,
                        "\"\n  target: \"y\"\n  augmentation { width: 2 horizontal_flip: true }"));
    const std::string error = LoadError(text);
    EXPECT_THAT(error, HasSubstr(testing::ConfigAt(kPath, text, "augmentation") +
                                 "data.augmentation.height is required with data.format \"" +
                                 format + "\": its rows have no image shape of their own"))
        << format;
    EXPECT_THAT(error, Not(HasSubstr("data.augmentation.width is required"))) << format;
  }
}

TEST(AugmentationConfigTest, CsvRowsTakeTheShapeTheConfigGives) {
  WriteFile(TestDir() + "/pixels.csv", "a,b,c,d,y\n1,2,3,4,0\n5,6,7,8,1\n");
  const std::string text =
      ConfigText(4, absl::StrCat("  format: \"csv\"\n  train_file: \"", TestDir(),
                                 "/pixels.csv\"\n  target: \"y\"\n"
                                 "  augmentation { height: 2 width: 2 horizontal_flip: true }"));
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = Load(text);
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<TrainTestData> data = LoadData((*config)->experiment());
  ASSERT_TRUE(data.ok()) << data.status();
  ASSERT_TRUE(data->augmentation.has_value());
  EXPECT_EQ(data->augmentation->height(), 2);
  EXPECT_EQ(data->augmentation->width(), 2);
  EXPECT_EQ(data->augmentation->channels(), 1);  // the default
}

TEST(AugmentationConfigTest, ResolveNeedsAShapeFromTheConfigOrTheData) {
  config::Augmentation config;
  config.set_max_shift(1);
  absl::StatusOr<config::Augmentation> resolved =
      ResolveAugmentation(config, ImageShape{}, 16, "the plugin's images");
  ASSERT_FALSE(resolved.ok());
  EXPECT_THAT(resolved.status().message(),
              HasSubstr("data.augmentation.height is required: the plugin's images have no "
                        "known image shape"));
  EXPECT_THAT(resolved.status().message(), HasSubstr("data.augmentation.width is required"));

  config.set_height(4);
  config.set_width(4);
  resolved = ResolveAugmentation(config, ImageShape{}, 16, "the plugin's images");
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(resolved->channels(), 1);
  resolved = ResolveAugmentation(config, ImageShape{4, 4, 1}, 32, "the plugin's images");
  ASSERT_FALSE(resolved.ok());
  EXPECT_THAT(resolved.status().message(),
              HasSubstr("are 16 features, but the samples' features per sample are 32"));
}

}  // namespace
}  // namespace mnemo
