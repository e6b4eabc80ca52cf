// Forward values of the built-in layers against direct computations, and what
// their factories accept.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/config.pb.h"
#include "core/init.h"
#include "core/layers/activations.h"
#include "core/layers/dense.h"
#include "core/registry.h"
#include "tests/testing/tensors.h"

namespace mnemo {
namespace {

using ::mnemo::testing::TestRng;
using ::testing::HasSubstr;

absl::StatusOr<std::unique_ptr<Layer>> Create(const std::string& type, int input_size,
                                              int units, uint64_t seed = 1) {
  config::Layer config;
  config.set_type(type);
  config.set_name("probe");
  config.set_units(units);
  config::Init init;
  init.set_scheme(config::Init::HE_NORMAL);
  return Registries::Global().layers.Create(type,
                                            LayerArgs{config, input_size, init, seed});
}

TEST(DenseTest, ForwardIsInputTimesWeightPlusBias) {
  Dense dense(/*input_size=*/9, /*units=*/5);
  TestRng rng(1);
  dense.weight() = rng.Random(9, 5);
  dense.bias() = rng.Random(1, 5);
  const Tensor input = rng.Random(4, 9);
  Tensor output;
  dense.Forward(input, ForwardContext{}, &output);
  ASSERT_EQ(output.rows(), 4);
  ASSERT_EQ(output.cols(), 5);
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c < 5; ++c) {
      double expected = dense.bias()(0, c);
      for (int k = 0; k < 9; ++k) {
        expected += static_cast<double>(input(r, k)) * dense.weight()(k, c);
      }
      EXPECT_NEAR(output(r, c), expected, 1e-5) << r << "," << c;
    }
  }
}

TEST(DenseTest, ReusesOutputStorageWhenShapeIsUnchanged) {
  Dense dense(3, 2);
  TestRng rng(2);
  const Tensor input = rng.Random(4, 3);
  Tensor output;
  dense.Forward(input, ForwardContext{}, &output);
  const float* storage = output.data();
  dense.Forward(input, ForwardContext{}, &output);
  EXPECT_EQ(output.data(), storage);
}

TEST(DenseTest, FactoryInitialisesWeightsFromSeedAndZeroesBias) {
  absl::StatusOr<std::unique_ptr<Layer>> a = Create("Dense", 20, 30, /*seed=*/5);
  absl::StatusOr<std::unique_ptr<Layer>> b = Create("Dense", 20, 30, /*seed=*/5);
  absl::StatusOr<std::unique_ptr<Layer>> c = Create("Dense", 20, 30, /*seed=*/6);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  auto& da = static_cast<Dense&>(**a);
  auto& db = static_cast<Dense&>(**b);
  auto& dc = static_cast<Dense&>(**c);
  EXPECT_EQ(da.input_size(), 20);
  EXPECT_EQ(da.output_size(), 30);
  EXPECT_EQ(da.weight().rows(), 20);
  EXPECT_EQ(da.weight().cols(), 30);
  EXPECT_EQ(da.weight(), db.weight());
  EXPECT_NE(da.weight(), dc.weight());
  EXPECT_TRUE(da.bias().isZero(0.0f));

  Tensor expected(20, 30);
  config::Init init;
  init.set_scheme(config::Init::HE_NORMAL);
  InitializeWeights(init, 5, &expected);
  EXPECT_EQ(da.weight(), expected);
}

