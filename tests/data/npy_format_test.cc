// The "npy" data format through LoadData: features mapped and read on
// demand, targets as labels or values, .npz archives, and its errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/config.pb.h"
#include "tests/testing/data_files.h"
#include "tests/testing/test_files.h"
#include "tools/data/readers.h"

namespace mnemo {
namespace {

using ::testing::ElementsAre;
using testing::ExperimentWithData;
using ::testing::HasSubstr;

// An .npy file `name` in the test's directory; returns its path.
template <typename T>
std::string WriteNpy(const std::string& name, const char* descr, const std::string& shape,
                     const std::vector<T>& values) {
  const std::string path = absl::StrCat(TestDir(), "/", name);
  testing::WriteNpy(path, descr, shape, values.data(), values.size());
  return path;
}

TEST(NpyFormatTest, ImagesAndLabelsFromTwoFilesReadOnDemand) {
  const std::string x = WriteNpy<uint8_t>("x.npy", "|u1", "(3, 2, 2)",
                                          {0, 1, 2, 3, 10, 11, 12, 13, 250, 251, 252, 255});
  const std::string y = WriteNpy<int64_t>("y.npy", "<i8", "(3,)", {2, 0, 1});
  absl::StatusOr<TrainTestData> data = LoadData(ExperimentWithData(
      absl::StrCat("format: 'npy' train_file: '", x, "' train_targets_file: '", y, "' test_file: '",
                   x, "' test_targets_file: '", y, "' test_limit: 2")));
  ASSERT_TRUE(data.ok()) << data.status();
  const Dataset& train = data->train;
  ASSERT_NE(train.rows, nullptr);  // mapped, not copied
  EXPECT_EQ(train.features.size(), 0);
  EXPECT_EQ(train.size(), 3);
  EXPECT_EQ(train.feature_dim(), 4);
  EXPECT_THAT(train.labels, ElementsAre(2, 0, 1));
  EXPECT_EQ(train.num_classes, 3);
  Tensor rows;
  const std::vector<int32_t> order = {2, 0};
  GatherRows(train, order.data(), 2, &rows);
  EXPECT_TRUE(rows == (Tensor(2, 4) << 250, 251, 252, 255, 0, 1, 2, 3).finished());
  EXPECT_EQ(data->test.size(), 2);  // test_limit
}

TEST(NpyFormatTest, RegressionTargetsKeepTheirColumns) {
  const std::string x = WriteNpy<float>("x.npy", "<f4", "(2, 1)", {0.5f, -1.5f});
  const std::string y = WriteNpy<double>("y.npy", "<f8", "(2, 2)", {1.0, 2.0, 3.0, 4.25});
  absl::StatusOr<TrainTestData> data = LoadData(ExperimentWithData(
      absl::StrCat("format: 'npy' train_file: '", x, "' train_targets_file: '", y, "'"),
      config::Model::HUBER));
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_TRUE(data->train.regression());
  EXPECT_TRUE(data->train.targets == (Tensor(2, 2) << 1, 2, 3, 4.25).finished());
}

TEST(NpyFormatTest, AnNpzArchiveHoldsBothArrays) {
  // tests/data/testdata/make_npz.py: x = arange(15).reshape(5, 3), y = arange(5).
  const std::string archive = "tests/data/testdata/zip64.npz";
  absl::StatusOr<TrainTestData> data =
      LoadData(ExperimentWithData(absl::StrCat("format: 'npy' train_file: '", archive, "'")));
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_THAT(data->train.labels, ElementsAre(0, 1, 2, 3, 4));
  Tensor rows;
  SliceRows(data->train, 4, 1, &rows);
  EXPECT_TRUE(rows == (Tensor(1, 3) << 12, 13, 14).finished());
  // Other names for the arrays.
  data = LoadData(ExperimentWithData(absl::StrCat("format: 'npy' train_file: '", archive,
                                                  "' features_array: 'y' targets_array: 'x'")));
  EXPECT_THAT(std::string(data.status().message()),
              HasSubstr("has 3 values per row; a classifier's targets are one class label per "
                        "row"));
}

TEST(NpyFormatTest, LabelsMustBeWholeNumbersAndCountsMustAgree) {
  const std::string x = WriteNpy<float>("x.npy", "<f4", "(2, 1)", {0.5f, -1.5f});
  const std::string bad = WriteNpy<float>("bad.npy", "<f4", "(2,)", {1.0f, 2.5f});
  absl::StatusOr<TrainTestData> data = LoadData(ExperimentWithData(
      absl::StrCat("format: 'npy' train_file: '", x, "' train_targets_file: '", bad, "'")));
  EXPECT_EQ(data.status().message(),
            absl::StrCat(bad,
                         ": at byte 132: element 1 is 2.5, not a class label (a whole "
                         "number from 0 to 1048576)"));
  const std::string three = WriteNpy<int32_t>("three.npy", "<i4", "(3,)", {0, 1, 1});
  data = LoadData(ExperimentWithData(
      absl::StrCat("format: 'npy' train_file: '", x, "' train_targets_file: '", three, "'")));
  EXPECT_EQ(data.status().message(),
            absl::StrCat(three, " has 3 targets for the 2 rows of features in ", x));
}

}  // namespace
}  // namespace mnemo
