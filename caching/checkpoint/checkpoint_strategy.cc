#include "caching/checkpoint/checkpoint_strategy.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "caching/checkpoint/budget_schedule.h"
#include "caching/checkpoint/segment_schedule.h"
#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/status_macros.h"

namespace mnemo::caching::checkpoint {
namespace {

std::string MiB(int64_t bytes) {
  return absl::StrFormat("%.1f MiB", static_cast<double>(bytes) / (1 << 20));
}

// A layer's forward cost relative to the others, for the planners' ties: its
// parameters (a Dense's multiply-adds per row) plus its outputs (one
// operation each per row, what an element-wise layer costs).
int64_t ForwardWeight(Layer& layer) {
  int64_t weight = layer.output_size();
  for (const Parameter& p : layer.parameters()) weight += p.value->size();
  return weight;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CheckpointStrategy>> CheckpointStrategy::Create(
    ScheduleChoice choice, int batch_size) {
  switch (choice.mode) {
    case ScheduleChoice::Mode::kEveryN:
      if (choice.every_n < 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            "every_n must be at least 1 (got ", choice.every_n,
            "); the smallest workable value is 1, which keeps every activation"));
      }
      break;
    case ScheduleChoice::Mode::kMemoryBudget:
      if (choice.memory_budget_bytes <= 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("memory_budget_bytes must be > 0 (got ", choice.memory_budget_bytes,
                         "); the smallest workable budget depends on the network and the "
                         "batch: at least the input and two activations"));
      }
      break;
    case ScheduleChoice::Mode::kSqrt:
      break;
  }
  return std::unique_ptr<CheckpointStrategy>(
      new CheckpointStrategy(choice, std::max(batch_size, 0)));
}

absl::Status CheckpointStrategy::Attach(const std::vector<Layer*>& layers) {
  ReleasePass();
  MNEMO_RETURN_IF_ERROR(CacheStrategy::Attach(layers));
  if (layers.empty()) return absl::InvalidArgumentError("checkpoint: the network has no layer");
  plans_.clear();
  evaluation_plans_.clear();
  pool_.DropSpare();
  pool_rows_ = -1;
  live_.clear();
  live_.resize(layers.size() + 1);
  // A budget the configured batch cannot meet is a config error, reported
  // now rather than at the first step.
  if (batch_size_ > 0 && choice_.mode == ScheduleChoice::Mode::kMemoryBudget) {
    if (absl::StatusOr<const Plan*> plan = TrainingPlan(batch_size_); !plan.ok()) {
      return plan.status();
    }
  }
  return absl::OkStatus();
}

int CheckpointStrategy::lowest_trainable() const {
  const std::vector<Layer*>& all = layers();
  int lowest = 0;
  while (lowest < static_cast<int>(all.size()) && !all[lowest]->trainable()) ++lowest;
  return lowest;
}

Chain CheckpointStrategy::MakeChain(int rows, int lowest) const {
  const std::vector<Layer*>& all = layers();
  Chain chain;
  const int64_t row_bytes = static_cast<int64_t>(rows) * static_cast<int64_t>(sizeof(float));
  chain.sizes.push_back(row_bytes * all.front()->input_size());
  for (Layer* layer : all) {
    chain.sizes.push_back(row_bytes * layer->output_size());
    chain.weights.push_back(ForwardWeight(*layer));
  }
  chain.lowest = lowest;
  return chain;
}

absl::StatusOr<const Plan*> CheckpointStrategy::TrainingPlan(int rows) {
  return PlanFor(rows, lowest_trainable());
}

absl::StatusOr<const Plan*> CheckpointStrategy::PlanFor(int rows, int lowest) {
  if (auto it = plans_.find({rows, lowest}); it != plans_.end()) return &it->second;
  const Chain chain = MakeChain(rows, lowest);
  absl::StatusOr<Plan> plan;
  switch (choice_.mode) {
    case ScheduleChoice::Mode::kEveryN:
      plan = PlanSegments(chain, EveryNCheckpoints(chain.num_layers(), choice_.every_n));
      break;
    case ScheduleChoice::Mode::kSqrt:
      plan = PlanSegments(chain, SqrtCheckpoints(chain));
      break;
    case ScheduleChoice::Mode::kMemoryBudget: {
      if (chain.num_layers() > kMaxBudgetLayers) {
        return absl::InvalidArgumentError(absl::StrCat(
            "memory_budget_bytes: a budget is planned for at most ", kMaxBudgetLayers,
            " layers; this network has ", chain.num_layers(), " (use every_n or sqrt)"));
      }
      const int64_t least = MinimumBudget(chain);
      if (choice_.memory_budget_bytes < least) {
        int64_t keep_all = 0;
        for (int64_t s : chain.sizes) keep_all += s;
        return absl::InvalidArgumentError(absl::StrCat(
            "memory_budget_bytes ", choice_.memory_budget_bytes, " (",
            MiB(choice_.memory_budget_bytes), ") is below what a training step at batch ",
            rows, " needs: the smallest workable budget is ", least, " bytes (", MiB(least),
            "); keeping every activation takes ", keep_all, " bytes (", MiB(keep_all), ")"));
      }
      plan = PlanBudget(chain, choice_.memory_budget_bytes);
      break;
    }
  }
  if (!plan.ok()) return plan.status();
  return &plans_.emplace(std::make_pair(rows, lowest), *std::move(plan)).first->second;
}

