#ifndef MNEMO_CACHING_CHECKPOINT_CHECKPOINT_STRATEGY_H_
#define MNEMO_CACHING_CHECKPOINT_CHECKPOINT_STRATEGY_H_

#include <cstdint>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "caching/checkpoint/buffer_pool.h"
#include "caching/checkpoint/schedule.h"
#include "core/cache_strategy.h"
#include "core/layer.h"
#include "core/tensor.h"

namespace mnemo::caching::checkpoint {

// Which schedule to run (the plugin's options, as C++).
struct ScheduleChoice {
  enum class Mode { kEveryN, kSqrt, kMemoryBudget };
  Mode mode = Mode::kSqrt;
  int every_n = 0;                   // kEveryN: >= 1, in network layers
  int64_t memory_budget_bytes = 0;   // kMemoryBudget: > 0, a_0 and a_L included
};

// The "checkpoint" cache strategy: runs a plan of schedule.h (every_n, sqrt
// or the memory-budget optimum) as the network asks for activations.
//
// Plans are made per (batch rows, lowest trainable layer) the first time a
// batch of that shape comes, and kept. The forward pass runs the plan up to
// its end; each time the network asks for a layer's output and input, the
// plan runs up to that layer's backward, recomputing from checkpoints what it
// did not keep. Calls out of the order of core/cache_strategy.h are errors.
//
// Memory, counted as KeepAllStrategy counts it: the activations held (a_0,
// the caller's input, included though it is not copied). Freed activations
// go back to a pool of buffers keyed by element count, so a steady-state step
// allocates nothing; the pool is emptied when the batch shape changes, and
// under a budget it is trimmed so that the pool and the live activations
// together never exceed the budget either.
//
// A recomputed forward pass must reproduce the first bit for bit, which holds
// for layers that are pure functions of (input, parameters, context) (see
// ForwardContext): the context of Forward is kept for the recomputations.
class CheckpointStrategy : public CacheStrategy {
 public:
  // Checks the choice (every_n >= 1, budget > 0). `batch_size` > 0 (the
  // config's) lets Attach check a budget before the first batch.
  static absl::StatusOr<std::unique_ptr<CheckpointStrategy>> Create(ScheduleChoice choice,
                                                                    int batch_size);

  absl::Status Attach(const std::vector<Layer*>& layers) override;
  absl::StatusOr<const Tensor*> Forward(const Tensor& input,
                                        const ForwardContext& context) override;
  absl::StatusOr<const Tensor*> Activation(int i) override;
  void EndPass() override;
  CacheStats stats() const override;

  // The plan a training step on `rows`-row batches runs (made if needed).
  absl::StatusOr<const Plan*> TrainingPlan(int rows);

 private:
  enum class State { kIdle, kTraining, kEvaluation };

  CheckpointStrategy(ScheduleChoice choice, int batch_size)
      : choice_(choice), batch_size_(batch_size) {}

  int lowest_trainable() const;
  Chain MakeChain(int rows, int lowest) const;
  absl::StatusOr<const Plan*> PlanFor(int rows, int lowest);
  absl::StatusOr<const Plan*> EvaluationPlanFor(int rows);

  // Runs the program from pc_ up to and including `stop` (kForwardEnd or
  // kBackward of a layer).
  absl::Status RunUntil(Op stop);
  absl::Status Compute(int t);
  void Free(int t);
  const Tensor* Live(int t) const;

  void ReleasePass();
  void UpdateHeld(int64_t delta);

  const ScheduleChoice choice_;
  const int batch_size_;

  std::map<std::pair<int, int>, Plan> plans_;  // (rows, lowest) -> training plan
  std::map<int, Plan> evaluation_plans_;      // rows -> evaluation plan

  // The pass under way.
  State state_ = State::kIdle;
  const Tensor* input_ = nullptr;  // a_0, the caller's
  ForwardContext context_;
  const Plan* plan_ = nullptr;
  size_t pc_ = 0;
  int calls_ = 0;  // Activation calls so far
  int lowest_ = 0;
  int rows_ = 0;
  bool forward_over_ = false;
  std::vector<std::unique_ptr<Tensor>> live_;  // a_t for t >= 1; null when not held

  BufferPool pool_;
  int pool_rows_ = -1;  // the batch rows the spare buffers were made for

  // Accounting.
  int64_t held_bytes_ = 0;  // activations held now, a_0 included
  int64_t pass_peak_ = 0;   // the most held at once in the latest pass
  int64_t peak_allocated_ = 0;  // a_0 + our buffers, the most at once
  int checkpoints_ = 0;
  CacheStats stats_;
};

}  // namespace mnemo::caching::checkpoint

#endif  // MNEMO_CACHING_CHECKPOINT_CHECKPOINT_STRATEGY_H_
