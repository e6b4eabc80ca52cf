// The memory contrastive loss against its brute-force definition, its
// gradients against central finite differences (double), and its edge cases.
#include "memory_modules/common/contrastive_loss.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/avx512_warning_workaround.h"  // first: see there
#include "tests/memory/reference.h"
#include "tests/testing/tensors.h"

namespace mnemo::memory {
namespace {

using ::mnemo::memory::testing::BruteContrastive;
using ::mnemo::memory::testing::MatrixD;
using ::mnemo::memory::testing::NumericGradient;
using ::mnemo::memory::testing::RandomD;
using ::mnemo::testing::TestRng;

struct Case {
  int batch;
  int keys;
  int dim;
  int classes;
  double temperature;
};

class ContrastiveLossTest : public ::testing::TestWithParam<Case> {};

// Random labels in [0, classes); with 2 classes more in the batch than in
// memory some queries have no positive.
std::vector<int> RandomLabels(TestRng& rng, int n, int classes) {
  std::vector<int> labels(n);
  for (int& label : labels) label = static_cast<int>(rng.Uniform(0, classes - 1e-3f));
  return labels;
}

TEST_P(ContrastiveLossTest, ValueAndGradientsMatchBruteForce) {
  const Case c = GetParam();
  TestRng rng(10 + c.batch);
  MatrixD features = RandomD(rng, c.batch, c.dim);
  MatrixD keys = RandomD(rng, c.keys, c.dim);
  const std::vector<int> labels = RandomLabels(rng, c.batch, c.classes + 2);
  const std::vector<int> key_labels = RandomLabels(rng, c.keys, c.classes);

  MatrixD grad_features, grad_keys;
  absl::StatusOr<double> loss = MemoryContrastiveLoss(features, labels, keys, key_labels,
                                                      c.temperature, &grad_features, &grad_keys);
  ASSERT_TRUE(loss.ok()) << loss.status();
  const double expected = BruteContrastive(features, labels, keys, key_labels, c.temperature);
  EXPECT_NEAR(*loss, expected, 1e-12 * std::max(1.0, std::abs(expected)));

  auto f = [&] { return BruteContrastive(features, labels, keys, key_labels, c.temperature); };
  // Truncation h^2/6 f''' with f''' ~ 1/T^3 stays below 1e-8 at h = 1e-6 T.
  const double h = 1e-6 * c.temperature;
  const MatrixD numeric_features = NumericGradient(f, &features, h);
  const MatrixD numeric_keys = NumericGradient(f, &keys, h);
  const double tolerance = 1e-6 / c.temperature;
  if (expected > 0) {  // else every gradient is 0 and the check below is vacuous
    EXPECT_GT(numeric_features.cwiseAbs().maxCoeff(), 1e-2);
  }
  EXPECT_LT((grad_features - numeric_features).cwiseAbs().maxCoeff(), tolerance);
  EXPECT_LT((grad_keys - numeric_keys).cwiseAbs().maxCoeff(), tolerance);

  // The float code the modules run agrees to float precision.
  Tensor grad_features_f, grad_keys_f;
  absl::StatusOr<float> loss_f = MemoryContrastiveLoss(
      features.cast<float>().eval(), labels, keys.cast<float>().eval(), key_labels,
      static_cast<float>(c.temperature), &grad_features_f, &grad_keys_f);
  ASSERT_TRUE(loss_f.ok());
  EXPECT_NEAR(*loss_f, expected, 1e-5 * std::max(1.0, std::abs(expected)));
  const double scale = grad_features.cwiseAbs().maxCoeff() + 1e-3;
  EXPECT_LT((grad_features_f.cast<double>() - grad_features).cwiseAbs().maxCoeff(), 1e-4 * scale);
  EXPECT_LT((grad_keys_f.cast<double>() - grad_keys).cwiseAbs().maxCoeff(),
            1e-4 * (grad_keys.cwiseAbs().maxCoeff() + 1e-3));
}

INSTANTIATE_TEST_SUITE_P(Shapes, ContrastiveLossTest,
                         ::testing::Values(Case{1, 1, 3, 1, 0.1}, Case{1, 6, 4, 2, 0.1},
                                           Case{5, 9, 7, 3, 0.1}, Case{8, 20, 5, 4, 0.5},
                                           Case{6, 12, 6, 3, 1.0}));

TEST(ContrastiveLossEdgeTest, EmptyMemoryGivesZeroAndZeroGradient) {
  TestRng rng(20);
  const MatrixD features = RandomD(rng, 3, 4);
  const MatrixD keys(0, 4);
  MatrixD grad_features, grad_keys;
  absl::StatusOr<double> loss =
      MemoryContrastiveLoss(features, {0, 1, 2}, keys, {}, 0.1, &grad_features, &grad_keys);
  ASSERT_TRUE(loss.ok()) << loss.status();
  EXPECT_EQ(*loss, 0.0);
  ASSERT_EQ(grad_features.rows(), 3);
  ASSERT_EQ(grad_features.cols(), 4);
  EXPECT_EQ(grad_features.cwiseAbs().maxCoeff(), 0.0);
  EXPECT_EQ(grad_keys.rows(), 0);
}

TEST(ContrastiveLossEdgeTest, AbsentClassCountsNothingAndGetsNoGradient) {
  TestRng rng(21);
  const MatrixD features = RandomD(rng, 3, 4);
  const MatrixD keys = RandomD(rng, 5, 4);
  const std::vector<int> key_labels = {0, 0, 1, 1, 0};
  MatrixD grad_features, grad_keys;
  // Row 1's class 7 is absent: the mean is over rows 0 and 2.
  absl::StatusOr<double> loss =
      MemoryContrastiveLoss(features, {0, 7, 1}, keys, key_labels, 0.1, &grad_features, &grad_keys);
  ASSERT_TRUE(loss.ok());
  const double row0 = BruteContrastive(features.topRows(1), {0}, keys, key_labels, 0.1);
  const double row2 = BruteContrastive(features.bottomRows(1), {1}, keys, key_labels, 0.1);
  EXPECT_NEAR(*loss, (row0 + row2) / 2, 1e-12);
  EXPECT_EQ(grad_features.row(1).cwiseAbs().maxCoeff(), 0.0);
  EXPECT_GT(grad_features.row(0).cwiseAbs().maxCoeff(), 0.0);

  // No row with a positive: 0, zero gradients.
  absl::StatusOr<double> none =
      MemoryContrastiveLoss(features, {5, 6, 7}, keys, key_labels, 0.1, &grad_features, &grad_keys);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0.0);
  EXPECT_EQ(grad_features.cwiseAbs().maxCoeff(), 0.0);
  EXPECT_EQ(grad_keys.cwiseAbs().maxCoeff(), 0.0);
}

TEST(ContrastiveLossEdgeTest, OnlyPositivesGiveZeroLoss) {
  TestRng rng(22);
  const MatrixD features = RandomD(rng, 1, 4);
  const MatrixD keys = RandomD(rng, 3, 4);
  MatrixD grad_features, grad_keys;
  absl::StatusOr<double> loss =
      MemoryContrastiveLoss(features, {2}, keys, {2, 2, 2}, 0.1, &grad_features, &grad_keys);
  ASSERT_TRUE(loss.ok());
  EXPECT_NEAR(*loss, 0.0, 1e-15);
  EXPECT_LT(grad_features.cwiseAbs().maxCoeff(), 1e-12);
}

TEST(ContrastiveLossEdgeTest, ZeroFeatureGetsUniformLogitsAndZeroGradient) {
  MatrixD features = MatrixD::Zero(1, 3);
  MatrixD keys(3, 3);
  keys << 1, 0, 0, 0, 1, 0, 0, 0, 1;
  MatrixD grad_features, grad_keys;
  absl::StatusOr<double> loss =
      MemoryContrastiveLoss(features, {0}, keys, {0, 1, 1}, 0.1, &grad_features, &grad_keys);
  ASSERT_TRUE(loss.ok());
  EXPECT_NEAR(*loss, std::log(3.0), 1e-12);  // all cosines 0: -log(1/3)
  EXPECT_EQ(grad_features.cwiseAbs().maxCoeff(), 0.0);
  EXPECT_TRUE(grad_keys.allFinite());
}

// At a tiny temperature a naive exp() underflows (positives 400 below the
// best negative); the log-sum-exp per set does not.
TEST(ContrastiveLossEdgeTest, StableAtSmallTemperature) {
  Tensor features(1, 2), keys(2, 2);
  features << 1, 0;
  keys << 1, 0, -1, 0;  // the negative matches, the positive is opposite
  Tensor grad_features, grad_keys;
  absl::StatusOr<float> loss =
      MemoryContrastiveLoss(features, {1}, keys, {0, 1}, 0.005f, &grad_features, &grad_keys);
  ASSERT_TRUE(loss.ok());
  EXPECT_NEAR(*loss, 400.0f, 1e-3f);  // (1 - (-1)) / 0.005
  EXPECT_TRUE(grad_features.allFinite());
  EXPECT_TRUE(grad_keys.allFinite());
}

TEST(ContrastiveLossEdgeTest, RefusesMismatchedInputs) {
  const MatrixD features = MatrixD::Ones(2, 3);
  const MatrixD keys = MatrixD::Ones(2, 3);
  MatrixD g;
  EXPECT_FALSE(MemoryContrastiveLoss(features, {0}, keys, {0, 0}, 0.1, &g, &g).ok());
  EXPECT_FALSE(MemoryContrastiveLoss(features, {0, 0}, keys, {0}, 0.1, &g, &g).ok());
  EXPECT_FALSE(
      MemoryContrastiveLoss(features, {0, 0}, MatrixD::Ones(2, 4), {0, 0}, 0.1, &g, &g).ok());
  absl::StatusOr<double> cold = MemoryContrastiveLoss(features, {0, 0}, keys, {0, 0}, 0.0, &g, &g);
  ASSERT_FALSE(cold.ok());
  EXPECT_NE(cold.status().message().find("temperature"), absl::string_view::npos);
}

}  // namespace
}  // namespace mnemo::memory
