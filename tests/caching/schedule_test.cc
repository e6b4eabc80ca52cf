// The checkpoint planners, without tensors: every plan is a valid pass (the
// simulator checks it), the budget schedule is optimal (against a brute-force
// search over every schedule the contract allows) and never over budget, and
// its least budget is exact.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <deque>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "caching/checkpoint/budget_schedule.h"
#include "caching/checkpoint/schedule.h"
#include "caching/checkpoint/segment_schedule.h"

namespace mnemo::caching::checkpoint {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kInfeasible = std::numeric_limits<int64_t>::max();

int64_t Total(const Chain& chain) {
  int64_t total = 0;
  for (int64_t s : chain.sizes) total += s;
  return total;
}

// The fewest recomputations of any valid training pass within `budget`,
// found by a breadth-first search (costs 0 and 1) over every state: which
// activations are live, how far the forward pass got, which backward is next.
// The moves are every operation the executor can run (compute an activation
// whose input is live, free one that the network does not hold, end the
// forward pass, run the next backward), so this bounds every schedule, not
// only those of the F/B recursion.
int64_t BruteForce(const Chain& chain, int64_t budget) {
  const int last = chain.num_layers();
  // Stage: 0..last while the first forward pass is at a_stage; then
  // last + 1 + (next + 1) for next backward layer `next` (-1 .. last - 1).
  const int stages = 2 * last + 2;
  const int masks = 1 << (last + 1);
  std::vector<int64_t> best(static_cast<size_t>(stages) * masks, kInfeasible);
  const auto held = [&](int mask) {
    int64_t bytes = 0;
    for (int t = 0; t <= last; ++t) bytes += (mask >> t & 1) ? chain.sizes[t] : 0;
    return bytes;
  };
  std::deque<std::pair<int, int>> queue;  // (stage, mask)
  const auto relax = [&](int stage, int mask, int64_t cost, bool front) {
    if (held(mask) > budget) return;
    int64_t& b = best[static_cast<size_t>(stage) * masks + mask];
    if (cost >= b) return;
    b = cost;
    if (front) {
      queue.emplace_front(stage, mask);
    } else {
      queue.emplace_back(stage, mask);
    }
  };
  relax(0, 1, 0, true);
  int64_t answer = kInfeasible;
  while (!queue.empty()) {
    auto [stage, mask] = queue.front();
    queue.pop_front();
    const int64_t cost = best[static_cast<size_t>(stage) * masks + mask];
    const bool forward = stage <= last;
    const int next = forward ? last - 1 : stage - last - 2;
    if (!forward && next == chain.lowest - 1) {
      answer = std::min(answer, cost);
      continue;
    }
    for (int t = 1; t <= last; ++t) {
      const bool live = mask >> t & 1;
      if (!live && (mask >> (t - 1) & 1)) {
        if (forward) {
          if (t == stage + 1) relax(t, mask | 1 << t, cost, true);  // first computation
        } else {
          relax(stage, mask | 1 << t, cost + 1, false);
        }
      }
      if (live && t < last && (forward || t != next + 1)) {
        relax(stage, mask & ~(1 << t), cost, true);
      }
    }
    if (forward && stage == last) relax(last + 1 + last, mask, cost, true);  // next = L - 1
    if (!forward && next >= chain.lowest && (mask >> next & 1) && (mask >> (next + 1) & 1)) {
      relax(stage - 1, mask, cost, true);
    }
  }
  return answer;
}

Chain RandomChain(std::mt19937& rng, int layers) {
  Chain chain;
  for (int t = 0; t <= layers; ++t) chain.sizes.push_back(1 + rng() % 4);
  chain.lowest = rng() % 3 == 0 ? static_cast<int>(rng() % layers) : 0;
  return chain;
}

// Layers of one width between an input and an output of any: the setting of
// revolve, where keeping every checkpoint until its segment is done (what the
// F/B recursion does) is optimal among all schedules.
TEST(ScheduleTest, BudgetScheduleIsOptimalForLayersOfOneWidth) {
  std::mt19937 rng(2024);
  int compared = 0;
  for (int trial = 0; trial < 300; ++trial) {
    Chain chain = RandomChain(rng, 1 + trial % 7);
    const int64_t width = chain.sizes[1];
    for (int t = 1; t < chain.num_layers(); ++t) chain.sizes[t] = width;
    SCOPED_TRACE(::testing::Message() << "sizes " << ::testing::PrintToString(chain.sizes)
                                      << " lowest " << chain.lowest);
    const int64_t least = MinimumBudget(chain);
    EXPECT_EQ(BruteForce(chain, least - 1), kInfeasible);
    EXPECT_NE(BruteForce(chain, least), kInfeasible);
    EXPECT_FALSE(PlanBudget(chain, least - 1).ok());
    for (int64_t budget = least; budget <= Total(chain) + 1; ++budget) {
      absl::StatusOr<Plan> plan = PlanBudget(chain, budget);
      ASSERT_TRUE(plan.ok()) << "budget " << budget << ": " << plan.status();
      EXPECT_LE(plan->simulation.peak_bytes, budget);
      EXPECT_EQ(plan->simulation.recomputed, BruteForce(chain, budget)) << "budget " << budget;
      ++compared;
    }
  }
  EXPECT_GT(compared, 1000);
}

// Activations of different sizes: a schedule may gain by dropping a small
// checkpoint early and recomputing it later (not persistent), which the F/B
// recursion does not consider. The plan is then within one recomputation of
// the best of all, and its least budget is still exact.
TEST(ScheduleTest, BudgetScheduleIsNearOptimalForMixedWidths) {
  std::mt19937 rng(2025);
  int compared = 0, optimal = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const Chain chain = RandomChain(rng, 1 + trial % 7);
    SCOPED_TRACE(::testing::Message() << "sizes " << ::testing::PrintToString(chain.sizes)
                                      << " lowest " << chain.lowest);
    const int64_t least = MinimumBudget(chain);
    EXPECT_EQ(BruteForce(chain, least - 1), kInfeasible);
    EXPECT_NE(BruteForce(chain, least), kInfeasible);
    for (int64_t budget = least; budget <= Total(chain) + 1; ++budget) {
      absl::StatusOr<Plan> plan = PlanBudget(chain, budget);
      ASSERT_TRUE(plan.ok()) << "budget " << budget << ": " << plan.status();
      EXPECT_LE(plan->simulation.peak_bytes, budget);
      const int64_t best = BruteForce(chain, budget);
      EXPECT_GE(plan->simulation.recomputed, best) << "budget " << budget;
      EXPECT_LE(plan->simulation.recomputed, best + 1) << "budget " << budget;
      optimal += plan->simulation.recomputed == best;
      ++compared;
    }
  }
  std::printf("optimal in %d of %d (chain, budget) pairs\n", optimal, compared);
  EXPECT_GT(optimal, compared * 9 / 10);
}

