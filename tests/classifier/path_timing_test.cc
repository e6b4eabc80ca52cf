// MeasurePathTimes: each stage timed, the paths and their ratio as defined.
#include "memory_modules/classifier/path_timing.h"

#include <memory>
#include <vector>

#include "gtest/gtest.h"
#include "tests/classifier/exact_memory.h"
#include "tests/classifier/small_models.h"
#include "tests/testing/tensors.h"

namespace mnemo {
namespace {

using ::mnemo::testing::Assemble;
using ::mnemo::testing::ExactMemory;
using ::mnemo::testing::MakeDense;
using ::mnemo::testing::MakeNetwork;
using ::mnemo::testing::SmallClassifier;
using ::mnemo::testing::TestRng;

TEST(PathTimingTest, TimesEveryStageAndDefinesThePathsAsTheSeedDoes) {
  TestRng rng(1);
  std::vector<std::unique_ptr<Layer>> backbone;
  backbone.push_back(MakeDense("b", rng.Random(16, 32), rng.Random(1, 32)));
  std::vector<std::unique_ptr<Layer>> head;
  head.push_back(MakeDense("h", rng.Random(32, 4), rng.Random(1, 4)));
  auto memory = std::make_unique<ExactMemory>(32, 50);
  ASSERT_TRUE(memory->Store(rng.Random(50, 32), std::vector<int>(50, 1)).ok());
  SmallClassifier small =
      Assemble(MakeNetwork(std::move(backbone)), MakeNetwork(std::move(head)), std::move(memory));
  Dataset data;
  data.num_classes = 4;
  data.features = rng.Random(40, 16);
  data.labels.assign(40, 0);

  absl::StatusOr<PathTimes> times = MeasurePathTimes(*small.classifier, data, 8, 30);
  ASSERT_TRUE(times.ok()) << times.status();
  EXPECT_EQ(times->batch_size, 8);
  EXPECT_EQ(times->samples, 30);
  EXPECT_GT(times->feature_ms, 0);
  EXPECT_GT(times->retrieval_ms, 0);
  EXPECT_GT(times->head_ms, 0);
  EXPECT_DOUBLE_EQ(times->memory_path_ms(), times->feature_ms + times->retrieval_ms);
  EXPECT_DOUBLE_EQ(times->network_path_ms(), times->feature_ms + times->head_ms);
  EXPECT_DOUBLE_EQ(times->ratio(), times->memory_path_ms() / times->network_path_ms());

  absl::StatusOr<PathTimes> all = MeasurePathTimes(*small.classifier, data, 1);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->samples, 40);
  EXPECT_FALSE(MeasurePathTimes(*small.classifier, data, 0).ok());
}

}  // namespace
}  // namespace mnemo
