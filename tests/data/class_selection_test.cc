// data.rare_classes and data.held_out_classes: which samples each set keeps,
// counted against the labels, the draw's seed and nesting, and the errors of
// a class the data does not have.
#include "tools/data/class_selection.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "google/protobuf/text_format.h"

namespace mnemo {
namespace {

using ::testing::HasSubstr;
using ::testing::IsSubsetOf;

// `per_class` samples of each of `classes` classes, interleaved (0 1 2 0 1 2
// ...); feature 0 of each is the sample's index, so a subset shows which
// samples it kept.
Dataset Interleaved(int classes, int per_class) {
  Dataset data;
  data.num_classes = classes;
  data.features = Tensor::Zero(classes * per_class, 2);
  for (int i = 0; i < classes * per_class; ++i) {
    data.features(i, 0) = static_cast<float>(i);
    data.labels.push_back(i % classes);
  }
  return data;
}

TrainTestData FourClasses() {
  TrainTestData data;
  data.train = Interleaved(4, 50);
  data.validation = Interleaved(4, 5);
  data.test = Interleaved(4, 10);
  return data;
}

config::Data DataConfig(const std::string& text) {
  config::Data config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config)) << text;
  return config;
}

std::map<int, int> Counts(const Dataset& data) {
  std::map<int, int> counts;
  for (int32_t label : data.labels) ++counts[label];
  return counts;
}

// The original indices (feature 0) of the samples of `label` in `data`.
std::vector<int> IndicesOf(const Dataset& data, int label) {
  std::vector<int> indices;
  for (int i = 0; i < data.size(); ++i) {
    if (data.labels[i] == label) indices.push_back(static_cast<int>(data.features(i, 0)));
  }
  return indices;
}

TEST(ClassSelectionTest, RareClassesKeepThatManyTrainingSamplesAndNothingElseChanges) {
  TrainTestData data = FourClasses();
  ASSERT_TRUE(SelectClasses(DataConfig("rare_classes { classes: [1, 3] keep: 7 }"), 1, &data).ok());
  EXPECT_EQ(Counts(data.train), (std::map<int, int>{{0, 50}, {1, 7}, {2, 50}, {3, 7}}));
  EXPECT_EQ(Counts(data.validation), (std::map<int, int>{{0, 5}, {1, 5}, {2, 5}, {3, 5}}));
  EXPECT_EQ(data.test.size(), 40);
  // The other classes' samples are all there, in their order.
  std::vector<int> zeros;
  for (int i = 0; i < 200; i += 4) zeros.push_back(i);
  EXPECT_EQ(IndicesOf(data.train, 0), zeros);
  // A rare class's kept samples are its own, in the file's order.
  const std::vector<int> ones = IndicesOf(data.train, 1);
  EXPECT_TRUE(std::is_sorted(ones.begin(), ones.end()));
  for (int i : ones) EXPECT_EQ(i % 4, 1);
}

TEST(ClassSelectionTest, TheDrawDependsOnTheSeedAndNests) {
  const Dataset train = Interleaved(4, 50);
  const std::vector<int32_t> five = DrawClassSamples(train, 2, 5, 1);
  const std::vector<int32_t> ten = DrawClassSamples(train, 2, 10, 1);
  EXPECT_EQ(five.size(), 5u);
  EXPECT_EQ(ten.size(), 10u);
  EXPECT_THAT(five, IsSubsetOf(ten));
  EXPECT_EQ(DrawClassSamples(train, 2, 10, 1), ten);  // reproducible
  EXPECT_NE(DrawClassSamples(train, 2, 10, 2), ten);  // and the seed's
  // More than the class has: all of it.
  EXPECT_EQ(DrawClassSamples(train, 2, 80, 1).size(), 50u);
  // The class's draw does not depend on the others named.
  TrainTestData alone = FourClasses();
  TrainTestData together = FourClasses();
  ASSERT_TRUE(SelectClasses(DataConfig("rare_classes { classes: 2 keep: 10 }"), 1, &alone).ok());
  ASSERT_TRUE(
      SelectClasses(DataConfig("rare_classes { classes: [0, 2] keep: 10 }"), 1, &together).ok());
  EXPECT_EQ(IndicesOf(alone.train, 2), IndicesOf(together.train, 2));
  std::vector<int> drawn;
  for (int32_t i : ten) drawn.push_back(i);
  EXPECT_EQ(IndicesOf(alone.train, 2), drawn);
}

TEST(ClassSelectionTest, HeldOutClassesLeaveTrainingAndValidationButNotTest) {
  TrainTestData data = FourClasses();
  ASSERT_TRUE(SelectClasses(DataConfig("held_out_classes: [0, 2]"), 1, &data).ok());
  EXPECT_EQ(Counts(data.train), (std::map<int, int>{{1, 50}, {3, 50}}));
  EXPECT_EQ(Counts(data.validation), (std::map<int, int>{{1, 5}, {3, 5}}));
  EXPECT_EQ(Counts(data.test), (std::map<int, int>{{0, 10}, {1, 10}, {2, 10}, {3, 10}}));
}

TEST(ClassSelectionTest, AClassTheTrainingSetLacksIsAnErrorNamingTheField) {
  TrainTestData data = FourClasses();
  absl::Status s = SelectClasses(DataConfig("rare_classes { classes: [1, 9] keep: 3 }"), 1, &data);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("data.rare_classes.classes: class 9 has no sample"));
  EXPECT_EQ(data.train.size(), 200);  // nothing changed
  s = SelectClasses(DataConfig("held_out_classes: 4"), 1, &data);
  EXPECT_THAT(s.message(), HasSubstr("data.held_out_classes: class 4 has no sample"));
}

TEST(ClassSelectionTest, NoSelectionChangesNothing) {
  TrainTestData data = FourClasses();
  ASSERT_TRUE(SelectClasses(config::Data(), 1, &data).ok());
  EXPECT_EQ(data.train.size(), 200);
  EXPECT_EQ(data.validation.size(), 20);
}

}  // namespace
}  // namespace mnemo
