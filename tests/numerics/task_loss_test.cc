// The losses of model.loss beside softmax: sigmoid cross-entropy, mean
// squared error and Huber's, each against a direct computation and finite
// differences; and ComputeLoss choosing among them.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/backend.h"
#include "core/loss.h"
#include "tests/testing/tensors.h"

namespace mnemo {
namespace {

using ::mnemo::testing::TestRng;

// Central differences of `loss` at every element of `x` against `grad`. The
// losses are smooth (Huber's away from its knees) with second derivatives
// of order 1, so h = 1e-2 leaves truncation ~1e-5 and float rounding ~1e-5.
template <typename Loss>
void ExpectGradientMatchesFiniteDifferences(Tensor x, const Tensor& grad, Loss loss,
                                            double tolerance) {
  const float h = 1e-2f;
  for (Eigen::Index k = 0; k < x.size(); ++k) {
    const float saved = x.data()[k];
    x.data()[k] = saved + h;
    const double plus = loss(x);
    const float up = x.data()[k];
    x.data()[k] = saved - h;
    const double minus = loss(x);
    const float down = x.data()[k];
    x.data()[k] = saved;
    EXPECT_NEAR(grad.data()[k], (plus - minus) / (double{up} - double{down}), tolerance)
        << "element " << k;
  }
}

TEST(SigmoidCrossEntropyTest, ValueMatchesTheTextbookFormula) {
  TestRng rng(1);
  const Tensor logits = rng.Random(9, 1, -6.0f, 6.0f);
  const std::vector<int32_t> labels = {0, 1, 1, 0, 1, 0, 0, 1, 1};
  int correct = 0;
  const float loss = SigmoidCrossEntropy::Compute(logits, labels, nullptr, &correct);
  double expected = 0;
  int right = 0;
  for (int r = 0; r < 9; ++r) {
    const double p = 1 / (1 + std::exp(-double{logits(r, 0)}));
    expected -= labels[r] == 1 ? std::log(p) : std::log(1 - p);
    right += (p > 0.5) == (labels[r] == 1);
  }
  EXPECT_NEAR(loss, expected / 9, 1e-6);
  EXPECT_EQ(correct, right);
}

TEST(SigmoidCrossEntropyTest, StaysFiniteAndExactForHugeLogits) {
  const Tensor logits = (Tensor(4, 1) << 1000, -1000, 1000, -1000).finished();
  const std::vector<int32_t> labels = {1, 0, 0, 1};
  Tensor grad;
  const float loss = SigmoidCrossEntropy::Compute(logits, labels, &grad, nullptr);
  // Two right with certainty (0 each) and two wrong by 1000 (1000 each).
  EXPECT_FLOAT_EQ(loss, 500.0f);
  EXPECT_FLOAT_EQ(grad(0, 0), 0.0f);
  EXPECT_FLOAT_EQ(grad(2, 0), 0.25f);   // (1 - 0) / 4
  EXPECT_FLOAT_EQ(grad(3, 0), -0.25f);  // (0 - 1) / 4
}

TEST(SigmoidCrossEntropyTest, GradientMatchesFiniteDifferences) {
  TestRng rng(2);
  const Tensor logits = rng.Random(6, 1, -3.0f, 3.0f);
  const std::vector<int32_t> labels = {1, 0, 0, 1, 1, 0};
  Tensor grad;
  SigmoidCrossEntropy::Compute(logits, labels, &grad, nullptr);
  ExpectGradientMatchesFiniteDifferences(
      logits, grad,
      [&](const Tensor& x) { return SigmoidCrossEntropy::Compute(x, labels, nullptr, nullptr); },
      2e-4);
}

TEST(MeanSquaredErrorTest, ValueAndGradient) {
  TestRng rng(3);
  const Tensor outputs = rng.Random(5, 3, -2.0f, 2.0f);
  const Tensor targets = rng.Random(5, 3, -2.0f, 2.0f);
  Tensor grad;
  const float loss = MeanSquaredError::Compute(outputs, targets, &grad);
  double expected = 0;
  for (Eigen::Index k = 0; k < outputs.size(); ++k) {
    const double d = double{outputs.data()[k]} - targets.data()[k];
    expected += d * d;
  }
  EXPECT_NEAR(loss, expected / 15, 1e-6);
  ExpectGradientMatchesFiniteDifferences(
      outputs, grad,
      [&](const Tensor& x) { return MeanSquaredError::Compute(x, targets, nullptr); }, 2e-4);
}

TEST(HuberLossTest, IsHalfTheSquareInsideDeltaAndLinearOutside) {
  const Tensor outputs = (Tensor(1, 4) << 0.5f, -0.5f, 3.0f, -4.0f).finished();
  const Tensor targets = Tensor::Zero(1, 4);
  Tensor grad;
  const float loss = HuberLoss::Compute(outputs, targets, 1.0f, &grad);
  // 0.125 + 0.125 + (3 - 0.5) + (4 - 0.5), over 4 elements.
  EXPECT_FLOAT_EQ(loss, (0.125f + 0.125f + 2.5f + 3.5f) / 4);
  EXPECT_FLOAT_EQ(grad(0, 0), 0.5f / 4);
  EXPECT_FLOAT_EQ(grad(0, 2), 1.0f / 4);  // clipped at delta
  EXPECT_FLOAT_EQ(grad(0, 3), -1.0f / 4);
  // A wider delta keeps 3 inside: 0.5 * 9.
  EXPECT_FLOAT_EQ(
      HuberLoss::Compute(outputs.rightCols(2).leftCols(1), Tensor::Zero(1, 1), 5.0f, nullptr),
      4.5f);
}

TEST(HuberLossTest, GradientMatchesFiniteDifferencesAwayFromTheKnees) {
  TestRng rng(4);
  Tensor outputs = rng.Random(4, 3, -3.0f, 3.0f);
  const Tensor targets = Tensor::Zero(4, 3);
  // Keep every |d| at least 0.05 from delta, where the second derivative jumps.
  for (Eigen::Index k = 0; k < outputs.size(); ++k) {
    if (std::abs(std::abs(outputs.data()[k]) - 1.0f) < 0.05f) outputs.data()[k] = 0.5f;
  }
  Tensor grad;
  HuberLoss::Compute(outputs, targets, 1.0f, &grad);
  ExpectGradientMatchesFiniteDifferences(
      outputs, grad, [&](const Tensor& x) { return HuberLoss::Compute(x, targets, 1.0f, nullptr); },
      2e-4);
}

TEST(ComputeLossTest, ChoosesTheLossTheSpecNames) {
  std::shared_ptr<const Backend> backend = ReferenceBackend();
  TestRng rng(5);
  const Tensor outputs = rng.Random(4, 1, -2.0f, 2.0f);
  const std::vector<int32_t> labels = {0, 1, 1, 0};
  const Tensor targets = rng.Random(4, 1);
  LossSpec spec;
  spec.kind = config::Model::SIGMOID_CROSS_ENTROPY;
  EXPECT_EQ(*ComputeLoss(*backend, spec, outputs, labels, nullptr, nullptr, nullptr),
            SigmoidCrossEntropy::Compute(outputs, labels, nullptr, nullptr));
  spec.kind = config::Model::MEAN_SQUARED_ERROR;
  EXPECT_EQ(*ComputeLoss(*backend, spec, outputs, {}, &targets, nullptr, nullptr),
            MeanSquaredError::Compute(outputs, targets, nullptr));
  spec.kind = config::Model::HUBER;
  spec.huber_delta = 0.3f;
  EXPECT_EQ(*ComputeLoss(*backend, spec, outputs, {}, &targets, nullptr, nullptr),
            HuberLoss::Compute(outputs, targets, 0.3f, nullptr));
  spec.kind = config::Model::LOSS_UNSPECIFIED;  // softmax
  const Tensor logits = rng.Random(4, 3);
  EXPECT_EQ(*ComputeLoss(*backend, spec, logits, labels, nullptr, nullptr, nullptr),
            SoftmaxCrossEntropy::Compute(logits, labels, nullptr, nullptr));
}

TEST(PredictedClassesTest, OneSigmoidOutputAnswersOneAboveZero) {
  const Tensor logits = (Tensor(3, 1) << -0.1f, 0.0f, 2.0f).finished();
  std::vector<int32_t> out(3);
  PredictedClasses(config::Model::SIGMOID_CROSS_ENTROPY, logits, out.data());
  EXPECT_EQ(out, (std::vector<int32_t>{0, 0, 1}));
}

}  // namespace
}  // namespace mnemo
