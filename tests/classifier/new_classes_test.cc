// New classes without retraining: examples shown to a trained dual-path
// classifier (AddExamples) are written to its memory through the backbone in
// inference mode, and the dual path then answers their class, even one the
// head has no output for, when the memory is confident.
#include <cmath>
#include <memory>
#include <vector>

#include "core/layers/dropout.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "memory_modules/classifier/dual_path_classifier.h"
#include "memory_modules/classifier/dual_path_evaluation.h"
#include "tests/classifier/exact_memory.h"
#include "tests/classifier/small_models.h"

namespace mnemo {
namespace {

using ::mnemo::testing::Assemble;
using ::mnemo::testing::ExactMemory;
using ::mnemo::testing::MakeDense;
using ::mnemo::testing::MakeNetwork;
using ::mnemo::testing::Rows;
using ::mnemo::testing::SmallClassifier;
using ::testing::ElementsAre;

// The backbone swaps the two inputs (features = (x1, x0)), then a Dropout of
// rate 0.5 (the identity in inference mode, which AddExamples must use); the
// head has two outputs and always says class 0; the memory may hold three
// classes and holds feature [1, 0] of class 0 and [0, 1] of class 1.
SmallClassifier MakeTrained() {
  std::vector<std::unique_ptr<Layer>> backbone;
  backbone.push_back(MakeDense("swap", Rows({{0, 1}, {1, 0}}), Tensor::Zero(1, 2)));
  backbone.push_back(std::make_unique<Dropout>(2, 0.5f, /*seed=*/7));
  std::vector<std::unique_ptr<Layer>> head;
  head.push_back(MakeDense("head", Tensor::Zero(2, 2), Rows({{5, 0}})));
  auto memory = std::make_unique<ExactMemory>(2, 8, 0.5f, /*trainable_keys=*/false,
                                              /*num_classes=*/3);
  EXPECT_TRUE(memory->Store(Rows({{1, 0}, {0, 1}}), {0, 1}).ok());
  return Assemble(MakeNetwork(std::move(backbone)), MakeNetwork(std::move(head)),
                  std::move(memory));
}

TEST(AddExamplesTest, TheBackbonesFeaturesAreWrittenAndTheNewClassAnswered) {
  SmallClassifier small = MakeTrained();
  ASSERT_NE(small.classifier, nullptr);
  EXPECT_EQ(small.classifier->num_classes(), 2);
  EXPECT_EQ(small.classifier->memory_num_classes(), 3);
  const Tensor head_weight = small.classifier->head().layer(0).parameters()[0].value->eval();

  // Input (-2, 0): features (0, -2), class 2, which the head cannot answer.
  ASSERT_TRUE(small.classifier->AddExamples(Rows({{-2, 0}}), std::vector<int32_t>{2}).ok());
  EXPECT_EQ(small.memory->writes(), 1);
  EXPECT_EQ(small.memory->size(), 3);
  EXPECT_EQ(small.memory->keys().row(2), Rows({{0, -2}}));  // the swap, no dropout

  // (-1, 0.05): features (0.05, -1), cosine 1 / sqrt(1.0025) = 0.9988 with
  // the new item: the memory answers 2. (0, -1): features (-1, 0), cosine
  // -1 with [1, 0], 0 with [0, 1] (class 1, the first best) and the new
  // item: confidence 0, the head answers 0. (0, 3): features (3, 0), class
  // 0 with confidence 1.
  absl::StatusOr<DualPathPrediction> p =
      small.classifier->Predict(Rows({{-1, 0.05f}, {0, -1}, {0, 3}}));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT(p->network_label, ElementsAre(0, 0, 0));
  EXPECT_THAT(p->memory_label, ElementsAre(2, 1, 0));
  EXPECT_NEAR(p->confidence[0], 1.0 / std::sqrt(1.0025), 1e-6);
  EXPECT_THAT(p->from_memory, ElementsAre(1, 0, 1));
  EXPECT_THAT(p->label, ElementsAre(2, 0, 0));
  // No training step: the head is as it was.
  EXPECT_EQ(*small.classifier->head().layer(0).parameters()[0].value, head_weight);
}

TEST(AddExamplesTest, LabelsBeyondTheMemorysClassesAreRefusedNamingTheCount) {
  SmallClassifier small = MakeTrained();
  absl::Status status =
      small.classifier->AddExamples(Rows({{1, 1}, {2, 2}}), std::vector<int32_t>{2, 3});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "AddExamples: label 3 of example 1 is not a class of the memory (3 classes, 0 to 2: "
            "memory_module.num_classes)");
  EXPECT_FALSE(small.classifier->AddExamples(Rows({{1, 1}}), std::vector<int32_t>{-1}).ok());
  EXPECT_FALSE(small.classifier->AddExamples(Rows({{1, 1}}), std::vector<int32_t>{0, 1}).ok());
  EXPECT_EQ(small.memory->writes(), 0);
  EXPECT_EQ(small.memory->size(), 2);
}

TEST(AddExamplesTest, TheMemorysRefusalIsPassedOnWithItsName) {
  SmallClassifier small = MakeTrained();
  // Features (0, 0): nothing to match.
  absl::Status status = small.classifier->AddExamples(Rows({{0, 0}}), std::vector<int32_t>{2});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), ::testing::StartsWith("exact_memory: Write"));
  EXPECT_EQ(small.memory->size(), 2);
}

