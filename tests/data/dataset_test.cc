// LoadData: defaults, file names, formats and limits, on small IDX files.
#include <sys/stat.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/config.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_files.h"
#include "tools/data/readers.h"

namespace mnemo {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// Writes `<dir>/<prefix>-{images-idx3,labels-idx1}-ubyte`: 1 x 1 images whose
// only pixel is the sample's label.
void WriteSplit(const std::string& dir, const std::string& prefix,
                const std::vector<uint8_t>& labels) {
  std::string images, label_file;
  for (const uint32_t n : {0x803u, static_cast<uint32_t>(labels.size()), 1u, 1u}) {
    AppendBigEndian32(n, &images);
  }
  images.append(labels.begin(), labels.end());
  for (const uint32_t n : {0x801u, static_cast<uint32_t>(labels.size())}) {
    AppendBigEndian32(n, &label_file);
  }
  label_file.append(labels.begin(), labels.end());
  WriteFile(dir + "/" + prefix + "-images-idx3-ubyte", images);
  WriteFile(dir + "/" + prefix + "-labels-idx1-ubyte", label_file);
}

TEST(LoadDataTest, ReadsTheDefaultPrefixesFromTheConfiguredDirectory) {
  const std::string dir = TestDir();
  WriteSplit(dir, "train", {1, 2, 3, 4});
  WriteSplit(dir, "t10k", {5, 6});
  config::Data config;
  config.set_dir(dir);
  absl::StatusOr<TrainTestData> data = LoadData(config);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_THAT(data->train.labels, ElementsAre(1, 2, 3, 4));
  EXPECT_THAT(data->test.labels, ElementsAre(5, 6));
  EXPECT_FLOAT_EQ(data->test.features(1, 0), 6.0f / 255.0f);
}

TEST(LoadDataTest, AppliesPrefixesFormatAndLimits) {
  const std::string dir = TestDir();
  WriteSplit(dir, "mine", {1, 2, 3, 4});
  WriteSplit(dir, "theirs", {5, 6, 7});
  config::Data config;
  config.set_format("idx");
  config.set_dir(dir + "/");
  config.set_train_prefix("mine");
  config.set_test_prefix("theirs");
  config.set_train_limit(3);
  config.set_test_limit(1);
  absl::StatusOr<TrainTestData> data = LoadData(config);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_THAT(data->train.labels, ElementsAre(1, 2, 3));
  EXPECT_THAT(data->test.labels, ElementsAre(5));
}

TEST(LoadDataTest, PrefersTheGzipFile) {
  const std::string dir = TestDir();
  WriteSplit(dir, "train", {1});
  WriteSplit(dir, "t10k", {2});
  // A broken .gz proves which file is read.
  WriteFile(dir + "/t10k-images-idx3-ubyte.gz", "not gzip at all");
  config::Data config;
  config.set_dir(dir);
  absl::StatusOr<TrainTestData> data = LoadData(config);
  EXPECT_THAT(std::string(data.status().message()),
              HasSubstr(dir + "/t10k-images-idx3-ubyte.gz: wrong magic number"));
}

TEST(LoadDataTest, AMissingFileListsThePathsTried) {
  const std::string dir = TestDir();
  WriteSplit(dir, "train", {1});
  config::Data config;
  config.set_dir(dir);
  absl::StatusOr<TrainTestData> data = LoadData(config);
  EXPECT_EQ(data.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(data.status().message(),
            absl::StrCat("no t10k-images-idx3-ubyte file in ", dir, "; tried: ", dir,
                         "/t10k-images-idx3-ubyte.gz, ", dir, "/t10k-images-idx3-ubyte"));
}

TEST(LoadDataTest, AMissingFileInTheDefaultDirectoryHintsAtThePackage) {
  config::Data config;
  config.set_train_prefix("no-such-prefix");
  absl::StatusOr<TrainTestData> data = LoadData(config);
  EXPECT_EQ(data.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(data.status().message()),
              HasSubstr("install Debian's dataset-fashion-mnist (./bazelw does)"));

  config.set_dir(TestDir());
  EXPECT_THAT(std::string(LoadData(config).status().message()),
              Not(HasSubstr("dataset-fashion-mnist")));
}

TEST(LoadDataTest, RefusesAnUnknownFormatListingTheKnownOnes) {
  config::Data config;
  config.set_format("cifar100");
  EXPECT_EQ(LoadData(config).status().message(),
            "unknown data format type \"cifar100\" (known types: cifar10, csv, idx, npy)");
}

TEST(LoadDataTest, RefusesNegativeLimits) {
  config::Data config;
  config.set_test_limit(-5);
  EXPECT_EQ(LoadData(config).status().message(), "data.test_limit must be >= 0, not -5");
}

// The test set alone, as tools/eval reads it: the training files need not
// be there, and without a test set it is an error naming where it looked.
TEST(LoadDataTest, TheTestSetAloneNeedsNoTrainingFiles) {
  const std::string dir = TestDir();
  WriteSplit(dir, "t10k", {5, 6, 7});
  config::Experiment experiment;
  experiment.mutable_data()->set_dir(dir);
  EXPECT_THAT(std::string(LoadData(experiment).status().message()),
              HasSubstr("no train-images-idx3-ubyte file in " + dir));
  absl::StatusOr<TrainTestData> data = LoadTestData(experiment, config::DataNames());
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->train.size(), 0);
  EXPECT_THAT(data->test.labels, ElementsAre(5, 6, 7));

  experiment.mutable_data()->set_format("npy");
  experiment.mutable_data()->set_train_file(dir + "/x.npy");
  EXPECT_EQ(LoadTestData(experiment, config::DataNames()).status().message(),
            dir +
                "/x.npy: no test samples (data.test_file names the test set; idx reads "
                "data.test_prefix)");
}

}  // namespace
}  // namespace mnemo
