// ReadCifar10 and LoadData's "cifar10" format on small files the test writes.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/config.pb.h"
#include "core/config_loader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_files.h"
#include "tools/data/readers.h"

namespace mnemo {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int kPlane = 32 * 32;

// A record: the label, then red, green and blue planes; pixel p of plane c
// is (label + 3 c + p) mod 256, so every position is told apart.
std::string Record(int label) {
  std::string record(1, static_cast<char>(label));
  for (int c = 0; c < 3; ++c) {
    for (int p = 0; p < kPlane; ++p) record.push_back(static_cast<char>((label + 3 * c + p) % 256));
  }
  return record;
}

std::string Records(const std::vector<int>& labels) {
  std::string out;
  for (int label : labels) out += Record(label);
  return out;
}

std::string Write(const std::string& name, const std::string& contents) {
  const std::string path = TestDir() + "/" + name;
  WriteFile(path, contents);
  return path;
}

TEST(ReadCifar10Test, ReadsLabelsAndPlanesInFileOrderScaledTo01) {
  const std::string a = Write("data_batch_1.bin", Records({3, 9}));
  const std::string b = Write("data_batch_2.bin", Records({0}));
  absl::StatusOr<Dataset> data = ReadCifar10({a, b});
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->num_classes, 10);
  EXPECT_THAT(data->labels, ElementsAre(3, 9, 0));
  ASSERT_EQ(data->features.rows(), 3);
  ASSERT_EQ(data->features.cols(), 3072);
  // Red pixel 0, green pixel 0 (index 1024), blue pixel 5 (index 2053).
  EXPECT_FLOAT_EQ(data->features(0, 0), 3 / 255.0f);
  EXPECT_FLOAT_EQ(data->features(0, 1024), 6 / 255.0f);
  EXPECT_FLOAT_EQ(data->features(1, 2048 + 5), (9 + 6 + 5) / 255.0f);
  EXPECT_FLOAT_EQ(data->features(2, 255), 1.0f);  // byte 255
  EXPECT_FLOAT_EQ(data->features(2, 256), 0.0f);  // byte 0
}

TEST(ReadCifar10Test, LimitKeepsTheFirstSamplesAcrossFiles) {
  const std::string a = Write("data_batch_1.bin", Records({1, 2}));
  const std::string b = Write("data_batch_2.bin", Records({3, 4}));
  const std::string c = Write("data_batch_3.bin", "not read");
  absl::StatusOr<Dataset> data = ReadCifar10({a, b, c}, 3);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_THAT(data->labels, ElementsAre(1, 2, 3));
  EXPECT_EQ(data->features.rows(), 3);
}

TEST(ReadCifar10Test, ASizeThatIsNotWholeRecordsIsRefusedWithTheCountAndLeftover) {
  const std::string path = Write("data_batch_1.bin", Records({1, 2}) + "abcde");
  EXPECT_EQ(ReadCifar10({path}).status().message(),
            absl::StrCat(path,
                         ": the size, 6151 bytes, is not a multiple of 3073 (a label byte "
                         "and 3072 pixel bytes): 2 records and 5 bytes left over"));
}

TEST(ReadCifar10Test, ALabelAboveNineIsRefusedWithItsRecord) {
  const std::string path = Write("test_batch.bin", Records({1, 2, 10}));
  EXPECT_EQ(ReadCifar10({path}).status().message(),
            absl::StrCat(path, ": label 10 of record 2 is out of range 0 to 9"));
}

TEST(ReadCifar10Test, AMissingFileIsNamed) {
  const std::string path = TestDir() + "/data_batch_7.bin";
  absl::Status status = ReadCifar10({path}).status();
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr(path));
}

TEST(ReadCifar10Test, RefusesANegativeLimit) { EXPECT_FALSE(ReadCifar10({"x"}, -1).ok()); }

TEST(LoadDataCifar10Test, ReadsTheFiveTrainingBatchesAndTheTestBatch) {
  for (int i = 1; i <= 5; ++i) Write(absl::StrCat("data_batch_", i, ".bin"), Records({i, i}));
  Write("test_batch.bin", Records({7}));
  config::Data config;
  config.set_format("cifar10");
  config.set_dir(TestDir());
  config.set_train_limit(9);
  absl::StatusOr<TrainTestData> data = LoadData(config);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_THAT(data->train.labels, ElementsAre(1, 1, 2, 2, 3, 3, 4, 4, 5));
  EXPECT_THAT(data->test.labels, ElementsAre(7));
}

TEST(LoadDataCifar10Test, NeedsADirAndRefusesPrefixes) {
  config::Data config;
  config.set_format("cifar10");
  EXPECT_THAT(std::string(LoadData(config).status().message()),
              HasSubstr("data.dir is required with data.format \"cifar10\""));
  config.set_dir(TestDir());
  config.set_train_prefix("train");
  EXPECT_EQ(LoadData(config).status().message(),
            "data.train_prefix applies to format \"idx\" only; cifar10's files have fixed names");
}

TEST(LoadDataCifar10Test, AMissingBatchIsNamed) {
  Write("data_batch_1.bin", Records({1}));
  config::Data config;
  config.set_format("cifar10");
  config.set_dir(TestDir());
  absl::Status status = LoadData(config).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(status.message()), HasSubstr("no data_batch_2.bin file in"));
}

// The config loader knows the format and checks the files before any run.
TEST(LoadDataCifar10Test, TheConfigLoaderNamesMissingFilesAndRefusesPrefixes) {
  Write("data_batch_1.bin", Records({1}));
  const std::string text = absl::StrCat(
      "model { input_size: 3072 layer { type: \"Dense\" units: 10 } }\n"
      "data { format: \"cifar10\" dir: \"",
      TestDir(),
      "\" test_prefix: \"t10k\" }\n"
      "trainer { optimizer { type: \"sgd\" learning_rate: 0.1 } batch_size: 8 epochs: 1 }\n");
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config =
      ConfigLoader().LoadText(text, "cifar.pbtxt");
  ASSERT_FALSE(config.ok());
  const std::string message(config.status().message());
  EXPECT_THAT(message, HasSubstr("cifar.pbtxt:2:"));
  EXPECT_THAT(message, HasSubstr("data.test_prefix applies to format \"idx\" only"));
  EXPECT_THAT(message, HasSubstr("is missing files: data_batch_2.bin[.gz], data_batch_3.bin[.gz], "
                                 "data_batch_4.bin[.gz], data_batch_5.bin[.gz], "
                                 "test_batch.bin[.gz]"));
}

}  // namespace
}  // namespace mnemo
