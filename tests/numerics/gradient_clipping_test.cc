// Gradient clipping by value and by global norm against hand computations
// (and what PyTorch's clip_grad_value_ and clip_grad_norm_ give for them);
// the norm summed in the non-finite check's pass is the norm clipping
// computes itself; gradients too large for a float's square are still
// clipped, and a non-finite one is found before anything is clipped.
#include "core/gradient_clipping.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include "core/nonfinite.h"
#include "tests/testing/tensors.h"

namespace mnemo {
namespace {

// Two parameters whose gradients are [3, -4] and [12] (norm 13).
struct TwoGradients {
  Tensor a_value = Tensor::Zero(1, 2), b_value = Tensor::Zero(1, 1);
  Tensor a = (Tensor(1, 2) << 3.0f, -4.0f).finished();
  Tensor b = (Tensor(1, 1) << 12.0f).finished();
  std::vector<ModelParameter> parameters() {
    return {{"a", &a_value, &a, nullptr}, {"b", &b_value, &b, nullptr}};
  }
};

TEST(GradientClippingTest, ByGlobalNormScalesEveryGradientTogether) {
  TwoGradients g;
  // 6.5 / (13 + 1e-6) = 0.49999996: PyTorch's clip_grad_norm_(6.5) gives
  // [1.4999999, -1.9999999] and [5.9999995], and returns 13.
  const double norm = ClipGradients({0, 6.5f}, g.parameters());
  EXPECT_DOUBLE_EQ(norm, 13.0);
  const float factor = static_cast<float>(6.5 / (13 + 1e-6));
  EXPECT_FLOAT_EQ(g.a(0, 0), 3 * factor);
  EXPECT_FLOAT_EQ(g.a(0, 1), -4 * factor);
  EXPECT_FLOAT_EQ(g.b(0, 0), 12 * factor);
  EXPECT_NEAR(g.b(0, 0), 5.999999523162842, 1e-6);
}

TEST(GradientClippingTest, ANormWithinTheLimitChangesNothing) {
  TwoGradients g;
  EXPECT_DOUBLE_EQ(ClipGradients({0, 13.5f}, g.parameters()), 13.0);
  EXPECT_EQ(g.a(0, 0), 3.0f);
  EXPECT_EQ(g.a(0, 1), -4.0f);
  EXPECT_EQ(g.b(0, 0), 12.0f);
}

TEST(GradientClippingTest, ByValueClampsEachElement) {
  TwoGradients g;
  EXPECT_EQ(ClipGradients({2.5f, 0}, g.parameters()), 0.0);  // no norm taken
  EXPECT_EQ(g.a(0, 0), 2.5f);
  EXPECT_EQ(g.a(0, 1), -2.5f);
  EXPECT_EQ(g.b(0, 0), 2.5f);
}

TEST(GradientClippingTest, ValueFirstThenTheNormOfTheClampedGradients) {
  TwoGradients g;
  // Clamped to 3.5: [3, -3.5], [3.5], norm sqrt(9 + 24.5) = 5.78792; then
  // scaled to 5: PyTorch gives [2.5916049, -3.0235391], [3.0235391].
  const double norm = ClipGradients({3.5f, 5.0f}, g.parameters());
  EXPECT_NEAR(norm, std::sqrt(33.5), 1e-12);
  EXPECT_NEAR(g.a(0, 0), 2.5916049480438232, 1e-6);
  EXPECT_NEAR(g.a(0, 1), -3.0235390663146973, 1e-6);
  EXPECT_NEAR(g.b(0, 0), 3.0235390663146973, 1e-6);
}

TEST(GradientClippingTest, TheCheckPassesNormIsTheOneClippingTakes) {
  testing::TestRng rng(3);
  Tensor values[2] = {Tensor::Zero(7, 9), Tensor::Zero(1, 9)};
  Tensor gradients[2] = {rng.Random(7, 9, -2, 2), rng.Random(1, 9, -2, 2)};
  Tensor copies[2] = {gradients[0], gradients[1]};
  const std::vector<ModelParameter> checked = {{"w", &values[0], &gradients[0], nullptr},
                                               {"b", &values[1], &gradients[1], nullptr}};
  const std::vector<ModelParameter> alone = {{"w", &values[0], &copies[0], nullptr},
                                             {"b", &values[1], &copies[1], nullptr}};
  double squared_norm = -1;
  ASSERT_FALSE(FindNonFiniteGradient(checked, &squared_norm).has_value());
  double expected = 0;
  for (const Tensor& g : gradients) {
    for (Eigen::Index k = 0; k < g.size(); ++k) expected += double{g.data()[k]} * g.data()[k];
  }
  EXPECT_NEAR(squared_norm, expected, 1e-5 * expected);
  const GradientClipping clipping{0, 1.0f};
  ASSERT_TRUE(clipping.NormOfRawGradients());
  EXPECT_EQ(ClipGradients(clipping, checked, &squared_norm), ClipGradients(clipping, alone));
  for (int i = 0; i < 2; ++i) EXPECT_TRUE(testing::SameBits(gradients[i], copies[i])) << i;
}

TEST(GradientClippingTest, GradientsBeyondAFloatsSquareAreFiniteAndClipped) {
  // 1e20^2 overflows a float: the norm is summed in double instead.
  Tensor value = Tensor::Zero(1, 2);
  Tensor gradient = (Tensor(1, 2) << 3e20f, 4e20f).finished();
  const std::vector<ModelParameter> parameters = {{"p", &value, &gradient, nullptr}};
  double squared_norm = 0;
  EXPECT_FALSE(FindNonFiniteGradient(parameters, &squared_norm).has_value());
  // 3e20f and 4e20f are floats: the norm to float precision.
  EXPECT_NEAR(std::sqrt(squared_norm), 5e20, 5e20 * 1e-6);
  EXPECT_NEAR(ClipGradients({0, 1.0f}, parameters, &squared_norm), 5e20, 5e20 * 1e-6);
  EXPECT_NEAR(gradient(0, 0), 0.6f, 1e-6f);
  EXPECT_NEAR(gradient(0, 1), 0.8f, 1e-6f);
}

TEST(GradientClippingTest, TheCheckFindsANonFiniteGradientWhileSummingTheNorm) {
  Tensor values[2] = {Tensor::Zero(1, 2), Tensor::Zero(2, 2)};
  Tensor gradients[2] = {Tensor::Ones(1, 2), Tensor::Ones(2, 2)};
  gradients[1](1, 0) = std::numeric_limits<float>::infinity();
  const std::vector<ModelParameter> parameters = {{"a", &values[0], &gradients[0], nullptr},
                                                  {"b", &values[1], &gradients[1], nullptr}};
  double squared_norm = -1;
  std::optional<NonFiniteValue> bad = FindNonFiniteGradient(parameters, &squared_norm);
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->ToString(), "parameter \"b\", element [1, 0] = inf");
  EXPECT_EQ(squared_norm, -1);  // not set
}

}  // namespace
}  // namespace mnemo