TEST(AddExamplesTest, TheEvaluationCountsTheNewClassAndLeavesItOutOfTheHeadsLoss) {
  SmallClassifier small = MakeTrained();
  ASSERT_TRUE(small.classifier->AddExamples(Rows({{-2, 0}}), std::vector<int32_t>{2}).ok());
  // Answers: 2 (memory), 0 (head), 0 (memory, class 0), 0 (head).
  Dataset data;
  data.features = Rows({{-1, 0.05f}, {0, -1}, {0, 3}, {1, 1}});
  data.labels = {2, 0, 0, 1};
  data.num_classes = 3;
  absl::StatusOr<DualPathEvaluation> e = EvaluateDualPath(*small.classifier, data, 3);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_DOUBLE_EQ(e->accuracy, 3.0 / 4);
  EXPECT_DOUBLE_EQ(e->network_accuracy, 2.0 / 4);
  EXPECT_EQ(e->memory_corrected, 1);
  // The head's logits are (5, 0) for every row: its cross-entropy over the
  // three samples of its classes, labels 0, 0 and 1: (2 log(1 + e^-5) +
  // log(1 + e^5)) / 3; the class-2 sample has no logit and is left out.
  const double expected = (2 * std::log1p(std::exp(-5.0)) + std::log1p(std::exp(5.0))) / 3;
  EXPECT_NEAR(e->classification_loss, expected, 1e-5);
  // A set of more classes than the memory's is refused.
  data.labels[0] = 3;
  data.num_classes = 4;
  EXPECT_FALSE(EvaluateDualPath(*small.classifier, data, 3).ok());
}

TEST(AddExamplesTest, AMemoryWithFewerClassesThanTheHeadIsRefused) {
  std::vector<std::unique_ptr<Layer>> backbone;
  backbone.push_back(MakeDense("b", Tensor::Identity(2, 2), Tensor::Zero(1, 2)));
  std::vector<std::unique_ptr<Layer>> head;
  head.push_back(MakeDense("h", Tensor::Zero(2, 3), Tensor::Zero(1, 3)));
  absl::StatusOr<std::unique_ptr<DualPathClassifier>> classifier = DualPathClassifier::FromParts(
      MakeNetwork(std::move(backbone)), MakeNetwork(std::move(head)),
      std::make_unique<ExactMemory>(2, 4, 0.5f, false, /*num_classes=*/2), {}, "exact_memory");
  ASSERT_FALSE(classifier.ok());
  EXPECT_EQ(classifier.status().message(), "exact_memory holds 2 classes but the head answers 3");
}

}  // namespace
}  // namespace mnemo
