// Softmax cross-entropy: value, gradient, stability, and arg-max.
#include "core/loss.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "core/avx512_warning_workaround.h"  // first: see there
#include "tests/testing/tensors.h"

namespace mnemo {
namespace {

using ::mnemo::testing::TestRng;

// The textbook formula in double, without the max shift: fine for the
// moderate logits it is given, and independent of the code under test.
double DirectLoss(const Tensor& logits, const std::vector<int32_t>& labels) {
  double total = 0;
  for (Eigen::Index r = 0; r < logits.rows(); ++r) {
    double sum = 0;
    for (Eigen::Index c = 0; c < logits.cols(); ++c) sum += std::exp(double{logits(r, c)});
    total += -std::log(std::exp(double{logits(r, labels[r])}) / sum);
  }
  return total / static_cast<double>(logits.rows());
}

std::vector<int32_t> RandomLabels(int n, int classes, uint32_t seed) {
  std::vector<int32_t> labels(n);
  TestRng rng(seed);
  for (int32_t& label : labels) {
    label = static_cast<int32_t>(rng.Uniform(0.0f, static_cast<float>(classes)));
  }
  return labels;
}

TEST(SoftmaxCrossEntropyTest, ValueMatchesDirectComputation) {
  for (const auto& [batch, classes] : {std::pair{1, 1}, {1, 2}, {3, 10}, {7, 257}}) {
    TestRng rng(batch * 1000 + classes);
    const Tensor logits = rng.Random(batch, classes, -5.0f, 5.0f);
    const std::vector<int32_t> labels = RandomLabels(batch, classes, classes);
    const float loss = SoftmaxCrossEntropy::Compute(logits, labels, nullptr, nullptr);
    const double expected = DirectLoss(logits, labels);
    EXPECT_NEAR(loss, expected, 1e-5 * (1 + expected)) << batch << "x" << classes;
  }
}

TEST(SoftmaxCrossEntropyTest, GradientIsSoftmaxMinusOneHotOverBatch) {
  TestRng rng(1);
  const Tensor logits = rng.Random(4, 6, -3.0f, 3.0f);
  const std::vector<int32_t> labels = {0, 5, 2, 2};
  Tensor grad;
  SoftmaxCrossEntropy::Compute(logits, labels, &grad, nullptr);
  ASSERT_EQ(grad.rows(), 4);
  ASSERT_EQ(grad.cols(), 6);
  for (int r = 0; r < 4; ++r) {
    double sum = 0;
    for (int c = 0; c < 6; ++c) sum += std::exp(double{logits(r, c)});
    for (int c = 0; c < 6; ++c) {
      const double softmax = std::exp(double{logits(r, c)}) / sum;
      EXPECT_NEAR(grad(r, c), (softmax - (c == labels[r] ? 1 : 0)) / 4, 1e-6);
    }
  }
}

// Central differences of the loss in double (the logits perturbed in float,
// so the step actually taken is the denominator). The loss is smooth with
// second derivatives <= 1/4 per logit, so h = 1e-2 leaves a truncation error
// ~1e-5; the loss's float rounding (~1e-7) over 2h adds ~1e-5. 2e-4 covers both.
TEST(SoftmaxCrossEntropyTest, GradientMatchesFiniteDifferences) {
  TestRng rng(2);
  Tensor logits = rng.Random(5, 7, -2.0f, 2.0f);
  const std::vector<int32_t> labels = RandomLabels(5, 7, 3);
  Tensor grad;
  SoftmaxCrossEntropy::Compute(logits, labels, &grad, nullptr);
  const float h = 1e-2f;
  for (Eigen::Index k = 0; k < logits.size(); ++k) {
    const float saved = logits.data()[k];
    logits.data()[k] = saved + h;
    const double plus_at = logits.data()[k];
    const double plus = SoftmaxCrossEntropy::Compute(logits, labels, nullptr, nullptr);
    logits.data()[k] = saved - h;
    const double minus_at = logits.data()[k];
    const double minus = SoftmaxCrossEntropy::Compute(logits, labels, nullptr, nullptr);
    logits.data()[k] = saved;
    EXPECT_NEAR(grad.data()[k], (plus - minus) / (plus_at - minus_at), 2e-4) << k;
  }
}

TEST(SoftmaxCrossEntropyTest, GradientMayReplaceTheLogitsInPlace) {
  TestRng rng(4);
  const Tensor logits = rng.Random(3, 8, -4.0f, 4.0f);
  const std::vector<int32_t> labels = {7, 0, 3};
  Tensor grad;
  int correct = 0;
  const float loss = SoftmaxCrossEntropy::Compute(logits, labels, &grad, &correct);
  Tensor in_place = logits;
  int correct_in_place = 0;
  const float loss_in_place =
      SoftmaxCrossEntropy::Compute(in_place, labels, &in_place, &correct_in_place);
  EXPECT_EQ(loss_in_place, loss);
  EXPECT_EQ(correct_in_place, correct);
  EXPECT_EQ(in_place, grad);
}

TEST(SoftmaxCrossEntropyTest, StableForHugeLogits) {
  Tensor logits(3, 3);
  logits << 1e4f, 0.0f, -1e4f,  //
      1e4f, 0.0f, -1e4f,        //
      -1e4f, -1e4f, -1e4f;
  const std::vector<int32_t> labels = {0, 1, 2};
  Tensor grad;
  int correct = -1;
  const float loss = SoftmaxCrossEntropy::Compute(logits, labels, &grad, &correct);
  // Row losses: 0, 1e4 and log(3); no inf, no NaN.
  EXPECT_NEAR(loss, (0.0 + 1e4 + std::log(3.0)) / 3, 1e-2);
  ASSERT_TRUE(grad.allFinite());
  EXPECT_NEAR(grad(0, 0), 0.0f, 1e-7f);
  EXPECT_NEAR(grad(1, 0), 1.0f / 3, 1e-7f);
  EXPECT_NEAR(grad(1, 1), -1.0f / 3, 1e-7f);
  EXPECT_NEAR(grad(2, 2), (1.0f / 3 - 1) / 3, 1e-7f);
  for (int r = 0; r < 3; ++r) EXPECT_NEAR(grad.row(r).sum(), 0.0f, 1e-7f) << r;
  // Row 2 ties: arg-max is column 0, not the label.
  EXPECT_EQ(correct, 1);
}

TEST(SoftmaxCrossEntropyTest, CountsCorrectRows) {
  Tensor logits(4, 3);
  logits << 1, 2, 3,  //
      3, 2, 1,        //
      0, 5, 0,        //
      1, 1, 0;
  int correct = 0;
  SoftmaxCrossEntropy::Compute(logits, std::vector<int32_t>{2, 0, 0, 1}, nullptr, &correct);
  EXPECT_EQ(correct, 2);  // rows 0 and 1; row 3 ties go to column 0
}

TEST(ArgMaxRowsTest, PicksLargestAndFirstOnTies) {
  Tensor logits(4, 5);
  logits << 0, 1, 2, 3, 4,  //
      4, 3, 2, 1, 0,        //
      0, 7, 0, 7, 0,        //
      -3, -2, -1, -2, -3;
  std::vector<int32_t> out(4, -1);
  ArgMaxRows(logits, out.data());
  EXPECT_EQ(out, (std::vector<int32_t>{4, 0, 1, 2}));
}

}  // namespace
}  // namespace mnemo
