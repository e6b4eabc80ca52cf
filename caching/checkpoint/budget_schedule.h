#ifndef MNEMO_CACHING_CHECKPOINT_BUDGET_SCHEDULE_H_
#define MNEMO_CACHING_CHECKPOINT_BUDGET_SCHEDULE_H_

// Multi-level checkpointing within a memory budget: the schedule that
// recomputes the fewest layer forwards while the activations held never
// exceed the budget. Binomial checkpointing (Griewank & Walther's revolve)
// generalised to activations of different sizes, solved as the dynamic
// program of Beaumont et al. 2019 ("Optimal checkpointing for heterogeneous
// chains") over (segment, memory left), in the F/B structure of schedule.h:
//
//   B(i, j, m) = 0                                  if j <= lowest
//              = 0 if s_i + s_j <= m, else infinite if j == i + 1
//              = min over i < k < j of  (k - i) + B(k, j, m - s_i) + B(i, k, m')
//                where the recomputation i -> k fits: s_i + s_j + its pairs <= m
//   F(i, m)    = min over i < k <= L of  F(k, m - s_i) + B(i, k, m')
//                (the first forward pass is free)
//
// with m' = m less s_L when a_L is held outside the subproblem. Ties go to
// the schedule whose recomputed layers weigh least (Chain::weights).
//
// The recursion keeps each checkpoint until its segment is done (persistent
// schedules). With activations of one size between input and output that is
// optimal among all schedules, as for revolve: the tests compare it with a
// brute-force search over every schedule the contract allows. With mixed
// sizes, dropping a small checkpoint early and recomputing it later can save
// one more recomputation now and then (4 of 1343 random cases in the tests).

#include <cstdint>

#include "absl/status/statusor.h"
#include "caching/checkpoint/schedule.h"

namespace mnemo::caching::checkpoint {

// The least memory, in bytes with a_0 and a_L included, that a training pass
// over `chain` needs: the same recursion with max for +, exact (and equal to
// the least of any schedule at all in every chain the tests compare with a
// brute-force search).
int64_t MinimumBudget(const Chain& chain);

// The most layers a memory budget is planned for: the plan costs O(L^3).
inline constexpr int kMaxBudgetLayers = 1024;

// The optimal schedule within `budget` bytes. Memory is counted in units of
// the greatest common divisor of the sizes when the budget is at most 32768
// of them and the search reaches at most 524288 states (exact: the
// usual case for layers of one width), else in coarser units with sizes
// rounded up and the budget down (never over the budget, possibly not quite
// optimal). A budget below MinimumBudget is an error.
absl::StatusOr<Plan> PlanBudget(const Chain& chain, int64_t budget);

}  // namespace mnemo::caching::checkpoint

#endif  // MNEMO_CACHING_CHECKPOINT_BUDGET_SCHEDULE_H_
