// BatchNorm and LayerNorm under the checkpoint strategy: a recomputed
// segment runs BatchNorm's training-mode forward pass again, on the same
// input, so its batch statistics, outputs and gradients are the same bits as
// keep_all's; its running statistics change once per step (CommitStep), so
// after several steps they, the weights and the outputs still agree bit for
// bit, under every schedule.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "caching/checkpoint/budget_schedule.h"
#include "caching/checkpoint/checkpoint_strategy.h"
#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/config.pb.h"
#include "core/layers/activations.h"
#include "core/layers/batch_norm.h"
#include "core/layers/dense.h"
#include "core/layers/dropout.h"
#include "core/layers/layer_norm.h"
#include "core/network.h"
#include "core/optimizer.h"
#include "tests/testing/tensors.h"

namespace mnemo::caching::checkpoint {
namespace {

using ::mnemo::testing::SameBits;
using ::mnemo::testing::TestRng;
using Mode = ScheduleChoice::Mode;

constexpr int kInput = 6;

// Dense 6->9, BatchNorm, ReLU, LayerNorm, Dense 9->7, BatchNorm (momentum
// 0.5), Tanh, Dropout, Dense 7->3: the same weights for the same seed.
std::vector<std::unique_ptr<Layer>> MakeLayers(uint32_t seed) {
  TestRng rng(seed);
  std::vector<std::unique_ptr<Layer>> layers;
  auto dense = [&](int in, int out) {
    auto layer = std::make_unique<Dense>(in, out);
    layer->weight() = rng.Random(in, out, -0.8f, 0.8f);
    layer->bias() = rng.Random(1, out, -0.2f, 0.2f);
    return layer;
  };
  layers.push_back(dense(kInput, 9));
  layers.push_back(std::make_unique<BatchNorm>(9, 1e-5f, 0.1f));
  layers.push_back(std::make_unique<ReLU>(9));
  layers.push_back(std::make_unique<LayerNorm>(9, 1e-5f));
  layers.push_back(dense(9, 7));
  layers.push_back(std::make_unique<BatchNorm>(7, 1e-3f, 0.5f));
  layers.push_back(std::make_unique<Tanh>(7));
  layers.push_back(std::make_unique<Dropout>(7, 0.3f, /*seed=*/99));
  layers.push_back(dense(7, 3));
  for (size_t t = 0; t < layers.size(); ++t) layers[t]->set_name(std::to_string(t));
  return layers;
}

// `frozen` bottom layers frozen: the first BatchNorm then uses its running
// statistics, and the backward pass stops above it.
std::unique_ptr<Network> Build(std::unique_ptr<CacheStrategy> strategy, int frozen) {
  std::vector<std::unique_ptr<Layer>> layers = MakeLayers(7);
  for (int t = 0; t < frozen; ++t) layers[t]->set_trainable(false);
  absl::StatusOr<std::unique_ptr<Network>> network =
      Network::Create(std::move(layers), std::move(strategy));
  EXPECT_TRUE(network.ok()) << network.status();
  return network.ok() ? *std::move(network) : nullptr;
}

std::unique_ptr<Optimizer> Sgd() {
  config::Optimizer config;
  config.set_type("sgd");
  config.set_learning_rate(0.1f);
  config.set_momentum(0.9f);
  absl::StatusOr<std::unique_ptr<Optimizer>> optimizer = CreateOptimizer(config);
  EXPECT_TRUE(optimizer.ok()) << optimizer.status();
  return optimizer.ok() ? *std::move(optimizer) : nullptr;
}

// A training step as the trainer takes it: forward, a gradient that depends
// on the output, backward, the optimizer, then CommitStep.
void Step(Network& network, Optimizer& optimizer, const Tensor& input, uint64_t step,
          Tensor* output) {
  const ForwardContext context{/*training=*/true, /*seed=*/3, step};
  absl::StatusOr<const Tensor*> y = network.Forward(input, context);
  ASSERT_TRUE(y.ok()) << y.status();
  *output = **y;
  const Tensor grad = (**y).array() - 0.25f;
  network.ZeroGradients();
  ASSERT_TRUE(network.Backward(grad, context).ok());
  optimizer.Step(network);
  network.CommitStep();
}

// Every parameter (and its gradient) and buffer of the two networks, bit for
// bit.
void ExpectSameLayers(Network& want, Network& got) {
  for (int t = 0; t < want.num_layers(); ++t) {
    const std::vector<Parameter> pw = want.layer(t).parameters(), pg = got.layer(t).parameters();
    for (size_t p = 0; p < pw.size(); ++p) {
      EXPECT_TRUE(SameBits(*pw[p].gradient, *pg[p].gradient))
          << "layer " << t << " " << pw[p].name << " gradient";
      EXPECT_TRUE(SameBits(*pw[p].value, *pg[p].value)) << "layer " << t << " " << pw[p].name;
    }
    const std::vector<Parameter> bw = want.layer(t).buffers(), bg = got.layer(t).buffers();
    for (size_t b = 0; b < bw.size(); ++b) {
      EXPECT_TRUE(SameBits(*bw[b].value, *bg[b].value)) << "layer " << t << " " << bw[b].name;
    }
  }
}

// Five steps (batches of 5, 3, 5, 1 and 4 rows, an evaluation pass after
// each) on keep_all and under `choice`; adds the layer forwards the
// schedule recomputed to *recomputed.
void ExpectSameAsKeepAll(ScheduleChoice choice, int frozen, uint64_t* recomputed) {
  absl::StatusOr<std::unique_ptr<CheckpointStrategy>> strategy =
      CheckpointStrategy::Create(choice, /*batch_size=*/5);
  ASSERT_TRUE(strategy.ok()) << strategy.status();
  std::unique_ptr<Network> reference = Build(nullptr, frozen);
  std::unique_ptr<Network> network = Build(*std::move(strategy), frozen);
  ASSERT_NE(reference, nullptr);
  ASSERT_NE(network, nullptr);
  std::unique_ptr<Optimizer> reference_sgd = Sgd(), sgd = Sgd();
  TestRng rng(11);
  const Tensor start_mean = *network->Buffers()[2].value;  // the second BatchNorm's
  int step = 0;
  for (int rows : {5, 3, 5, 1, 4}) {
    SCOPED_TRACE(::testing::Message() << "step " << step << ", " << rows << " rows");
    const Tensor input = rng.Random(rows, kInput, -2.0f, 2.0f);
    Tensor expected, actual;
    Step(*reference, *reference_sgd, input, step, &expected);
    Step(*network, *sgd, input, step, &actual);
    *recomputed += network->strategy().stats().recomputed_forwards;
    EXPECT_TRUE(SameBits(expected, actual)) << "output";
    ExpectSameLayers(*reference, *network);

    const ForwardContext eval{false, 3, 0};
    absl::StatusOr<const Tensor*> want = reference->Forward(input, eval);
    absl::StatusOr<const Tensor*> got = network->Forward(input, eval);
    ASSERT_TRUE(want.ok() && got.ok());
    EXPECT_TRUE(SameBits(**want, **got)) << "evaluation output";
    reference->strategy().EndPass();
    network->strategy().EndPass();
    ++step;
  }
  EXPECT_FALSE(SameBits(*network->Buffers()[2].value, start_mean)) << "the statistics moved";
}

class CheckpointNormTest : public ::testing::TestWithParam<int> {};

TEST_P(CheckpointNormTest, EverySchedulesGradientsWeightsAndStatisticsAreKeepAlls) {
  const int frozen = GetParam();
  for (int n = 1; n <= 10; ++n) {
    SCOPED_TRACE(::testing::Message() << "every_n " << n);
    uint64_t recomputed = 0;
    ExpectSameAsKeepAll({Mode::kEveryN, n, 0}, frozen, &recomputed);
    // A schedule that keeps less than everything ran forward passes again.
    if (n >= 2 && n <= 4) EXPECT_GT(recomputed, 0u);
  }
  uint64_t recomputed = 0;
  ExpectSameAsKeepAll({Mode::kSqrt, 0, 0}, frozen, &recomputed);
  EXPECT_GT(recomputed, 0u);

  std::unique_ptr<Network> network = Build(nullptr, frozen);
  ASSERT_NE(network, nullptr);
  Chain chain;
  chain.sizes.push_back(int64_t{5} * kInput * 4);
  for (int t = 0; t < network->num_layers(); ++t) {
    chain.sizes.push_back(int64_t{5} * network->layer(t).output_size() * 4);
  }
  chain.lowest = frozen;
  const int64_t least = MinimumBudget(chain);
  int64_t all = 0;
  for (int64_t s : chain.sizes) all += s;
  for (int k = 0; k <= 4; ++k) {
    const int64_t budget = least + (all - least) * k / 4;
    SCOPED_TRACE(::testing::Message() << "budget " << budget);
    recomputed = 0;
    ExpectSameAsKeepAll({Mode::kMemoryBudget, 0, budget}, frozen, &recomputed);
    if (k == 0) EXPECT_GT(recomputed, 0u);
  }
}

// Nothing frozen; the Dense and the BatchNorm below frozen (which then
// normalises with its running statistics, which stay at their start).
INSTANTIATE_TEST_SUITE_P(Frozen, CheckpointNormTest, ::testing::Values(0, 2));

}  // namespace
}  // namespace mnemo::caching::checkpoint
