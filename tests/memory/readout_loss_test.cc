// The trainable memory's read-out cross-entropy against its brute-force
// definition, and its gradients (features, keys, values) against central
// finite differences in double.
#include "memory_modules/common/readout_loss.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/avx512_warning_workaround.h"  // first: see there
#include "tests/memory/reference.h"
#include "tests/testing/tensors.h"

namespace mnemo::memory {
namespace {

using ::mnemo::memory::testing::BruteReadout;
using ::mnemo::memory::testing::MatrixD;
using ::mnemo::memory::testing::NumericGradient;
using ::mnemo::memory::testing::RandomD;
using ::mnemo::testing::TestRng;

struct Case {
  int batch;
  int slots;
  int dim;
  int classes;
  double temperature;
};

class ReadoutLossTest : public ::testing::TestWithParam<Case> {};

TEST_P(ReadoutLossTest, ValueAndGradientsMatchBruteForce) {
  const Case c = GetParam();
  TestRng rng(30 + c.batch);
  MatrixD features = RandomD(rng, c.batch, c.dim);
  MatrixD keys = RandomD(rng, c.slots, c.dim);
  MatrixD values = 3.0 * RandomD(rng, c.slots, c.classes);
  std::vector<int> labels(c.batch);
  for (int& label : labels) label = static_cast<int>(rng.Uniform(0, c.classes - 1e-3f));

  MatrixD grad_features, grad_keys, grad_values;
  absl::StatusOr<double> loss = MemoryReadoutLoss(features, labels, keys, values, c.temperature,
                                                  &grad_features, &grad_keys, &grad_values);
  ASSERT_TRUE(loss.ok()) << loss.status();
  const double expected = BruteReadout(features, labels, keys, values, c.temperature);
  EXPECT_NEAR(*loss, expected, 1e-12 * std::max(1.0, std::abs(expected)));

  auto f = [&] { return BruteReadout(features, labels, keys, values, c.temperature); };
  const double h = 1e-6 * c.temperature;
  const double tolerance = 1e-6 / c.temperature;
  EXPECT_GT(grad_values.cwiseAbs().maxCoeff(), 1e-2);  // not a vacuous check
  EXPECT_LT((grad_features - NumericGradient(f, &features, h)).cwiseAbs().maxCoeff(), tolerance);
  EXPECT_LT((grad_keys - NumericGradient(f, &keys, h)).cwiseAbs().maxCoeff(), tolerance);
  EXPECT_LT((grad_values - NumericGradient(f, &values, 1e-6)).cwiseAbs().maxCoeff(), 1e-7);

  // The float code the modules run agrees to float precision.
  Tensor gf, gk, gv;
  absl::StatusOr<float> loss_f = MemoryReadoutLoss(
      features.cast<float>().eval(), labels, keys.cast<float>().eval(), values.cast<float>().eval(),
      static_cast<float>(c.temperature), &gf, &gk, &gv);
  ASSERT_TRUE(loss_f.ok());
  EXPECT_NEAR(*loss_f, expected, 1e-5 * std::max(1.0, std::abs(expected)));
  EXPECT_LT((gf.cast<double>() - grad_features).cwiseAbs().maxCoeff(),
            1e-4 * (grad_features.cwiseAbs().maxCoeff() + 1e-3));
  EXPECT_LT((gk.cast<double>() - grad_keys).cwiseAbs().maxCoeff(),
            1e-4 * (grad_keys.cwiseAbs().maxCoeff() + 1e-3));
  EXPECT_LT((gv.cast<double>() - grad_values).cwiseAbs().maxCoeff(),
            1e-4 * (grad_values.cwiseAbs().maxCoeff() + 1e-3));
}

INSTANTIATE_TEST_SUITE_P(Shapes, ReadoutLossTest,
                         ::testing::Values(Case{1, 1, 3, 2, 0.1}, Case{1, 5, 4, 3, 0.1},
                                           Case{6, 9, 5, 4, 0.1}, Case{7, 12, 6, 10, 0.5},
                                           Case{4, 3, 8, 2, 1.0}));

TEST(ReadoutLossEdgeTest, EmptyMemoryGivesZeroAndZeroGradients) {
  const MatrixD features = MatrixD::Ones(2, 3);
  MatrixD grad_features, grad_keys, grad_values;
  absl::StatusOr<double> loss = MemoryReadoutLoss(features, {0, 1}, MatrixD(0, 3), MatrixD(0, 4),
                                                  0.1, &grad_features, &grad_keys, &grad_values);
  ASSERT_TRUE(loss.ok()) << loss.status();
  EXPECT_EQ(*loss, 0.0);
  EXPECT_EQ(grad_features.rows(), 2);
  EXPECT_EQ(grad_features.cwiseAbs().maxCoeff(), 0.0);
  EXPECT_EQ(grad_values.rows(), 0);
}

// Values far apart: softmax(v)[y] is e^-200 for the wrong slots, which a
// probability-domain mix would round to 0 and take the log of.
TEST(ReadoutLossEdgeTest, StableForExtremeValues) {
  Tensor features(1, 2), keys(2, 2), values(2, 2);
  features << 1, 0;
  keys << 1, 0, 0, 1;
  values << 200, 0, 200, 0;  // both slots are sure of class 0; the label is 1
  Tensor gf, gk, gv;
  absl::StatusOr<float> loss = MemoryReadoutLoss(features, {1}, keys, values, 0.1f, &gf, &gk, &gv);
  ASSERT_TRUE(loss.ok());
  EXPECT_NEAR(*loss, 200.0f, 1e-3f);  // -log(e^-200), whatever the attention
  EXPECT_TRUE(gf.allFinite() && gk.allFinite() && gv.allFinite());
}

TEST(ReadoutLossEdgeTest, RefusesLabelsOutsideTheClasses) {
  MatrixD g;
  absl::StatusOr<double> loss = MemoryReadoutLoss(MatrixD::Ones(1, 2), {3}, MatrixD::Ones(1, 2),
                                                  MatrixD::Ones(1, 3), 0.1, &g, &g, &g);
  ASSERT_FALSE(loss.ok());
  EXPECT_NE(loss.status().message().find("label 3"), absl::string_view::npos);
}

}  // namespace
}  // namespace mnemo::memory
