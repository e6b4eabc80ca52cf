// The "csv" data format through LoadData, as tools/train reads a config:
// columns by name, exact numbers, class labels as text or ids, missing
// values, several targets, the validation split; and its errors, each with
// the file, line and column.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
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

std::string Write(const std::string& name, const std::string& text) {
  const std::string path = absl::StrCat(TestDir(), "/", name);
  WriteFile(path, text);
  return path;
}

TEST(CsvFormatTest, ReadsFeaturesAndStringLabelsByColumnName) {
  // Quoted fields with a comma, a quote and a line break, CRLF line ends.
  const std::string train = Write("train.csv",
                                  "id,\"size, cm\",colour,species\r\n"
                                  "1,0.1,2.5,\"setosa\"\r\n"
                                  "2,1e-3,-7,virginica\r\n"
                                  "3,3.4028234e38,0,\"versi\"\"color\"\r\n");
  absl::StatusOr<TrainTestData> data = LoadData(
      ExperimentWithData(absl::StrCat("format: 'csv' train_file: '", train,
                                      "' target: 'species' features: ['colour', 'size, cm']")));
  ASSERT_TRUE(data.ok()) << data.status();
  const Dataset& set = data->train;
  ASSERT_EQ(set.size(), 3);
  ASSERT_EQ(set.feature_dim(), 2);
  // In the order data.features gives; numbers correctly rounded to float.
  EXPECT_EQ(set.features(0, 0), 2.5f);
  EXPECT_EQ(set.features(0, 1), 0.1f);
  EXPECT_EQ(set.features(1, 1), 1e-3f);
  EXPECT_EQ(set.features(2, 1), 3.4028234e38f);
  // Sorted labels are the ids.
  EXPECT_THAT(data->names.class_label(), ElementsAre("setosa", "versi\"color", "virginica"));
  EXPECT_THAT(set.labels, ElementsAre(0, 2, 1));
  EXPECT_EQ(set.num_classes, 3);
  EXPECT_THAT(data->names.feature(), ElementsAre("colour", "size, cm"));
  EXPECT_THAT(data->names.target(), ElementsAre("species"));
  EXPECT_EQ(data->test.size(), 0);  // a test set is optional
}

TEST(CsvFormatTest, WholeNumberLabelsAreTheIdsAndEveryOtherColumnIsAFeature) {
  const std::string train = Write("train.csv", "a,label,b\n1,2,3\n4,0,5\n6,2,7\n");
  const std::string test = Write("test.csv", "b,label,a\n9,1,8\n");
  absl::StatusOr<TrainTestData> data = LoadData(ExperimentWithData(absl::StrCat(
      "format: 'csv' train_file: '", train, "' test_file: '", test, "' target: 'label'")));
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_THAT(data->train.labels, ElementsAre(2, 0, 2));
  EXPECT_THAT(data->names.class_label(), ElementsAre("0", "1", "2"));
  // The test table's columns are found by name, in another order.
  EXPECT_EQ(data->test.features(0, 0), 8.0f);
  EXPECT_EQ(data->test.features(0, 1), 9.0f);
  EXPECT_THAT(data->test.labels, ElementsAre(1));
}

TEST(CsvFormatTest, SeveralRegressionTargets) {
  const std::string train = Write("train.csv", "x,y1,y2\n1,10,-1\n2,20,-2\n");
  absl::StatusOr<TrainTestData> data = LoadData(ExperimentWithData(
      absl::StrCat("format: 'csv' train_file: '", train, "' target: ['y2', 'y1']"),
      config::Model::MEAN_SQUARED_ERROR));
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_TRUE(data->train.regression());
  EXPECT_TRUE(data->train.targets.isApprox((Tensor(2, 2) << -1, 10, -2, 20).finished()));
  EXPECT_EQ(data->train.feature_dim(), 1);
}

TEST(CsvFormatTest, AMissingValueIsAnErrorUnlessTheConfigSaysWhatToDo) {
  const std::string train = Write("train.csv", "a,b,y\n1,2,p\n,4,q\n3,NA,p\n5,6,q\n");
  const std::string base = absl::StrCat("format: 'csv' train_file: '", train, "' target: 'y' ");
  absl::StatusOr<TrainTestData> data = LoadData(ExperimentWithData(base));
  EXPECT_EQ(data.status().message(),
            absl::StrCat(train,
                         ":3:1: a missing value in column \"a\" (data.missing DROP_ROW, MEAN or "
                         "ZERO says what to do with one)"));

  data = LoadData(ExperimentWithData(base + "missing: DROP_ROW"));
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->train.size(), 2);
  EXPECT_TRUE(data->train.features.isApprox((Tensor(2, 2) << 1, 2, 5, 6).finished()));

  data = LoadData(ExperimentWithData(base + "missing: MEAN"));
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->train.features(1, 0), 3.0f);  // (1 + 3 + 5) / 3
  EXPECT_EQ(data->train.features(2, 1), 4.0f);  // (2 + 4 + 6) / 3

  data = LoadData(ExperimentWithData(base + "missing: ZERO"));
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->train.features(1, 0), 0.0f);
}

