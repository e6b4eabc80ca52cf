// The numerical guard: a NaN or infinity in a loss or gradient stops
// training before the optimizer takes it, naming the step, the layer, the
// parameter and the value; with trainer.nonfinite SKIP_STEP such a step
// changes no weight and is counted.

#include "core/nonfinite.h"

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/train/small_run.h"

namespace mnemo {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using testing::MakeSmallRun;
using testing::SameBits;
using testing::SmallConfigText;
using testing::SmallData;
using testing::SmallRun;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

TEST(AllFiniteTest, FindsEveryKindAnywhere) {
  Tensor t = Tensor::Constant(7, 37, 1.0f);  // not a multiple of any vector width
  t(0, 0) = FLT_MAX;
  t(1, 1) = -FLT_MAX;
  t(2, 2) = FLT_MIN / 4;  // subnormal
  EXPECT_TRUE(AllFinite(t));
  EXPECT_TRUE(AllFinite(Tensor()));
  for (float bad : {kNaN, kInf, -kInf}) {
    for (Eigen::Index at : {Eigen::Index{0}, Eigen::Index{130}, t.size() - 1}) {
      Tensor u = t;
      u.data()[at] = bad;
      EXPECT_FALSE(AllFinite(u)) << bad << " at " << at;
    }
  }
}

TEST(FindNonFiniteTest, NamesLayerParameterElementAndValueOfTrainableGradients) {
  SmallRun run = MakeSmallRun(SmallConfigText(testing::kMomentum));
  ASSERT_NE(run.network, nullptr);
  EXPECT_FALSE(FindNonFiniteGradient(run.network->TrainableParameters()).has_value());
  Layer& last = run.network->layer(run.network->num_layers() - 1);
  (*last.parameters()[0].gradient)(1, 2) = -kInf;
  std::optional<NonFiniteValue> found = FindNonFiniteGradient(run.network->TrainableParameters());
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->ToString(),
            "layer \"2_dense\" (Dense), parameter \"weight\", element [1, 2] = -inf");
  // A frozen layer's gradient is read by nothing, and not checked.
  last.set_trainable(false);
  EXPECT_FALSE(FindNonFiniteGradient(run.network->TrainableParameters()).has_value());
  EXPECT_FALSE(FindNonFiniteValue(run.network->Parameters()).has_value());
}

// The training data with sample 17's feature 2 NaN.
Dataset PoisonedData() {
  Dataset data = SmallData();
  data.features(17, 2) = kNaN;
  return data;
}

// "step S (epoch E, batch B of 7)" for the step that trains sample 17 in
// epoch `epoch`.
std::string StepOfSample17(const SmallRun& run, int epoch) {
  std::vector<int32_t> order;
  EpochOrder(run.config->experiment().trainer(), epoch, 50, &order);
  int position = 0;
  while (order[position] != 17) ++position;
  const int batch = position / 8 + 1;
  return absl::StrCat("step ", (epoch - 1) * 7 + batch, " (epoch ", epoch, ", batch ", batch,
                      " of 7)");
}

TEST(NonFiniteGuardTest, ANaNInTheDataStopsTrainingNamingStepAndValue) {
  SmallRun run = MakeSmallRun(SmallConfigText(testing::kMomentum));
  ASSERT_NE(run.trainer, nullptr);
  TrainingProgress progress;
  absl::Status status = run.trainer->Run(PoisonedData(), SmallData(20, 2), &progress);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
  const std::string message(status.message());
  EXPECT_THAT(message, HasSubstr(StepOfSample17(run, 1)));
  // Whichever comes first: ReLU may or may not pass a NaN on, but the first
  // layer's weight gradient has it either way.
  EXPECT_THAT(message, AnyOf(HasSubstr("training sample 17 has feature 2 = nan"),
                             HasSubstr("the gradient of layer \"0_dense\" (Dense), parameter "
                                       "\"weight\", element [2, ")));
  EXPECT_THAT(message, HasSubstr("training stopped before the weights took it"));
  // The weights are those before the bad step.
  EXPECT_FALSE(FindNonFiniteValue(run.network->Parameters()).has_value());
}

TEST(NonFiniteGuardTest, AHugeLearningRateStopsTrainingNamingTheLayer) {
  SmallRun run = MakeSmallRun(SmallConfigText(R"pb(type: "sgd" learning_rate: 1e30)pb"));
  ASSERT_NE(run.trainer, nullptr);
  TrainingProgress progress;
  absl::Status status = run.trainer->Run(SmallData(), SmallData(20, 2), &progress);
  ASSERT_FALSE(status.ok());
  const std::string message(status.message());
  EXPECT_THAT(message, HasSubstr("step "));
  EXPECT_THAT(message, HasSubstr("layer \""));
  EXPECT_THAT(message, AnyOf(HasSubstr("= inf"), HasSubstr("= -inf"), HasSubstr("= nan")));
  EXPECT_FALSE(FindNonFiniteValue(run.network->Parameters()).has_value());
}