absl::StatusOr<const Plan*> CheckpointStrategy::EvaluationPlanFor(int rows) {
  if (auto it = evaluation_plans_.find(rows); it != evaluation_plans_.end()) {
    return &it->second;
  }
  Plan plan = EvaluationPlan(MakeChain(rows, /*lowest=*/0));
  if (choice_.mode == ScheduleChoice::Mode::kMemoryBudget &&
      plan.simulation.peak_bytes > choice_.memory_budget_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "memory_budget_bytes ", choice_.memory_budget_bytes, " is below what evaluating a batch of ",
        rows, " needs: the smallest workable budget is ", plan.simulation.peak_bytes,
        " bytes (", MiB(plan.simulation.peak_bytes), ")"));
  }
  return &evaluation_plans_.emplace(rows, std::move(plan)).first->second;
}

absl::StatusOr<const Tensor*> CheckpointStrategy::Forward(const Tensor& input,
                                                          const ForwardContext& context) {
  ReleasePass();
  const std::vector<Layer*>& all = layers();
  if (all.empty()) return absl::FailedPreconditionError("checkpoint: not attached to a network");
  if (input.cols() != all.front()->input_size()) {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint: the network takes ",
                                                   all.front()->input_size(),
                                                   " features per sample, got ", input.cols()));
  }
  const int rows = static_cast<int>(input.rows());
  const int lowest = lowest_trainable();
  MNEMO_ASSIGN_OR_RETURN(const Plan* plan,
                         context.training ? PlanFor(rows, lowest) : EvaluationPlanFor(rows));
  if (rows != pool_rows_) {
    // Buffers of another batch shape would only sit there.
    pool_.DropSpare();
    pool_rows_ = rows;
  }

  state_ = context.training ? State::kTraining : State::kEvaluation;
  input_ = &input;
  context_ = context;
  plan_ = plan;
  pc_ = 0;
  calls_ = 0;
  lowest_ = lowest;
  rows_ = rows;
  forward_over_ = false;
  pass_peak_ = 0;
  if (context.training) {
    stats_.recomputed_forwards = 0;
    checkpoints_ = plan_->simulation.checkpoints;
  }
  UpdateHeld(static_cast<int64_t>(TensorBytes(input)));

  if (absl::Status s = RunUntil({Op::kForwardEnd, -1}); !s.ok()) {
    ReleasePass();
    return s;
  }
  return Live(static_cast<int>(all.size()));
}

absl::StatusOr<const Tensor*> CheckpointStrategy::Activation(int i) {
  const int last = static_cast<int>(layers().size());
  if (state_ == State::kIdle) {
    return absl::FailedPreconditionError(
        "checkpoint: Activation() called outside a pass (no Forward since the last EndPass)");
  }
  if (state_ == State::kEvaluation) {
    return absl::FailedPreconditionError(
        "checkpoint: the last Forward ran with context.training false (evaluation), for "
        "which nothing is kept; run Forward with context.training true before a backward "
        "pass");
  }
  if (i < 0 || i > last) {
    return absl::OutOfRangeError(absl::StrCat("checkpoint: activation ", i,
                                              " does not exist (the network has ", last,
                                              " layers)"));
  }
  // The order of core/cache_strategy.h: L; then for each layer t from the
  // top down, t + 1 and t.
  int expected = last;
  int layer = last;  // the layer whose backward comes next, once known
  const bool first_of_pair = calls_ > 0 && (calls_ - 1) % 2 == 0;
  if (calls_ > 0) {
    layer = last - 1 - (calls_ - 1) / 2;
    expected = first_of_pair ? layer + 1 : layer;
  }
  if (layer < lowest_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "checkpoint: Activation(", i, ") asked for after the backward of layer ", lowest_,
        ", the lowest trainable one when Forward ran; nothing below it was planned for"));
  }
  if (i != expected) {
    return absl::FailedPreconditionError(absl::StrCat(
        "checkpoint: activations must be asked for in the order of core/cache_strategy.h "
        "(L, then t + 1 and t for each layer t from the top down): expected Activation(",
        expected, ") next, got Activation(", i, ")"));
  }
  if (first_of_pair) {
    // Everything up to this layer's backward: freeing what the layers above
    // no longer need, recomputing its input if it was not kept.
    if (absl::Status s = RunUntil({Op::kBackward, layer}); !s.ok()) return s;
  }
  ++calls_;
  const Tensor* result = Live(i);
  if (result == nullptr) {
    return absl::InternalError(absl::StrCat("checkpoint: activation ", i,
                                            " should be held by the plan but is not"));
  }
  return result;
}

