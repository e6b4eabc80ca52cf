// Standardize and MinMaxScale: fitted to the training set's statistics,
// applied per feature, gradients through them, frozen.
#include "core/layers/input_scaling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/dataset.h"
#include "core/layers/dense.h"
#include "core/network.h"
#include "tests/testing/tensors.h"

namespace mnemo {
namespace {

using ::mnemo::testing::TestRng;

Dataset Data(const Tensor& features) {
  Dataset data;
  data.features = features;
  data.labels.assign(features.rows(), 0);
  data.num_classes = 1;
  return data;
}

TEST(FeatureStatsTest, MatchADirectComputationOverMoreRowsThanAChunk) {
  TestRng rng(1);
  Tensor features = rng.Random(10000, 3, -4.0f, 9.0f);
  features.col(2).setConstant(7.0f);
  const FeatureStats stats = ComputeFeatureStats(Data(features));
  for (int c = 0; c < 3; ++c) {
    double sum = 0, sum_sq = 0;
    for (int r = 0; r < 10000; ++r) sum += features(r, c);
    const double mean = sum / 10000;
    for (int r = 0; r < 10000; ++r) sum_sq += (features(r, c) - mean) * (features(r, c) - mean);
    EXPECT_NEAR(stats.mean(0, c), mean, 1e-5 * (1 + std::abs(mean))) << c;
    EXPECT_NEAR(stats.stddev(0, c), std::sqrt(sum_sq / 10000), 1e-4) << c;
    EXPECT_EQ(stats.min(0, c), features.col(c).minCoeff()) << c;
    EXPECT_EQ(stats.max(0, c), features.col(c).maxCoeff()) << c;
  }
  EXPECT_EQ(stats.stddev(0, 2), 0.0f);
}

TEST(InputScalingTest, StandardizeGivesZeroMeanUnitDeviationAndOnlyCentresAConstant) {
  TestRng rng(2);
  Tensor features = rng.Random(500, 3, 10.0f, 30.0f);
  features.col(1).setConstant(-3.0f);
  InputScaling layer(InputScaling::Method::kStandardize, 3, /*inference=*/false);
  layer.Fit(ComputeFeatureStats(Data(features)));
  Tensor out;
  layer.Forward(features, ForwardContext{}, &out);
  for (int c : {0, 2}) {
    EXPECT_NEAR(out.col(c).mean(), 0.0, 1e-4);
    const double variance = (out.col(c).array() - out.col(c).mean()).square().mean();
    EXPECT_NEAR(variance, 1.0, 1e-3);
  }
  EXPECT_TRUE(out.col(1).isZero());
  EXPECT_FALSE(layer.trainable());
}

TEST(InputScalingTest, MinMaxScaleMapsTheTrainingRangeToZeroOne) {
  const Tensor features = (Tensor(3, 2) << 0, 5, 8, 5, 16, 5).finished();
  InputScaling layer(InputScaling::Method::kMinMax, 2, /*inference=*/false);
  layer.Fit(ComputeFeatureStats(Data(features)));
  Tensor out;
  layer.Forward(features, ForwardContext{}, &out);
  EXPECT_TRUE(out.isApprox((Tensor(3, 2) << 0, 0, 0.5, 0, 1, 0).finished()));
  // A value beyond the training range is not clipped.
  layer.Forward((Tensor(1, 2) << 32, 6).finished(), ForwardContext{}, &out);
  EXPECT_FLOAT_EQ(out(0, 0), 2.0f);
  EXPECT_FLOAT_EQ(out(0, 1), 1.0f);
}

TEST(InputScalingTest, InputGradientMatchesFiniteDifferences) {
  TestRng rng(3);
  InputScaling layer(InputScaling::Method::kStandardize, 4, /*inference=*/false);
  layer.Fit(ComputeFeatureStats(Data(rng.Random(50, 4, -5.0f, 5.0f))));
  Tensor input = rng.Random(3, 4);
  const Tensor weights = rng.Random(3, 4);  // loss = sum(weights * output)
  Tensor output, grad_input;
  layer.Forward(input, ForwardContext{}, &output);
  layer.Backward(input, output, weights, ForwardContext{}, &grad_input);
  const float h = 1e-2f;
  for (Eigen::Index k = 0; k < input.size(); ++k) {
    const float saved = input.data()[k];
    input.data()[k] = saved + h;
    layer.Forward(input, ForwardContext{}, &output);
    const double plus = (output.array() * weights.array()).cast<double>().sum();
    input.data()[k] = saved - h;
    layer.Forward(input, ForwardContext{}, &output);
    const double minus = (output.array() * weights.array()).cast<double>().sum();
    input.data()[k] = saved;
    EXPECT_NEAR(grad_input.data()[k], (plus - minus) / (2 * h), 1e-3) << k;
  }
}

TEST(FitInputScalingTest, FitsTheFirstLayerAndRefusesOneAnywhereElse) {
  TestRng rng(4);
  std::vector<std::unique_ptr<Layer>> layers;
  layers.push_back(std::make_unique<InputScaling>(InputScaling::Method::kMinMax, 2, false));
  layers.back()->set_name("0_minmaxscale");
  absl::StatusOr<std::unique_ptr<Network>> network = Network::Create(std::move(layers));
  ASSERT_TRUE(network.ok()) << network.status();
  const Tensor features = (Tensor(2, 2) << 1, 2, 3, 6).finished();
  ASSERT_TRUE(FitInputScaling(**network, Data(features)).ok());
  const std::vector<Parameter> params = (*network)->layer(0).parameters();
  EXPECT_TRUE(params[0].value->isApprox((Tensor(1, 2) << 1, 2).finished()));       // shift
  EXPECT_TRUE(params[1].value->isApprox((Tensor(1, 2) << 0.5, 0.25).finished()));  // scale

  std::vector<std::unique_ptr<Layer>> second;
  second.push_back(std::make_unique<InputScaling>(InputScaling::Method::kMinMax, 2, false));
  second.back()->set_name("0_minmaxscale");
  second.push_back(std::make_unique<InputScaling>(InputScaling::Method::kStandardize, 2, false));
  second.back()->set_name("1_standardize");
  network = Network::Create(std::move(second));
  ASSERT_TRUE(network.ok());
  EXPECT_EQ(FitInputScaling(**network, Data(features)).message(),
            "layer 1_standardize (Standardize) must be the model's first layer: it is fitted to "
            "the raw features");
}

}  // namespace
}  // namespace mnemo