// Records whether each step changed the weights.
class WeightWatcher : public TrainingHook {
 public:
  explicit WeightWatcher(Network* network) : network_(network) { before_ = Weights(); }
  absl::StatusOr<Decision> AfterStep(const TrainingProgress& progress, bool epoch_end) override {
    if (epoch_end) return Decision::kContinue;
    if (progress.batch == 1) skipped_in_epoch_ = 0;
    const bool skipped = progress.skipped > skipped_in_epoch_;
    skipped_in_epoch_ = progress.skipped;
    std::vector<Tensor> now = Weights();
    bool changed = false;
    for (size_t i = 0; i < now.size(); ++i) changed |= !SameBits(now[i], before_[i]);
    if (skipped) {
      ++skipped_steps_;
      skipped_changed_weights_ |= changed;
    } else if (!changed) {
      ++trained_steps_without_change_;
    }
    before_ = std::move(now);
    return Decision::kContinue;
  }

  int skipped_steps_ = 0;
  bool skipped_changed_weights_ = false;
  int trained_steps_without_change_ = 0;

 private:
  std::vector<Tensor> Weights() {
    std::vector<Tensor> weights;
    for (int i = 0; i < network_->num_layers(); ++i) {
      for (const Parameter& p : network_->layer(i).parameters()) weights.push_back(*p.value);
      // A skipped step must not move BatchNorm's running statistics either.
      for (const Parameter& b : network_->layer(i).buffers()) weights.push_back(*b.value);
    }
    return weights;
  }

  Network* network_;
  std::vector<Tensor> before_;
  int skipped_in_epoch_ = 0;
};

class SkipCounter : public TrainingObserver {
 public:
  void OnStepSkipped(const std::string& why) override { reasons.push_back(why); }
  std::vector<std::string> reasons;
};

class SkipStepTest : public ::testing::TestWithParam<const char*> {};

// With BatchNorm (kNormLayers) the NaN reaches the batch's statistics, which
// the skipped step's forward pass kept: CommitStep is not called, so the
// running statistics stay as they were (and finite).
TEST_P(SkipStepTest, SkipStepLeavesTheWeightsAndCountsTheStep) {
  std::string config = SmallConfigText(testing::kMomentum, 3, GetParam());
  config.insert(config.rfind('}'), " nonfinite: SKIP_STEP ");
  SmallRun run = MakeSmallRun(config);
  ASSERT_NE(run.trainer, nullptr);
  WeightWatcher watcher(run.network.get());
  SkipCounter counter;
  TrainingProgress progress;
  ASSERT_TRUE(
      run.trainer->Run(PoisonedData(), SmallData(20, 2), &progress, &counter, &watcher).ok());
  ASSERT_EQ(progress.history.size(), 3u);
  // Sample 17 is in one batch of every epoch.
  for (const EpochMetrics& m : progress.history) {
    EXPECT_EQ(m.skipped_steps, 1) << "epoch " << m.epoch;
    EXPECT_TRUE(std::isfinite(m.train_loss)) << "epoch " << m.epoch;
  }
  EXPECT_EQ(watcher.skipped_steps_, 3);
  EXPECT_FALSE(watcher.skipped_changed_weights_);
  EXPECT_EQ(watcher.trained_steps_without_change_, 0);
  ASSERT_EQ(counter.reasons.size(), 3u);
  EXPECT_THAT(counter.reasons[1], HasSubstr(StepOfSample17(run, 2)));
  EXPECT_FALSE(FindNonFiniteValue(run.network->Parameters()).has_value());
  EXPECT_FALSE(FindNonFiniteValue(run.network->Buffers()).has_value());
}

INSTANTIATE_TEST_SUITE_P(Models, SkipStepTest,
                         ::testing::Values(testing::kSmallLayers, testing::kNormLayers),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return info.index == 0 ? std::string("Mlp") : std::string("Norms");
                         });

// Batch counts near the int32 limit: a batch of 2^31 - 1 once made
// (n + batch - 1) / batch wrap to 0 batches, and a run of no steps printed a
// NaN loss and exited 0.
TEST(NumBatchesTest, IsExactAtTheInt32Limit) {
  constexpr int kMax = std::numeric_limits<int32_t>::max();
  EXPECT_EQ(NumBatches(0, 8), 0);
  EXPECT_EQ(NumBatches(50, 8), 7);
  EXPECT_EQ(NumBatches(50, kMax), 1);
  EXPECT_EQ(NumBatches(kMax, 1), kMax);
  EXPECT_EQ(NumBatches(kMax, kMax - 1), 2);
  EXPECT_EQ(NumBatches(kMax, kMax), 1);
}

// The largest batch the schema allows, on 50 samples: one step of all of them
// an epoch, which changes the weights and reports a finite loss.
TEST(NumBatchesTest, TheLargestBatchTrainsOneStepAnEpoch) {
  std::string text = SmallConfigText(testing::kAdam, 2);
  text.replace(text.find("batch_size: 8"), 13, "batch_size: 16777216");
  SmallRun run = MakeSmallRun(text);
  ASSERT_NE(run.trainer, nullptr);
  const Tensor before = *run.network->Parameters()[0].value;
  TrainingProgress progress;
  ASSERT_TRUE(run.trainer->Run(SmallData(), SmallData(20, 2), &progress).ok());
  EXPECT_EQ(run.trainer->steps(), 2u);
  EXPECT_NE(*run.network->Parameters()[0].value, before);  // the steps took
  ASSERT_EQ(progress.history.size(), 2u);
  for (const EpochMetrics& epoch : progress.history) {
    EXPECT_TRUE(std::isfinite(epoch.train_loss));
    EXPECT_GT(epoch.train_loss, 0);
  }
}

}  // namespace
}  // namespace mnemo
