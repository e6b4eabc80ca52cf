// The dual path's routing: the memory's class when its confidence is above
// the threshold, the head's otherwise; and the edge cases (a batch of one, an
// empty memory, a class the memory has never seen).
#include <cmath>
#include <memory>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "memory_modules/classifier/dual_path_classifier.h"
#include "tests/classifier/exact_memory.h"
#include "tests/classifier/small_models.h"

namespace mnemo {
namespace {

using ::mnemo::testing::Assemble;
using ::mnemo::testing::ClassificationPart;
using ::mnemo::testing::ExactMemory;
using ::mnemo::testing::Gradients;
using ::mnemo::testing::MakeDense;
using ::mnemo::testing::MakeNetwork;
using ::mnemo::testing::MemoryPart;
using ::mnemo::testing::Rows;
using ::mnemo::testing::SmallClassifier;
using ::mnemo::testing::TrainStep;
using ::testing::ElementsAre;
using ::testing::FloatEq;

// Features = input (an identity backbone, 2 -> 2); the head always says
// class 0 (zero weights, bias favouring 0); the memory holds [1, 0] of class
// 2 and [0, 1] of class 1.
SmallClassifier MakeRouting(float threshold) {
  std::vector<std::unique_ptr<Layer>> backbone;
  backbone.push_back(MakeDense("backbone", Tensor::Identity(2, 2), Tensor::Zero(1, 2)));
  std::vector<std::unique_ptr<Layer>> head;
  head.push_back(MakeDense("head", Tensor::Zero(2, 3), Rows({{5, 0, 0}})));
  auto memory = std::make_unique<ExactMemory>(2, 8);
  EXPECT_TRUE(memory->Store(Rows({{1, 0}, {0, 1}}), {2, 1}).ok());
  DualPathSettings settings;
  settings.confidence_threshold = threshold;
  return Assemble(MakeNetwork(std::move(backbone)), MakeNetwork(std::move(head)), std::move(memory),
                  settings);
}

TEST(RoutingTest, AboveTheThresholdTheMemoryAnswersBelowItTheNetwork) {
  SmallClassifier small = MakeRouting(0.85f);
  ASSERT_NE(small.classifier, nullptr);
  // Cosines with the nearest item: 1, 0.995, 0.707 (both), 0.6.
  absl::StatusOr<DualPathPrediction> p =
      small.classifier->Predict(Rows({{1, 0}, {1, 0.1f}, {1, 1}, {3, 4}}));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT(p->network_label, ElementsAre(0, 0, 0, 0));
  EXPECT_THAT(p->memory_label, ElementsAre(2, 2, 2, 1));
  EXPECT_THAT(p->from_memory, ElementsAre(1, 1, 0, 0));
  EXPECT_THAT(p->label, ElementsAre(2, 2, 0, 0));
  EXPECT_THAT(p->confidence[0], FloatEq(1.0f));
  EXPECT_THAT(p->confidence[3], FloatEq(0.8f));
}

// Strictly above: a confidence equal to the threshold goes to the network.
TEST(RoutingTest, AtExactlyTheThresholdTheNetworkAnswers) {
  // [3, 4] against [0, 1]: 4 / (5 x 1) = 0.8 exactly as the memory computes it.
  const Tensor query = Rows({{3, 4}});
  SmallClassifier small = MakeRouting(0.8f);
  absl::StatusOr<DualPathPrediction> at = small.classifier->Predict(query);
  ASSERT_TRUE(at.ok()) << at.status();
  ASSERT_EQ(at->confidence[0], 0.8f);
  EXPECT_THAT(at->from_memory, ElementsAre(0));
  EXPECT_THAT(at->label, ElementsAre(0));

  small.classifier->set_confidence_threshold(std::nextafter(0.8f, 0.0f));
  absl::StatusOr<DualPathPrediction> above = small.classifier->Predict(query);
  ASSERT_TRUE(above.ok()) << above.status();
  EXPECT_THAT(above->from_memory, ElementsAre(1));
  EXPECT_THAT(above->label, ElementsAre(1));
}

TEST(RoutingTest, ThresholdZeroLetsTheMemoryAnswerWheneverItHasAnItem) {
  SmallClassifier small = MakeRouting(0.0f);
  absl::StatusOr<DualPathPrediction> p = small.classifier->Predict(Rows({{1, 1}, {-1, -1}}));
  ASSERT_TRUE(p.ok()) << p.status();
  // The second query's best cosine is negative: confidence 0, not above 0.
  EXPECT_THAT(p->from_memory, ElementsAre(1, 0));
}

TEST(EdgeCaseTest, AnEmptyMemoryNeverAnswers) {
  std::vector<std::unique_ptr<Layer>> backbone;
  backbone.push_back(MakeDense("backbone", Tensor::Identity(2, 2), Tensor::Zero(1, 2)));
  std::vector<std::unique_ptr<Layer>> head;
  head.push_back(MakeDense("head", Tensor::Identity(2, 2), Tensor::Zero(1, 2)));
  DualPathSettings settings;
  settings.confidence_threshold = 0;  // the most eager memory there is
  SmallClassifier small = Assemble(MakeNetwork(std::move(backbone)), MakeNetwork(std::move(head)),
                                   std::make_unique<ExactMemory>(2, 4), settings);
  absl::StatusOr<DualPathPrediction> p = small.classifier->Predict(Rows({{1, 0}, {0, 1}}));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT(p->memory_label, ElementsAre(-1, -1));
  EXPECT_THAT(p->confidence, ElementsAre(0.0f, 0.0f));
  EXPECT_THAT(p->from_memory, ElementsAre(0, 0));
  EXPECT_THAT(p->label, ElementsAre(0, 1));

  // Training on an empty memory: no memory loss, then the batch is stored.
  absl::StatusOr<StepResult> losses =
      Gradients(*small.classifier, Rows({{1, 0}, {0, 1}}), std::vector<int32_t>{0, 1},
                ForwardContext{true, 0, 0});
  ASSERT_TRUE(losses.ok()) << losses.status();
  EXPECT_EQ(MemoryPart(*losses), 0.0f);
  EXPECT_EQ(losses->loss, ClassificationPart(*losses));
}

TEST(EdgeCaseTest, ABatchOfOneTrainsAndPredicts) {
  SmallClassifier small = MakeRouting(0.85f);
  absl::StatusOr<std::unique_ptr<Optimizer>> sgd = [] {
    config::Optimizer config;
    config.set_type("sgd");
    config.set_learning_rate(0.1f);
    return CreateOptimizer(config);
  }();
  ASSERT_TRUE(sgd.ok());
  const Tensor one = Rows({{0.5f, 0.2f}});
  absl::StatusOr<StepResult> losses =
      TrainStep(*small.classifier, one, std::vector<int32_t>{2}, ForwardContext{true, 0, 0}, **sgd);
  ASSERT_TRUE(losses.ok()) << losses.status();
  EXPECT_TRUE(std::isfinite(losses->loss));
  EXPECT_GT(MemoryPart(*losses), 0.0f);  // class 2 is in memory: a positive exists
  EXPECT_EQ(small.memory->size(), 3);
  absl::StatusOr<DualPathPrediction> p = small.classifier->Predict(one);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->size(), 1);
}

TEST(EdgeCaseTest, AClassAbsentFromMemoryAddsNoMemoryLossAndIsAnsweredAsRouted) {
  SmallClassifier small = MakeRouting(0.85f);
  // Class 0 is not in memory (it holds 1 and 2): that sample has no positive,
  // so the batch's memory loss is the other sample's alone.
  absl::StatusOr<StepResult> both =
      Gradients(*small.classifier, Rows({{1, 0.2f}, {0.1f, 1}}), std::vector<int32_t>{0, 1},
                ForwardContext{true, 0, 0});
  ASSERT_TRUE(both.ok()) << both.status();
  absl::StatusOr<StepResult> alone = Gradients(*small.classifier, Rows({{0.1f, 1}}),
                                               std::vector<int32_t>{1}, ForwardContext{true, 0, 0});
  ASSERT_TRUE(alone.ok()) << alone.status();
  EXPECT_FLOAT_EQ(MemoryPart(*both), MemoryPart(*alone));

  // Only class-0 samples: no memory loss at all, and a zero feature gradient from it.
  absl::StatusOr<StepResult> absent = Gradients(
      *small.classifier, Rows({{1, 0.2f}}), std::vector<int32_t>{0}, ForwardContext{true, 0, 0});
  ASSERT_TRUE(absent.ok()) << absent.status();
  EXPECT_EQ(MemoryPart(*absent), 0.0f);
  // The memory still answers with the classes it has, when confident.
  absl::StatusOr<DualPathPrediction> p = small.classifier->Predict(Rows({{1, 0.2f}}));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT(p->label, ElementsAre(2));
}

TEST(EdgeCaseTest, WeightZeroNeverAsksTheMemoryForItsLoss) {
  DualPathSettings settings;
  settings.memory_loss_weight = 0;
  std::vector<std::unique_ptr<Layer>> backbone;
  backbone.push_back(MakeDense("b", Tensor::Identity(2, 2), Tensor::Zero(1, 2)));
  std::vector<std::unique_ptr<Layer>> head;
  head.push_back(MakeDense("h", Tensor::Identity(2, 2), Tensor::Zero(1, 2)));
  auto memory = std::make_unique<ExactMemory>(2, 4);
  ASSERT_TRUE(memory->Store(Rows({{1, 0}}), {1}).ok());
  SmallClassifier zero = Assemble(MakeNetwork(std::move(backbone)), MakeNetwork(std::move(head)),
                                  std::move(memory), settings);
  absl::StatusOr<StepResult> losses = Gradients(
      *zero.classifier, Rows({{1, 0}}), std::vector<int32_t>{1}, ForwardContext{true, 0, 0});
  ASSERT_TRUE(losses.ok()) << losses.status();
  EXPECT_EQ(zero.memory->loss_calls(), 0);
  EXPECT_EQ(MemoryPart(*losses), 0.0f);
}

TEST(FromPartsTest, RefusesPartsThatDoNotFit) {
  std::vector<std::unique_ptr<Layer>> backbone;
  backbone.push_back(MakeDense("b", Tensor::Zero(2, 3), Tensor::Zero(1, 3)));
  std::vector<std::unique_ptr<Layer>> head;
  head.push_back(MakeDense("h", Tensor::Zero(3, 2), Tensor::Zero(1, 2)));
  absl::StatusOr<std::unique_ptr<DualPathClassifier>> classifier = DualPathClassifier::FromParts(
      MakeNetwork(std::move(backbone)), MakeNetwork(std::move(head)),
      std::make_unique<ExactMemory>(4, 8), DualPathSettings{}, "exact_memory");
  ASSERT_FALSE(classifier.ok());
  EXPECT_EQ(classifier.status().message(),
            "exact_memory holds features of width 4 but the backbone outputs 3");
}

TEST(SettingsTest, ZeroFieldsTakeTheSeedDefaults) {
  config::MemoryModule config;
  config.set_capacity(10);
  DualPathSettings settings =
      DualPathSettings::FromSettings(*memory::ResolveMemorySettings(config));
  EXPECT_FLOAT_EQ(settings.confidence_threshold, 0.85f);
  EXPECT_FLOAT_EQ(settings.memory_loss_weight, 0.4f);
  config.set_confidence_threshold(0.5f);
  config.set_memory_loss_weight(2);
  settings = DualPathSettings::FromSettings(*memory::ResolveMemorySettings(config));
  EXPECT_FLOAT_EQ(settings.confidence_threshold, 0.5f);
  EXPECT_FLOAT_EQ(settings.memory_loss_weight, 2);
}

}  // namespace
}  // namespace mnemo