void CheckpointStrategy::EndPass() { ReleasePass(); }

void CheckpointStrategy::ReleasePass() {
  for (std::unique_ptr<Tensor>& buffer : live_) {
    if (buffer != nullptr) pool_.Recycle(std::move(buffer));
  }
  state_ = State::kIdle;
  input_ = nullptr;
  plan_ = nullptr;
  held_bytes_ = 0;
  UpdateHeld(0);
}

absl::Status CheckpointStrategy::RunUntil(Op stop) {
  const std::vector<Op>& program = plan_->program;
  while (pc_ < program.size()) {
    const Op op = program[pc_++];
    switch (op.kind) {
      case Op::kCompute:
        MNEMO_RETURN_IF_ERROR(Compute(op.index));
        break;
      case Op::kFree:
        Free(op.index);
        break;
      case Op::kForwardEnd:
        forward_over_ = true;
        [[fallthrough]];
      case Op::kBackward:
        if (op == stop) return absl::OkStatus();
        return absl::InternalError(absl::StrCat("checkpoint: the plan reached ",
                                                DescribeOp(op), " while running to ",
                                                DescribeOp(stop)));
    }
  }
  return absl::InternalError(
      absl::StrCat("checkpoint: the plan ended before ", DescribeOp(stop)));
}

absl::Status CheckpointStrategy::Compute(int t) {
  const Tensor* in = Live(t - 1);
  if (in == nullptr || live_[t] != nullptr) {
    return absl::InternalError(absl::StrCat("checkpoint: cannot compute activation ", t));
  }
  Layer& layer = *layers()[t - 1];
  const Eigen::Index elements = static_cast<Eigen::Index>(rows_) * layer.output_size();
  const int64_t bytes = static_cast<int64_t>(elements) * static_cast<int64_t>(sizeof(float));
  // Under a budget, spare buffers are dropped as needed for the input, our
  // buffers and this one to fit in it.
  const int64_t limit = choice_.mode == ScheduleChoice::Mode::kMemoryBudget
                            ? choice_.memory_budget_bytes -
                                  static_cast<int64_t>(TensorBytes(*input_))
                            : -1;
  std::unique_ptr<Tensor> out = pool_.Acquire(elements, limit);
  UpdateHeld(bytes);  // input and output are alive together while it runs
  layer.Forward(*in, context_, out.get());
  if (out->rows() != rows_ || out->cols() != layer.output_size()) {
    pool_.Discard(std::move(out), elements);
    UpdateHeld(-bytes);
    return absl::InternalError(absl::StrCat("checkpoint: layer ", t - 1, " (", layer.type(),
                                            ") did not produce a ", rows_, "x",
                                            layer.output_size(), " output"));
  }
  live_[t] = std::move(out);
  if (forward_over_) ++stats_.recomputed_forwards;
  return absl::OkStatus();
}

void CheckpointStrategy::Free(int t) {
  if (live_[t] == nullptr) return;
  UpdateHeld(-static_cast<int64_t>(TensorBytes(*live_[t])));
  pool_.Recycle(std::move(live_[t]));
}

const Tensor* CheckpointStrategy::Live(int t) const {
  if (t == 0) return input_;
  return live_[t].get();
}

void CheckpointStrategy::UpdateHeld(int64_t delta) {
  held_bytes_ += delta;
  pass_peak_ = std::max(pass_peak_, held_bytes_);
  const int64_t input_bytes = input_ == nullptr ? 0 : static_cast<int64_t>(TensorBytes(*input_));
  peak_allocated_ = std::max(peak_allocated_, input_bytes + pool_.owned_bytes());
  stats_.bytes_held = static_cast<size_t>(held_bytes_);
  stats_.peak_bytes_held = std::max(stats_.peak_bytes_held, static_cast<size_t>(held_bytes_));
}

CacheStats CheckpointStrategy::stats() const {
  CacheStats stats = stats_;
  stats.counters = {
      {"checkpoints", checkpoints_},
      {"pass_peak_bytes", static_cast<double>(pass_peak_)},
      {"allocated_bytes", static_cast<double>(pool_.owned_bytes())},
      {"peak_allocated_bytes", static_cast<double>(peak_allocated_)},
  };
  if (choice_.mode == ScheduleChoice::Mode::kMemoryBudget) {
    stats.counters.push_back({"budget_bytes", static_cast<double>(choice_.memory_budget_bytes)});
  }
  return stats;
}

}  // namespace mnemo::caching::checkpoint