TEST(CsvFormatTest, ErrorsNameTheFileLineAndColumn) {
  const std::string base = "format: 'csv' target: 'y' train_file: '";
  struct Case {
    std::string text;
    std::string message;  // after "<file>:"
  };
  for (const Case& c : std::vector<Case>{
           {"a,y\n1,p\n2x,q\n", "3:1: \"2x\" in column \"a\" is not a finite number"},
           {"a,y\n1,p\ninf,q\n", "3:1: \"inf\" in column \"a\" is not a finite number"},
           {"a,y\n1,p\n2,\n", "3:3: a missing label in column \"y\""},
           {"a,y\n1,p\n2,\"q\n", "3:3: a quoted field is never closed"},
           {"a,y\n1,p,3\n", "2:1: a row of 3 cells; the header names 2 columns"},
       }) {
    const std::string train = Write("bad.csv", c.text);
    absl::StatusOr<TrainTestData> data = LoadData(ExperimentWithData(base + train + "'"));
    EXPECT_EQ(data.status().message(), absl::StrCat(train, ":", c.message)) << c.text;
  }
}

TEST(CsvFormatTest, ATestLabelTheTrainingSetNeverHadIsRefused) {
  const std::string train = Write("train.csv", "a,y\n1,cat\n2,dog\n");
  const std::string test = Write("test.csv", "a,y\n1,cat\n2,\"bird\"\n");
  absl::StatusOr<TrainTestData> data = LoadData(ExperimentWithData(
      absl::StrCat("format: 'csv' train_file: '", train, "' test_file: '", test, "' target: 'y'")));
  EXPECT_EQ(data.status().message(),
            absl::StrCat(test, ":3:3: label \"bird\" is not one of the training set's 2 classes"));
}

TEST(CsvFormatTest, AColumnThatIsNotThereListsTheColumns) {
  const std::string train = Write("train.csv", "a,b,y\n1,2,p\n");
  absl::StatusOr<TrainTestData> data = LoadData(
      ExperimentWithData(absl::StrCat("format: 'csv' train_file: '", train, "' target: 'price'")));
  EXPECT_THAT(std::string(data.status().message()),
              HasSubstr("data.target: " + train +
                        " has no column \"price\" (its columns: \"a\", \"b\", \"y\")"));
}

TEST(CsvFormatTest, TheValidationSplitIsStratifiedSeededAndDisjoint) {
  std::string text = "x,y\n";
  for (int i = 0; i < 100; ++i) absl::StrAppend(&text, i, ",", i < 80 ? "big" : "small", "\n");
  const std::string train = Write("train.csv", text);
  config::Experiment experiment = ExperimentWithData(absl::StrCat(
      "format: 'csv' train_file: '", train, "' target: 'y' validation_fraction: 0.25"));
  experiment.mutable_trainer()->set_seed(7);
  absl::StatusOr<TrainTestData> data = LoadData(experiment);
  ASSERT_TRUE(data.ok()) << data.status();
  ASSERT_EQ(data->validation.size(), 25);
  ASSERT_EQ(data->train.size(), 75);
  int small = 0;
  std::set<float> seen;
  for (int i = 0; i < 25; ++i) {
    small += data->validation.labels[i] == 1;
    seen.insert(data->validation.features(i, 0));
  }
  EXPECT_EQ(small, 5);  // 20 of 100 are "small": a quarter of them
  for (int i = 0; i < 75; ++i) EXPECT_EQ(seen.count(data->train.features(i, 0)), 0u);
  // The same seed draws the same split; another seed another one.
  absl::StatusOr<TrainTestData> again = LoadData(experiment);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->validation.features == data->validation.features);
  experiment.mutable_trainer()->set_seed(8);
  absl::StatusOr<TrainTestData> other = LoadData(experiment);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->validation.features == data->validation.features);
}

}  // namespace
}  // namespace mnemo