TEST(ScheduleTest, BudgetScheduleNeverDoesWorseThanSegmentsThatFit) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    const Chain chain = RandomChain(rng, 1 + trial % 12);
    const int last = chain.num_layers();
    std::vector<std::vector<int>> candidates = {SqrtCheckpoints(chain)};
    for (int n = 1; n <= last + 1; ++n) candidates.push_back(EveryNCheckpoints(last, n));
    for (const std::vector<int>& checkpoints : candidates) {
      absl::StatusOr<Plan> segments = PlanSegments(chain, checkpoints);
      ASSERT_TRUE(segments.ok()) << segments.status();
      absl::StatusOr<Plan> budget = PlanBudget(chain, segments->simulation.peak_bytes);
      ASSERT_TRUE(budget.ok()) << budget.status();
      EXPECT_LE(budget->simulation.recomputed, segments->simulation.recomputed);
      EXPECT_LE(budget->simulation.peak_bytes, segments->simulation.peak_bytes);
    }
  }
}

TEST(ScheduleTest, EveryNKeepsMultiplesAndTheLastSegment) {
  EXPECT_THAT(EveryNCheckpoints(8, 4), ElementsAre(4));
  EXPECT_THAT(EveryNCheckpoints(9, 4), ElementsAre(4, 8));
  EXPECT_THAT(EveryNCheckpoints(3, 1), ElementsAre(1, 2));
  EXPECT_TRUE(EveryNCheckpoints(3, 4).empty());

  Chain chain;
  chain.sizes = {10, 1, 1, 1, 1, 1, 1, 1, 1, 1};  // L = 9
  absl::StatusOr<Plan> plan = PlanSegments(chain, EveryNCheckpoints(9, 4));
  ASSERT_TRUE(plan.ok()) << plan.status();
  // Kept: a_4, and the last segment a_8 (a_9 is the output).
  EXPECT_EQ(plan->simulation.checkpoints, 2);
  // Segments [4, 8) and [0, 4) recompute 3 layers each.
  EXPECT_EQ(plan->simulation.recomputed, 6);
  // Peak: a_0 + a_4 + a_8 + a_9 held, a_5..a_7 recomputed = 10 + 6.
  EXPECT_EQ(plan->simulation.peak_bytes, 16);
}