TEST(DenseTest, FactoryRequiresUnits) {
  absl::StatusOr<std::unique_ptr<Layer>> layer = Create("Dense", 4, 0);
  ASSERT_FALSE(layer.ok());
  EXPECT_EQ(layer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(layer.status().message(), HasSubstr("units > 0"));
  EXPECT_THAT(layer.status().message(), HasSubstr("probe"));
  EXPECT_FALSE(Create("Dense", 4, -3).ok());
}

TEST(ActivationTest, FactoriesRefuseAWidthChange) {
  for (const char* type : {"ReLU", "Sigmoid", "Tanh"}) {
    EXPECT_TRUE(Create(type, 6, 0).ok()) << type;
    EXPECT_TRUE(Create(type, 6, 6).ok()) << type;
    absl::StatusOr<std::unique_ptr<Layer>> wrong = Create(type, 6, 7);
    ASSERT_FALSE(wrong.ok()) << type;
    EXPECT_THAT(wrong.status().message(), HasSubstr("units"));
    EXPECT_THAT(wrong.status().message(), HasSubstr("(6)"));
    EXPECT_THAT(wrong.status().message(), HasSubstr("got 7"));
    EXPECT_THAT(wrong.status().message(), HasSubstr(type));
  }
}

// Element-wise layers against the C library, on a width that exercises both
// Eigen's vectorised body and its scalar tail.
TEST(ActivationTest, ForwardMatchesDirectFormulas) {
  TestRng rng(3);
  const Tensor input = rng.Random(3, 37, -6.0f, 6.0f);
  ReLU relu(37);
  Sigmoid sigmoid(37);
  Tanh tanh_layer(37);
  Tensor relu_out, sigmoid_out, tanh_out;
  relu.Forward(input, ForwardContext{}, &relu_out);
  sigmoid.Forward(input, ForwardContext{}, &sigmoid_out);
  tanh_layer.Forward(input, ForwardContext{}, &tanh_out);
  for (Eigen::Index k = 0; k < input.size(); ++k) {
    const double x = input.data()[k];
    EXPECT_EQ(relu_out.data()[k], x > 0 ? input.data()[k] : 0.0f);
    EXPECT_NEAR(sigmoid_out.data()[k], 1.0 / (1.0 + std::exp(-x)), 1e-6);
    EXPECT_NEAR(tanh_out.data()[k], std::tanh(x), 1e-6);
  }
}

TEST(SigmoidTest, StableAtExtremesAndPreciseForTinyOutputs) {
  Tensor input(1, 6);
  input << -1e4f, -100.0f, -20.0f, 20.0f, 100.0f, 1e4f;
  Sigmoid sigmoid(6);
  Tensor output;
  sigmoid.Forward(input, ForwardContext{}, &output);
  for (Eigen::Index k = 0; k < output.size(); ++k) {
    EXPECT_TRUE(std::isfinite(output(0, k))) << input(0, k);
    EXPECT_GE(output(0, k), 0.0f);
    EXPECT_LE(output(0, k), 1.0f);
  }
  EXPECT_LT(output(0, 0), 1e-37f);
  EXPECT_LT(output(0, 1), 1e-37f);
  // 1 / (1 + e^20) = 2.06e-9: computed as e / (1 + e), not 1 - (something
  // near 1), so it keeps its relative precision.
  EXPECT_NEAR(output(0, 2) / 2.0611536e-9f, 1.0f, 1e-5f);
  EXPECT_EQ(output(0, 3), 1.0f);
  EXPECT_EQ(output(0, 4), 1.0f);
  EXPECT_EQ(output(0, 5), 1.0f);

  // Its backward pass is finite too, and ~0 where the function is flat.
  Tensor grad_input;
  sigmoid.Backward(input, output, Tensor::Ones(1, 6), ForwardContext{}, &grad_input);
  for (Eigen::Index k = 0; k < grad_input.size(); ++k) {
    EXPECT_TRUE(std::isfinite(grad_input(0, k)));
    EXPECT_LT(std::abs(grad_input(0, k)), 3e-9f);
  }
}

TEST(ReLUTest, GradientAtZeroIsZero) {
  ReLU relu(3);
  Tensor input(1, 3);
  input << -1.0f, 0.0f, 2.0f;
  Tensor output, grad_input;
  relu.Forward(input, ForwardContext{}, &output);
  relu.Backward(input, output, Tensor::Constant(1, 3, 5.0f), ForwardContext{}, &grad_input);
  EXPECT_EQ(grad_input(0, 0), 0.0f);
  EXPECT_EQ(grad_input(0, 1), 0.0f);
  EXPECT_EQ(grad_input(0, 2), 5.0f);
}

}  // namespace
}  // namespace mnemo
