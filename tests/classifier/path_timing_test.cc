// MeasurePathTimes: each stage timed, the paths and their ratio as defined.
#include "memory_modules/classifier/path_timing.h"

#include <memory>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
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

// An exact memory whose every Retrieve takes at least kRetrieveDelay: a stage
// of a known least duration, which the timing must put where it belongs.
constexpr absl::Duration kRetrieveDelay = absl::Milliseconds(4);

class SlowMemory : public ExactMemory {
 public:
  using ExactMemory::ExactMemory;
  absl::StatusOr<Retrieval> Retrieve(const Tensor& features) override {
    absl::SleepFor(kRetrieveDelay);
    ++retrievals;
    return ExactMemory::Retrieve(features);
  }
  int retrievals = 0;
};

TEST(PathTimingTest, PutsEachStagesTimeInItsStage) {
  TestRng rng(1);
  std::vector<std::unique_ptr<Layer>> backbone;
  backbone.push_back(MakeDense("b", rng.Random(16, 32), rng.Random(1, 32)));
  std::vector<std::unique_ptr<Layer>> head;
  head.push_back(MakeDense("h", rng.Random(32, 4), rng.Random(1, 4)));
  auto memory = std::make_unique<SlowMemory>(32, 50);
  ASSERT_TRUE(memory->Store(rng.Random(50, 32), std::vector<int>(50, 1)).ok());
  SlowMemory* slow = memory.get();
  SmallClassifier small =
      Assemble(MakeNetwork(std::move(backbone)), MakeNetwork(std::move(head)), std::move(memory));
  Dataset data;
  data.num_classes = 4;
  data.features = rng.Random(40, 16);
  data.labels.assign(40, 0);

  // 30 samples in batches of 8: 4 timed batches after one untimed.
  absl::StatusOr<PathTimes> times = MeasurePathTimes(*small.classifier, data, 8, 30);
  ASSERT_TRUE(times.ok()) << times.status();
  EXPECT_EQ(times->batch_size, 8);
  EXPECT_EQ(times->samples, 30);
  EXPECT_EQ(slow->retrievals, 5);
  // Per sample, retrieval took at least 4 timed sleeps over 30 samples; the
  // sleeps are in no other stage (two small GEMMs take microseconds).
  const double least_retrieval_ms = 4 * absl::ToDoubleMilliseconds(kRetrieveDelay) / 30;
  EXPECT_GE(times->retrieval_ms, least_retrieval_ms);
  EXPECT_GT(times->feature_ms, 0);
  EXPECT_GT(times->head_ms, 0);
  EXPECT_LT(times->feature_ms, least_retrieval_ms);
  EXPECT_LT(times->head_ms, least_retrieval_ms);
  // So the memory path, which includes the retrieval, is the slower.
  EXPECT_GT(times->ratio(), 1);

  absl::StatusOr<PathTimes> all = MeasurePathTimes(*small.classifier, data, 1);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->samples, 40);
  EXPECT_GE(all->retrieval_ms, absl::ToDoubleMilliseconds(kRetrieveDelay));
  EXPECT_FALSE(MeasurePathTimes(*small.classifier, data, 0).ok());
}

}  // namespace
}  // namespace mnemo
