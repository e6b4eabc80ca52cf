// Dropout: the mask is a pure function of (seed, step, element), so a forward
// pass run twice (as checkpointing recomputes it) gives the same bits; the
// statistics are those of the rate; backward is mask * scale * grad.
#include "core/layers/dropout.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>

#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/config.pb.h"
#include "core/registry.h"
#include "core/tensor.h"
#include "tests/testing/tensors.h"

namespace mnemo {
namespace {

using ::mnemo::testing::SameBits;

using ::mnemo::testing::TestRng;
using ::testing::HasSubstr;

ForwardContext Training(uint64_t step) { return ForwardContext{true, /*seed=*/1, step}; }

absl::StatusOr<std::unique_ptr<Layer>> CreateFromConfig(float rate, int input_size = 8) {
  config::Layer config;
  config.set_type("Dropout");
  config.set_name("drop");
  config.set_rate(rate);
  return Registries::Global().layers.Create(
      "Dropout", LayerArgs{config, input_size, config::Init{}, /*seed=*/11});
}

TEST(DropoutTest, MaskIsAPureFunctionOfSeedStepAndElement) {
  TestRng rng(1);
  const Tensor input = rng.Random(7, 33);
  Dropout a(33, 0.4f, /*seed=*/5);
  Dropout b(33, 0.4f, /*seed=*/5);  // another object, same seed
  Tensor first, again, other;
  a.Forward(input, Training(3), &first);
  a.Forward(rng.Random(7, 33), Training(9), &other);  // in between: another step
  a.Forward(input, Training(3), &again);
  EXPECT_TRUE(SameBits(first, again));
  b.Forward(input, Training(3), &other);
  EXPECT_TRUE(SameBits(first, other));
  // The mask is what Keeps() says, element by element.
  for (Eigen::Index k = 0; k < input.size(); ++k) {
    const float expected = a.Keeps(3, k) ? input.data()[k] * (1.0f / 0.6f) : 0.0f;
    ASSERT_EQ(first.data()[k], expected) << k;
  }
}

TEST(DropoutTest, MaskDiffersByStepAndBySeed) {
  const Tensor input = Tensor::Ones(16, 64);
  Dropout a(64, 0.5f, /*seed=*/5);
  Dropout b(64, 0.5f, /*seed=*/6);
  Tensor step0, step1, seed6;
  a.Forward(input, Training(0), &step0);
  a.Forward(input, Training(1), &step1);
  b.Forward(input, Training(0), &seed6);
  // 1024 independent fair coins: about half of the elements differ.
  const auto differ = [](const Tensor& x, const Tensor& y) {
    return ((x.array() != y.array()).cast<int>()).sum();
  };
  EXPECT_GT(differ(step0, step1), 400);
  EXPECT_GT(differ(step0, seed6), 400);
}

TEST(DropoutTest, DropsTheRateOfElementsAndScalesTheRest) {
  const Tensor input = Tensor::Ones(250, 400);  // 100,000 elements
  for (float rate : {0.05f, 0.3f, 0.5f, 0.9f}) {
    SCOPED_TRACE(rate);
    Dropout layer(400, rate, /*seed=*/42);
    Tensor output;
    layer.Forward(input, Training(7), &output);
    const double n = static_cast<double>(input.size());
    const double dropped = (output.array() == 0.0f).cast<double>().sum();
    // Binomial(n, rate): within 5 standard deviations.
    const double sigma = std::sqrt(n * rate * (1 - rate));
    EXPECT_NEAR(dropped, n * rate, 5 * sigma);
    const float scale = 1.0f / (1.0f - rate);
    EXPECT_TRUE(((output.array() == 0.0f) || (output.array() == scale)).all());
    // The expectation is kept: the mean output is about the mean input.
    EXPECT_NEAR(output.cast<double>().mean(), 1.0, 5 * sigma * scale / n);
  }
}

TEST(DropoutTest, EvaluationAndRateZeroAreTheIdentity) {
  TestRng rng(2);
  const Tensor input = rng.Random(5, 9);
  const Tensor grad = rng.Random(5, 9);
  Dropout layer(9, 0.5f, /*seed=*/3);
  Tensor output, grad_input;
  layer.Forward(input, ForwardContext{/*training=*/false, 1, 4}, &output);
  EXPECT_TRUE(SameBits(output, input));
  layer.Backward(input, output, grad, ForwardContext{false, 1, 4}, &grad_input);
  EXPECT_TRUE(SameBits(grad_input, grad));

  Dropout none(9, 0.0f, /*seed=*/3);
  none.Forward(input, Training(4), &output);
  EXPECT_TRUE(SameBits(output, input));
  none.Backward(input, output, grad, Training(4), &grad_input);
  EXPECT_TRUE(SameBits(grad_input, grad));
}

TEST(DropoutTest, BackwardIsMaskTimesScaleTimesGradient) {
  TestRng rng(3);
  const Tensor input = rng.Random(6, 11);
  const Tensor grad = rng.Random(6, 11);
  Dropout layer(11, 0.3f, /*seed=*/8);
  const ForwardContext context = Training(12);
  Tensor output, grad_input;
  layer.Forward(input, context, &output);
  layer.Backward(input, output, grad, context, &grad_input);
  const float scale = 1.0f / 0.7f;
  for (Eigen::Index k = 0; k < grad.size(); ++k) {
    ASSERT_EQ(grad_input.data()[k], layer.Keeps(12, k) ? grad.data()[k] * scale : 0.0f) << k;
  }
  layer.Backward(input, output, grad, context, /*grad_input=*/nullptr);  // allowed
}

// L = sum(output .* R) by central differences, with the step held fixed so
// the mask is too: dL/dx = mask * scale * R.
TEST(DropoutTest, BackwardMatchesFiniteDifferences) {
  TestRng rng(4);
  Tensor input = rng.Random(4, 10);
  const Tensor r = rng.Random(4, 10);
  Dropout layer(10, 0.5f, /*seed=*/9);
  const ForwardContext context = Training(2);
  Tensor output, grad_input;
  layer.Forward(input, context, &output);
  layer.Backward(input, output, r, context, &grad_input);
  const auto loss = [&](const Tensor& x) {
    Tensor y;
    layer.Forward(x, context, &y);
    return (y.cast<double>().array() * r.cast<double>().array()).sum();
  };
  const float h = 0.25f;  // linear in x: no truncation error
  for (Eigen::Index k = 0; k < input.size(); ++k) {
    const float saved = input.data()[k];
    input.data()[k] = saved + h;
    const double plus_at = input.data()[k];
    const double plus = loss(input);
    input.data()[k] = saved - h;
    const double minus_at = input.data()[k];
    const double minus = loss(input);
    input.data()[k] = saved;
    EXPECT_NEAR(grad_input.data()[k], (plus - minus) / (plus_at - minus_at), 1e-5) << k;
  }
}

TEST(DropoutTest, CreatedFromConfigWithItsRate) {
  absl::StatusOr<std::unique_ptr<Layer>> layer = CreateFromConfig(0.25f);
  ASSERT_TRUE(layer.ok()) << layer.status();
  auto* dropout = dynamic_cast<Dropout*>(layer->get());
  ASSERT_NE(dropout, nullptr);
  EXPECT_EQ(dropout->rate(), 0.25f);
  EXPECT_EQ(dropout->seed(), 11u);
  EXPECT_EQ(dropout->output_size(), 8);
  EXPECT_TRUE(dropout->parameters().empty());
}

TEST(DropoutTest, RateOutsideZeroToOneIsAnErrorNamingTheField) {
  for (float rate : {-0.1f, 1.0f, 1.5f, std::numeric_limits<float>::quiet_NaN()}) {
    SCOPED_TRACE(rate);
    absl::StatusOr<std::unique_ptr<Layer>> layer = CreateFromConfig(rate);
    ASSERT_FALSE(layer.ok());
    EXPECT_THAT(std::string(layer.status().message()), HasSubstr("rate in [0, 1)"));
  }
}

}  // namespace
}  // namespace mnemo