TEST(ScheduleTest, OneEveryLayerIsKeepAll) {
  Chain chain;
  chain.sizes = {3, 2, 5, 1, 4};
  for (const std::vector<int>& checkpoints :
       {EveryNCheckpoints(4, 1), EveryNCheckpoints(4, 5), std::vector<int>{}}) {
    absl::StatusOr<Plan> plan = PlanSegments(chain, checkpoints);
    ASSERT_TRUE(plan.ok());
    EXPECT_EQ(plan->simulation.recomputed, 0);
    EXPECT_EQ(plan->simulation.peak_bytes, Total(chain));
  }
  absl::StatusOr<Plan> plan = PlanBudget(chain, Total(chain));
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->simulation.recomputed, 0);
}

TEST(ScheduleTest, SqrtSpacesCheckpointsAndPrefersExpensiveLayersOutputs) {
  // Dense, ReLU, Dense, ReLU, ... as the 32-layer benchmark: 65 layers, with
  // a larger input and a small output.
  Chain chain;
  chain.sizes.assign(66, 512);
  chain.sizes.front() = 784;
  chain.sizes.back() = 10;
  for (int t = 0; t < 65; ++t) chain.weights.push_back(t % 2 == 0 ? 262656 : 512);
  // Every 8 layers, on Dense outputs (odd activations), instead of every 9,
  // and a last segment of 8 kept by the forward pass: the same peak, and 21
  // Dense layers recomputed instead of 28.
  EXPECT_THAT(SqrtCheckpoints(chain), ElementsAre(1, 9, 17, 25, 33, 41, 49, 57));
  absl::StatusOr<Plan> grid = PlanSegments(chain, EveryNCheckpoints(65, 9));
  absl::StatusOr<Plan> sqrt = PlanSegments(chain, SqrtCheckpoints(chain));
  ASSERT_TRUE(grid.ok() && sqrt.ok());
  EXPECT_EQ(sqrt->simulation.peak_bytes, grid->simulation.peak_bytes);
  EXPECT_EQ(grid->simulation.recomputed_weight, 28 * 262656 + 28 * 512);
  EXPECT_EQ(sqrt->simulation.recomputed_weight, 21 * 262656 + 28 * 512);

  // Layers of one kind: evenly spaced about sqrt(L) apart, never holding
  // more nor recomputing more than the plain grid.
  for (int layers = 1; layers <= 40; ++layers) {
    Chain uniform;
    uniform.sizes.assign(layers + 1, 1);
    const std::vector<int> checkpoints = SqrtCheckpoints(uniform);
    for (size_t k = 1; k < checkpoints.size(); ++k) {
      const int spacing = checkpoints[k] - checkpoints[k - 1];
      EXPECT_NEAR(spacing, std::sqrt(layers), 2.0) << layers;
    }
    absl::StatusOr<Plan> plain = PlanSegments(
        uniform, EveryNCheckpoints(layers, static_cast<int>(std::ceil(std::sqrt(layers)))));
    absl::StatusOr<Plan> chosen = PlanSegments(uniform, checkpoints);
    ASSERT_TRUE(plain.ok() && chosen.ok());
    EXPECT_LE(chosen->simulation.peak_bytes, plain->simulation.peak_bytes) << layers;
    EXPECT_LE(chosen->simulation.recomputed, plain->simulation.recomputed) << layers;
  }
}

TEST(ScheduleTest, FrozenLayersBelowNeedNoCheckpoints) {
  Chain chain;
  chain.sizes.assign(10, 1);
  chain.lowest = 5;
  absl::StatusOr<Plan> plan = PlanSegments(chain, {2, 4, 6});
  ASSERT_TRUE(plan.ok()) << plan.status();
  // a_2 is of no use: the backward pass stops at layer 5, above a_4.
  EXPECT_EQ(plan->simulation.checkpoints, 1 + 3);  // a_4, and a_6 .. a_8
}

TEST(ScheduleTest, SimulatorRefusesWhatTheContractForbids) {
  Chain chain;
  chain.sizes = {1, 1, 1};
  const auto check = [&](std::vector<Op> program, const std::string& why) {
    absl::Status status = Simulate(chain, program, /*training=*/true).status();
    EXPECT_THAT(std::string(status.message()), HasSubstr(why));
  };
  using O = Op;
  check({{O::kCompute, 2}}, "input is not live");
  check({{O::kCompute, 1}, {O::kCompute, 2}, {O::kFree, 2}}, "a_0 and a_L");
  check({{O::kCompute, 1}, {O::kCompute, 2}, {O::kForwardEnd, -1}, {O::kBackward, 0}},
        "layer 1 comes first");
  check({{O::kCompute, 1}, {O::kCompute, 2}, {O::kFree, 1}, {O::kForwardEnd, -1},
         {O::kBackward, 1}, {O::kBackward, 0}},
        "not live");
  // After layer 1's backward the network holds a_1 until it has a_0 too.
  check({{O::kCompute, 1}, {O::kCompute, 2}, {O::kForwardEnd, -1}, {O::kBackward, 1},
         {O::kFree, 1}},
        "still holds it");
  check({{O::kCompute, 1}, {O::kCompute, 2}, {O::kForwardEnd, -1}, {O::kBackward, 1}},
        "stops before the backward of layer 0");
}

