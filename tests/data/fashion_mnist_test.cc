// The real Fashion-MNIST of Debian's dataset-fashion-mnist, as LoadData reads
// it with the default configuration.
#include <algorithm>
#include <cstdint>
#include <iostream>
#include <vector>

#include "core/config.pb.h"
#include "core/stopwatch.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/data/readers.h"

namespace mnemo {
namespace {

using ::testing::ElementsAre;
using ::testing::Each;

std::vector<int> ClassCounts(const Dataset& data) {
  std::vector<int> counts(10, 0);
  for (const int32_t label : data.labels) {
    EXPECT_GE(label, 0);
    EXPECT_LT(label, 10);
    if (label >= 0 && label < 10) ++counts[label];
  }
  return counts;
}

TEST(FashionMnistTest, LoadsBothSplitsWithTheDefaultConfig) {
  const Stopwatch stopwatch;
  absl::StatusOr<TrainTestData> data = LoadData(config::Data());
  ASSERT_TRUE(data.ok()) << data.status();
  std::cout << "LoadData took " << stopwatch.ElapsedSeconds() << " s\n";

  const Dataset& train = data->train;
  const Dataset& test = data->test;
  EXPECT_EQ(train.size(), 60000);
  EXPECT_EQ(test.size(), 10000);
  EXPECT_EQ(train.num_classes, 10);
  EXPECT_EQ(test.num_classes, 10);
  EXPECT_EQ(train.features.rows(), 60000);
  EXPECT_EQ(test.features.rows(), 10000);
  EXPECT_EQ(train.features.cols(), 784);
  EXPECT_EQ(test.features.cols(), 784);

  // Fashion-MNIST is balanced.
  EXPECT_THAT(ClassCounts(train), Each(6000));
  EXPECT_THAT(ClassCounts(test), Each(1000));

  for (const Dataset* split : {&train, &test}) {
    const float* begin = split->features.data();
    const auto [min, max] = std::minmax_element(begin, begin + split->features.size());
    EXPECT_EQ(*min, 0.0f);
    EXPECT_EQ(*max, 1.0f);
  }

  // The first samples of the published files (first image: an ankle boot
  // whose pixels sum to 76247 / 255).
  EXPECT_THAT(std::vector<int32_t>(train.labels.begin(), train.labels.begin() + 10),
              ElementsAre(9, 0, 0, 3, 0, 2, 7, 2, 5, 5));
  EXPECT_THAT(std::vector<int32_t>(test.labels.begin(), test.labels.begin() + 10),
              ElementsAre(9, 2, 1, 1, 6, 1, 4, 6, 5, 7));
  EXPECT_NEAR(train.features.row(0).cast<double>().sum(), 76247.0 / 255.0, 1e-3);
}

TEST(FashionMnistTest, LimitsKeepTheFirstSamples) {
  config::Data config;
  config.set_train_limit(100);
  config.set_test_limit(10);
  absl::StatusOr<TrainTestData> data = LoadData(config);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->train.size(), 100);
  EXPECT_EQ(data->train.features.rows(), 100);
  EXPECT_EQ(data->test.size(), 10);
  EXPECT_THAT(data->test.labels, ElementsAre(9, 2, 1, 1, 6, 1, 4, 6, 5, 7));
}

}  // namespace
}  // namespace mnemo
