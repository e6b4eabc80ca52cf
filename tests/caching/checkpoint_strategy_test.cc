// The checkpoint strategy against keep_all: the same gradients and weights,
// bit for bit, after several SGD-with-momentum steps, for every depth, every
// every_n, sqrt and budgets from the least workable up to keeping everything;
// the budget is never exceeded; the contract's order is enforced.
#include "caching/checkpoint/checkpoint_strategy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "caching/checkpoint/budget_schedule.h"
#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/config.pb.h"
#include "core/layers/activations.h"
#include "core/layers/dense.h"
#include "core/layers/dropout.h"
#include "core/network.h"
#include "core/optimizer.h"
#include "tests/testing/tensors.h"

namespace mnemo::caching::checkpoint {
namespace {

using ::mnemo::testing::SameBits;

using ::mnemo::testing::TestRng;
using ::testing::HasSubstr;
using Mode = ScheduleChoice::Mode;

constexpr int kBatch = 5;
constexpr int kInput = 4;

// `depth` layers of Dense (widths 2..7), ReLU, Tanh and Dropout in a mix
// fixed by `seed`, so the activations differ in size; the same seed gives the
// same layers and weights.
std::vector<std::unique_ptr<Layer>> MakeLayers(int depth, uint32_t seed) {
  TestRng rng(seed);
  std::vector<std::unique_ptr<Layer>> layers;
  int width = kInput;
  for (int t = 0; t < depth; ++t) {
    const int kind = (t * 7 + static_cast<int>(seed)) % 5;
    std::unique_ptr<Layer> layer;
    if (kind <= 1 || t == depth - 1) {
      const int units = 2 + static_cast<int>(rng.Uniform(0, 6));
      auto dense = std::make_unique<Dense>(width, units);
      dense->weight() = rng.Random(width, units, -0.8f, 0.8f);
      dense->bias() = rng.Random(1, units, -0.2f, 0.2f);
      width = units;
      layer = std::move(dense);
    } else if (kind == 2) {
      layer = std::make_unique<ReLU>(width);
    } else if (kind == 3) {
      layer = std::make_unique<Tanh>(width);
    } else {
      layer = std::make_unique<Dropout>(width, 0.3f, /*seed=*/1000 + t);
    }
    layer->set_name(std::to_string(t));
    layers.push_back(std::move(layer));
  }
  return layers;
}

std::unique_ptr<Network> Build(int depth, uint32_t seed, std::unique_ptr<CacheStrategy> strategy,
                               int frozen = 0) {
  std::vector<std::unique_ptr<Layer>> layers = MakeLayers(depth, seed);
  for (int t = 0; t < frozen; ++t) layers[t]->set_trainable(false);
  absl::StatusOr<std::unique_ptr<Network>> network =
      Network::Create(std::move(layers), std::move(strategy));
  EXPECT_TRUE(network.ok()) << network.status();
  return network.ok() ? std::move(*network) : nullptr;
}

std::unique_ptr<CacheStrategy> Checkpoint(ScheduleChoice choice, int batch_size = 0) {
  absl::StatusOr<std::unique_ptr<CheckpointStrategy>> strategy =
      CheckpointStrategy::Create(choice, batch_size);
  EXPECT_TRUE(strategy.ok()) << strategy.status();
  return strategy.ok() ? std::move(*strategy) : nullptr;
}

// The chain the planner sees for `network` at `rows` rows.
Chain ChainOf(Network& network, int rows) {
  Chain chain;
  chain.sizes.push_back(int64_t{rows} * network.input_size() * 4);
  for (int t = 0; t < network.num_layers(); ++t) {
    chain.sizes.push_back(int64_t{rows} * network.layer(t).output_size() * 4);
  }
  int lowest = 0;
  while (lowest < network.num_layers() && !network.layer(lowest).trainable()) ++lowest;
  chain.lowest = lowest;
  return chain;
}

int64_t KeepAllBytes(Network& network, int rows) {
  int64_t total = 0;
  for (int64_t s : ChainOf(network, rows).sizes) total += s;
  return total;
}

std::unique_ptr<Optimizer> Sgd() {
  config::Optimizer config;
  config.set_type("sgd");
  config.set_learning_rate(0.1f);
  config.set_momentum(0.9f);
  absl::StatusOr<std::unique_ptr<Optimizer>> optimizer = CreateOptimizer(config);
  EXPECT_TRUE(optimizer.ok()) << optimizer.status();
  return std::move(*optimizer);
}

// One training step: forward, a squared-error gradient that depends on the
// output, backward, an optimizer step. Returns false on error.
bool Step(Network& network, Optimizer& optimizer, const Tensor& input, uint64_t step,
          Tensor* output) {
  const ForwardContext context{/*training=*/true, /*seed=*/3, step};
  absl::StatusOr<const Tensor*> y = network.Forward(input, context);
  EXPECT_TRUE(y.ok()) << y.status();
  if (!y.ok()) return false;
  *output = **y;
  const Tensor grad = (**y).array() - 0.25f;
  network.ZeroGradients();
  absl::Status status = network.Backward(grad, context);
  EXPECT_TRUE(status.ok()) << status;
  if (!status.ok()) return false;
  optimizer.Step(network);
  return true;
}

// Runs three steps (batches of 5, 3 and 5 rows, an evaluation pass between)
// on a keep_all network and on one with `choice`, comparing the outputs,
// every parameter gradient and every weight bit for bit after each, and,
// under a budget, the activation bytes held.
void ExpectSameAsKeepAll(int depth, uint32_t seed, ScheduleChoice choice, int frozen = 0) {
  std::unique_ptr<Network> reference = Build(depth, seed, nullptr, frozen);
  std::unique_ptr<Network> network = Build(depth, seed, Checkpoint(choice, kBatch), frozen);
  ASSERT_NE(reference, nullptr);
  ASSERT_NE(network, nullptr);
  std::unique_ptr<Optimizer> reference_sgd = Sgd(), sgd = Sgd();
  TestRng rng(seed + 17);
  auto& strategy = static_cast<CheckpointStrategy&>(network->strategy());
  for (int step = 0; step < 3; ++step) {
    SCOPED_TRACE(::testing::Message() << "step " << step);
    const int rows = step == 1 ? 3 : kBatch;
    const Tensor input = rng.Random(rows, kInput);
    Tensor expected, actual;
    ASSERT_TRUE(Step(*reference, *reference_sgd, input, step, &expected));
    ASSERT_TRUE(Step(*network, *sgd, input, step, &actual));
    EXPECT_TRUE(SameBits(expected, actual)) << "output";
    for (int t = 0; t < depth; ++t) {
      std::vector<Parameter> want = reference->layer(t).parameters();
      std::vector<Parameter> got = network->layer(t).parameters();
      for (size_t p = 0; p < want.size(); ++p) {
        EXPECT_TRUE(SameBits(*want[p].gradient, *got[p].gradient))
            << "layer " << t << " " << want[p].name << " gradient";
        EXPECT_TRUE(SameBits(*want[p].value, *got[p].value))
            << "layer " << t << " " << want[p].name;
      }
    }
    const CacheStats stats = network->strategy().stats();
    absl::StatusOr<const Plan*> plan = strategy.TrainingPlan(rows);
    ASSERT_TRUE(plan.ok()) << plan.status();
    EXPECT_EQ(stats.recomputed_forwards, static_cast<uint64_t>((*plan)->simulation.recomputed));
    EXPECT_EQ(stats.counters[1].first, "pass_peak_bytes");
    EXPECT_EQ(stats.counters[1].second, (*plan)->simulation.peak_bytes);
    if (choice.mode == Mode::kMemoryBudget) {
      EXPECT_LE(stats.peak_bytes_held, static_cast<size_t>(choice.memory_budget_bytes));
      EXPECT_EQ(stats.counters[3].first, "peak_allocated_bytes");
      EXPECT_LE(stats.counters[3].second, choice.memory_budget_bytes);
    }
    EXPECT_LE(stats.peak_bytes_held, static_cast<size_t>(KeepAllBytes(*network, kBatch)));

    // Evaluation in between, as the trainer does after an epoch.
    const ForwardContext eval{false, 3, 0};
    absl::StatusOr<const Tensor*> want = reference->Forward(input, eval);
    absl::StatusOr<const Tensor*> got = network->Forward(input, eval);
    ASSERT_TRUE(want.ok() && got.ok());
    EXPECT_TRUE(SameBits(**want, **got)) << "evaluation output";
    reference->strategy().EndPass();
    network->strategy().EndPass();
    EXPECT_EQ(network->strategy().stats().bytes_held, 0u);
  }
}

std::vector<int64_t> Budgets(int depth, uint32_t seed, int frozen) {
  std::unique_ptr<Network> network = Build(depth, seed, nullptr, frozen);
  const Chain chain = ChainOf(*network, kBatch);
  const int64_t least = MinimumBudget(chain);
  const int64_t all = KeepAllBytes(*network, kBatch);
  std::vector<int64_t> budgets;
  for (int k = 0; k <= 6; ++k) budgets.push_back(least + (all - least) * k / 6);
  return budgets;
}

class CheckpointVsKeepAllTest : public ::testing::TestWithParam<int> {};

TEST_P(CheckpointVsKeepAllTest, EveryNIsBitIdentical) {
  const int depth = GetParam();
  for (int n = 1; n <= depth + 1; ++n) {
    SCOPED_TRACE(::testing::Message() << "every_n " << n);
    ExpectSameAsKeepAll(depth, 1, {Mode::kEveryN, n, 0});
    ExpectSameAsKeepAll(depth, 2, {Mode::kEveryN, n, 0});
  }
}

TEST_P(CheckpointVsKeepAllTest, SqrtIsBitIdentical) {
  const int depth = GetParam();
  ExpectSameAsKeepAll(depth, 1, {Mode::kSqrt, 0, 0});
  ExpectSameAsKeepAll(depth, 2, {Mode::kSqrt, 0, 0});
}

TEST_P(CheckpointVsKeepAllTest, BudgetsAreBitIdenticalAndNeverExceeded) {
  const int depth = GetParam();
  for (uint32_t seed : {1u, 2u}) {
    for (int64_t budget : Budgets(depth, seed, 0)) {
      SCOPED_TRACE(::testing::Message() << "seed " << seed << " budget " << budget);
      ExpectSameAsKeepAll(depth, seed, {Mode::kMemoryBudget, 0, budget});
    }
  }
}

// Frozen layers at the bottom: the network stops its backward above them.
// Depth 2 and more: a network of one frozen layer has nothing to train.
class FrozenBottomTest : public ::testing::TestWithParam<int> {};

TEST_P(FrozenBottomTest, FrozenBottomLayers) {
  const int depth = GetParam();
  const int frozen = depth / 2;
  ExpectSameAsKeepAll(depth, 3, {Mode::kSqrt, 0, 0}, frozen);
  ExpectSameAsKeepAll(depth, 3, {Mode::kEveryN, 2, 0}, frozen);
  for (int64_t budget : Budgets(depth, 3, frozen)) {
    SCOPED_TRACE(::testing::Message() << "budget " << budget);
    ExpectSameAsKeepAll(depth, 3, {Mode::kMemoryBudget, 0, budget}, frozen);
  }
}

INSTANTIATE_TEST_SUITE_P(Depths, CheckpointVsKeepAllTest, ::testing::Range(1, 13));
INSTANTIATE_TEST_SUITE_P(Depths, FrozenBottomTest, ::testing::Range(2, 13));

TEST(CheckpointStrategyTest, StepsAfterTheFirstAllocateNothing) {
  std::unique_ptr<Network> network = Build(10, 4, Checkpoint({Mode::kEveryN, 3, 0}));
  ASSERT_NE(network, nullptr);
  std::unique_ptr<Optimizer> sgd = Sgd();
  TestRng rng(5);
  const Tensor input = rng.Random(kBatch, kInput);
  Tensor output;
  ASSERT_TRUE(Step(*network, *sgd, input, 0, &output));
  const CacheStats first = network->strategy().stats();
  EXPECT_GT(first.recomputed_forwards, 0u);
  for (int step = 1; step < 4; ++step) {
    ASSERT_TRUE(Step(*network, *sgd, input, step, &output));
    const CacheStats later = network->strategy().stats();
    EXPECT_EQ(later.counters[2].first, "allocated_bytes");
    EXPECT_EQ(later.counters[2].second, first.counters[2].second);
    EXPECT_EQ(later.counters[3].second, first.counters[3].second);  // peak allocated
  }
}

TEST(CheckpointStrategyTest, CountsWhatItHolds) {
  // 8 layers of one width; every_n 4: a_4 kept, and a_4..a_8 as the last segment.
  std::vector<std::unique_ptr<Layer>> layers;
  for (int t = 0; t < 8; ++t) layers.push_back(std::make_unique<Tanh>(kInput));
  absl::StatusOr<std::unique_ptr<Network>> network =
      Network::Create(std::move(layers), Checkpoint({Mode::kEveryN, 4, 0}));
  ASSERT_TRUE(network.ok());
  const Tensor input = Tensor::Ones(kBatch, kInput);
  const ForwardContext context{true, 0, 0};
  ASSERT_TRUE((*network)->Forward(input, context).ok());
  const int64_t one = kBatch * kInput * 4;
  CacheStats stats = (*network)->strategy().stats();
  EXPECT_EQ(stats.bytes_held, static_cast<size_t>(6 * one));  // a_0, a_4 .. a_8
  EXPECT_EQ(stats.counters[0], std::make_pair(std::string("checkpoints"), 4.0));
  ASSERT_TRUE((*network)->Backward(Tensor::Ones(kBatch, kInput), context).ok());
  stats = (*network)->strategy().stats();
  EXPECT_EQ(stats.bytes_held, 0u);
  // Segment [0, 4) recomputed with a_0, a_4 and a_8 held: 6 at most either way.
  EXPECT_EQ(stats.peak_bytes_held, static_cast<size_t>(6 * one));
  EXPECT_EQ(stats.recomputed_forwards, 3u);
  // Evaluation holds the input and two activations at most.
  ASSERT_TRUE((*network)->Forward(input, ForwardContext{}).ok());
  (*network)->strategy().EndPass();
  EXPECT_EQ((*network)->strategy().stats().counters[1].second, 3 * one);
}

TEST(CheckpointStrategyTest, RefusesCallsOutOfTheContractsOrder) {
  std::unique_ptr<Network> network = Build(4, 6, Checkpoint({Mode::kSqrt, 0, 0}));
  ASSERT_NE(network, nullptr);
  CacheStrategy& strategy = network->strategy();
  EXPECT_THAT(std::string(strategy.Activation(4).status().message()),
              HasSubstr("outside a pass"));
  const Tensor input = Tensor::Ones(kBatch, kInput);
  ASSERT_TRUE(strategy.Forward(input, ForwardContext{true, 0, 0}).ok());
  EXPECT_TRUE(strategy.Activation(4).ok());
  absl::Status skipped = strategy.Activation(2).status();
  EXPECT_THAT(std::string(skipped.message()),
              HasSubstr("expected Activation(4) next, got Activation(2)"));
  EXPECT_TRUE(strategy.Activation(4).ok());
  EXPECT_TRUE(strategy.Activation(3).ok());
  EXPECT_FALSE(strategy.Activation(9).ok());
  strategy.EndPass();

  ASSERT_TRUE(strategy.Forward(input, ForwardContext{}).ok());  // evaluation
  EXPECT_THAT(std::string(strategy.Activation(4).status().message()),
              HasSubstr("context.training false"));
  strategy.EndPass();
}

TEST(CheckpointStrategyTest, BadOptionsSayTheSmallestWorkableValue) {
  absl::StatusOr<std::unique_ptr<CheckpointStrategy>> zero =
      CheckpointStrategy::Create({Mode::kEveryN, 0, 0}, 0);
  ASSERT_FALSE(zero.ok());
  EXPECT_THAT(std::string(zero.status().message()),
              HasSubstr("smallest workable value is 1"));
  EXPECT_FALSE(CheckpointStrategy::Create({Mode::kEveryN, -3, 0}, 0).ok());
  EXPECT_FALSE(CheckpointStrategy::Create({Mode::kMemoryBudget, 0, 0}, 0).ok());

  // A budget the configured batch cannot meet: refused when the network is
  // built, with the least that works.
  std::unique_ptr<Network> probe = Build(6, 7, nullptr);
  const int64_t least = MinimumBudget(ChainOf(*probe, kBatch));
  absl::StatusOr<std::unique_ptr<Network>> refused = Network::Create(
      MakeLayers(6, 7), Checkpoint({Mode::kMemoryBudget, 0, least - 1}, kBatch));
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("smallest workable budget is " + std::to_string(least) + " bytes"));

  // Unknown batch at build time: the same error at the first Forward; a
  // larger batch than the budget was checked for, likewise.
  for (int hint : {0, kBatch}) {
    std::unique_ptr<Network> network =
        Build(6, 7, Checkpoint({Mode::kMemoryBudget, 0, least}, hint));
    ASSERT_NE(network, nullptr);
    const Tensor big = Tensor::Ones(2 * kBatch, kInput);
    absl::StatusOr<const Tensor*> output = network->Forward(big, ForwardContext{true, 0, 0});
    ASSERT_FALSE(output.ok());
    EXPECT_THAT(std::string(output.status().message()),
                HasSubstr("smallest workable budget is " +
                          std::to_string(MinimumBudget(ChainOf(*network, 2 * kBatch)))));
    EXPECT_TRUE(network->Forward(Tensor::Ones(kBatch, kInput), ForwardContext{true, 0, 0}).ok());
  }
}

}  // namespace
}  // namespace mnemo::caching::checkpoint