TEST(ScheduleTest, BudgetBelowTheLeastSaysTheLeast) {
  Chain chain;
  chain.sizes = {4, 2, 2, 2, 1};
  const int64_t least = MinimumBudget(chain);
  absl::StatusOr<Plan> plan = PlanBudget(chain, least - 1);
  ASSERT_FALSE(plan.ok());
  EXPECT_THAT(std::string(plan.status().message()),
              HasSubstr("smallest workable budget is " + std::to_string(least)));
}

// The 32 x (Dense 512 + ReLU) + Dense 10 benchmark network at batch 4096:
// planned in well under a second, within budget, recomputing less than
// sqrt does at the same memory.
TEST(ScheduleTest, PlansTheDeepBenchmarkNetworkQuickly) {
  Chain chain;
  const int64_t row = 4096 * 4;
  chain.sizes.push_back(784 * row);
  for (int i = 0; i < 32; ++i) {
    chain.sizes.push_back(512 * row);
    chain.sizes.push_back(512 * row);
    chain.weights.push_back((i == 0 ? 784 : 512) * 512 + 1024);
    chain.weights.push_back(512);
  }
  chain.sizes.push_back(10 * row);
  chain.weights.push_back(512 * 10 + 20);
  const int64_t total = Total(chain);
  absl::StatusOr<Plan> quarter = PlanBudget(chain, total / 4);
  ASSERT_TRUE(quarter.ok()) << quarter.status();
  EXPECT_LE(quarter->simulation.peak_bytes, total / 4);
  absl::StatusOr<Plan> sqrt = PlanSegments(chain, SqrtCheckpoints(chain));
  ASSERT_TRUE(sqrt.ok());
  absl::StatusOr<Plan> same = PlanBudget(chain, sqrt->simulation.peak_bytes);
  ASSERT_TRUE(same.ok());
  EXPECT_LE(same->simulation.recomputed, sqrt->simulation.recomputed);
  const int64_t least = MinimumBudget(chain);
  absl::StatusOr<Plan> tight = PlanBudget(chain, least);
  ASSERT_TRUE(tight.ok()) << tight.status();
  EXPECT_LE(tight->simulation.peak_bytes, least);
}

// Mixed widths reach many more states; the search then counts in coarser
// units: still within budget, in bounded time (about 2 s at most here).
TEST(ScheduleTest, PlansADeepChainOfMixedWidthsWithinBudget) {
  std::mt19937 rng(65);
  Chain chain;
  for (int t = 0; t <= 65; ++t) chain.sizes.push_back(1000 + rng() % 100000);
  for (int t = 0; t < 65; ++t) chain.weights.push_back(1 + rng() % 1000);
  const int64_t total = Total(chain);
  for (int64_t budget : {MinimumBudget(chain), total / 4, total / 2}) {
    absl::StatusOr<Plan> plan = PlanBudget(chain, budget);
    ASSERT_TRUE(plan.ok()) << plan.status();
    EXPECT_LE(plan->simulation.peak_bytes, budget);
  }
}

// A budget near 2^63 (written to mean "unlimited") plans without overflow,
// keeping everything; a chain beyond kMaxBudgetLayers is refused, not
// planned in O(L^3) (or, at 65535 layers, in a table whose size wrapped).
TEST(ScheduleTest, BudgetsAndLayerCountsAtTheirLimits) {
  Chain chain;
  chain.sizes = {3, 2, 5, 1, 4};
  absl::StatusOr<Plan> unlimited = PlanBudget(chain, std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(unlimited.ok()) << unlimited.status();
  EXPECT_EQ(unlimited->simulation.recomputed, 0);

  Chain deep;
  deep.sizes.assign(kMaxBudgetLayers + 2, 1);  // kMaxBudgetLayers + 1 layers
  absl::StatusOr<Plan> refused = PlanBudget(deep, 1 << 20);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(),
            absl::StrCat("memory-budget checkpointing plans at most ", kMaxBudgetLayers,
                         " layers, not ", kMaxBudgetLayers + 1));
}

}  // namespace
}  // namespace mnemo::caching::checkpoint
