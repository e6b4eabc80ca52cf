// The task figures against scikit-learn's (computed with scikit-learn 1.2.1
// on the same values and written here) and against direct computations.
#include "core/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/loss.h"

namespace mnemo {
namespace {

// Logits whose arg-max is `answers`.
Tensor LogitsAnswering(const std::vector<int32_t>& answers, int classes) {
  Tensor logits = Tensor::Zero(static_cast<int>(answers.size()), classes);
  for (size_t r = 0; r < answers.size(); ++r) logits(r, answers[r]) = 3.0f;
  return logits;
}

TEST(TaskMetricsTest, MacroF1AndAccuracyMatchScikitLearn) {
  // f1_score([0,0,1,1,2,2,2,0], [0,1,1,1,2,0,2,2], average="macro")
  const std::vector<int32_t> labels = {0, 0, 1, 1, 2, 2, 2, 0};
  const std::vector<int32_t> answers = {0, 1, 1, 1, 2, 0, 2, 2};
  TaskMetrics metrics(config::Model::SOFTMAX_CROSS_ENTROPY, 3);
  // In two batches: the figures are over the whole set.
  const Tensor logits = LogitsAnswering(answers, 3);
  metrics.Add(logits.topRows(5), absl::MakeConstSpan(labels).subspan(0, 5), nullptr);
  metrics.Add(logits.bottomRows(3), absl::MakeConstSpan(labels).subspan(5), nullptr);
  const auto figures = metrics.Figures();
  EXPECT_NEAR(figures.at("macro_f1"), 0.6222222222222222, 1e-12);
  EXPECT_DOUBLE_EQ(figures.at("accuracy"), 5.0 / 8);
  EXPECT_NEAR(figures.at("log_loss"),
              SoftmaxCrossEntropy::Compute(logits, labels, nullptr, nullptr), 1e-6);
}

TEST(TaskMetricsTest, MacroF1CountsOnlyClassesThatOccur) {
  // f1_score([0,0,1,1], [0,3,1,1], average="macro"): classes 0, 1, 3 occur,
  // 2 and 4 of the model's five do not.
  const std::vector<int32_t> labels = {0, 0, 1, 1};
  TaskMetrics metrics(config::Model::SOFTMAX_CROSS_ENTROPY, 5);
  metrics.Add(LogitsAnswering({0, 3, 1, 1}, 5), labels, nullptr);
  EXPECT_NEAR(metrics.Figures().at("macro_f1"), 0.5555555555555555, 1e-12);
}

TEST(TaskMetricsTest, OneSigmoidOutputIsTwoClasses) {
  const Tensor logits = (Tensor(4, 1) << 2.0f, -1.0f, 0.5f, -3.0f).finished();
  const std::vector<int32_t> labels = {1, 0, 0, 0};
  TaskMetrics metrics(config::Model::SIGMOID_CROSS_ENTROPY, 1);
  metrics.Add(logits, labels, nullptr);
  const auto figures = metrics.Figures();
  EXPECT_DOUBLE_EQ(figures.at("accuracy"), 0.75);
  // Class 0: tp 2, fp 0, fn 1 -> 0.8; class 1: tp 1, fp 1, fn 0 -> 2/3.
  EXPECT_NEAR(figures.at("macro_f1"), (0.8 + 2.0 / 3) / 2, 1e-12);
  EXPECT_NEAR(figures.at("log_loss"),
              SigmoidCrossEntropy::Compute(logits, labels, nullptr, nullptr), 1e-6);
}

TEST(TaskMetricsTest, RegressionFiguresMatchScikitLearn) {
  // r2_score, mean_squared_error ** 0.5 and mean_absolute_error of these
  // two-target values (r2 averaged uniformly over the targets).
  const Tensor targets = (Tensor(4, 2) << 1, 2, 3, -1, 0.5, 0, 2, 4).finished();
  const Tensor outputs = (Tensor(4, 2) << 1.5, 2, 2, -0.5, 0, 1, 2.5, 3).finished();
  TaskMetrics metrics(config::Model::MEAN_SQUARED_ERROR, 2);
  metrics.Add(outputs.topRows(1), {}, &static_cast<const Tensor&>(Tensor(targets.topRows(1))));
  const Tensor rest_targets = targets.bottomRows(3);
  metrics.Add(outputs.bottomRows(3), {}, &rest_targets);
  const auto figures = metrics.Figures();
  EXPECT_NEAR(figures.at("r2"), 0.6864406779661016, 1e-12);
  EXPECT_NEAR(figures.at("rmse"), 0.7071067811865476, 1e-12);
  EXPECT_NEAR(figures.at("mae"), 0.625, 1e-12);
}

TEST(TaskMetricsTest, AConstantTargetScoresOneOnlyWhenPredictedExactly) {
  const Tensor targets = Tensor::Constant(3, 1, 2.0f);
  TaskMetrics exact(config::Model::HUBER, 1);
  exact.Add(targets, {}, &targets);
  EXPECT_EQ(exact.Figures().at("r2"), 1.0);
  TaskMetrics off(config::Model::HUBER, 1);
  const Tensor outputs = Tensor::Constant(3, 1, 2.5f);
  off.Add(outputs, {}, &targets);
  EXPECT_EQ(off.Figures().at("r2"), 0.0);
}

TEST(TaskMetricsTest, WhichWayIsBetter) {
  for (const char* up : {"accuracy", "macro_f1", "r2"}) EXPECT_TRUE(HigherIsBetter(up)) << up;
  for (const char* down : {"loss", "log_loss", "rmse", "mae"}) {
    EXPECT_FALSE(HigherIsBetter(down)) << down;
  }
}

}  // namespace
}  // namespace mnemo
