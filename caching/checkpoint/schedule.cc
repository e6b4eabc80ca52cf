#include "caching/checkpoint/schedule.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace mnemo::caching::checkpoint {
namespace {

// Writes the program of F(0) as EmitProgram describes; the first chooser
// answer out of range stops it with an error.
class Emitter {
 public:
  Emitter(const Chain& chain, const std::vector<int64_t>& unit_sizes,
          const Choosers& choosers)
      : chain_(chain), units_(unit_sizes), choosers_(choosers), last_(chain.num_layers()) {}

  absl::StatusOr<std::vector<Op>> Run(int64_t m) {
    Forward(0, m);
    if (!status_.ok()) return status_;
    return std::move(ops_);
  }

 private:
  // a_(i+1) .. a_k from a_i; a_i and a_k stay, what lies between is freed
  // as soon as the next one exists.
  void RunForward(int i, int k) {
    for (int t = i + 1; t <= k; ++t) {
      ops_.push_back({Op::kCompute, t});
      if (t - 1 > i) ops_.push_back({Op::kFree, t - 1});
    }
  }

  void Forward(int i, int64_t m) {
    if (!status_.ok()) return;
    if (i == last_) {
      ops_.push_back({Op::kForwardEnd, -1});
      return;
    }
    const int k = choosers_.forward(i, m);
    if (k <= i || k > last_) {
      status_ = absl::InternalError(
          absl::StrCat("checkpoint planner chose ", k, " after activation ", i,
                       " in the forward pass (must be in (", i, ", ", last_, "])"));
      return;
    }
    RunForward(i, k);
    Forward(k, m - units_[i]);
    // Once F(k) is over, a_L is still held (unless k is L: then B holds it).
    Backward(i, k, k == last_ ? m : m - units_[last_]);
  }

  void Backward(int i, int j, int64_t m) {
    if (!status_.ok() || j <= chain_.lowest) return;  // no gradient needed down here
    if (j == i + 1) {
      ops_.push_back({Op::kBackward, i});
      // The output is kept until the pass ends (Forward returned it).
      if (j != last_) ops_.push_back({Op::kFree, j});
      return;
    }
    const int k = choosers_.backward(i, j, m);
    if (k <= i || k >= j) {
      status_ = absl::InternalError(absl::StrCat("checkpoint planner chose ", k,
                                                 " to split activations (", i, ", ", j,
                                                 ") (must lie strictly between)"));
      return;
    }
    RunForward(i, k);
    Backward(k, j, m - units_[i]);
    // a_j is freed by B(k, j), except the output, which stays.
    Backward(i, k, j == last_ ? m - units_[last_] : m);
  }

  const Chain& chain_;
  const std::vector<int64_t>& units_;
  const Choosers& choosers_;
  const int last_;
  std::vector<Op> ops_;
  absl::Status status_;
};

}  // namespace

std::string DescribeOp(const Op& op) {
  switch (op.kind) {
    case Op::kCompute:
      return absl::StrCat("compute a", op.index);
    case Op::kFree:
      return absl::StrCat("free a", op.index);
    case Op::kForwardEnd:
      return "forward end";
    case Op::kBackward:
      return absl::StrCat("backward of layer ", op.index);
  }
  return "unknown op";
}

absl::StatusOr<Simulation> Simulate(const Chain& chain, const std::vector<Op>& program,
                                    bool training) {
  const int last = chain.num_layers();
  if (last < 1) return absl::InvalidArgumentError("a chain needs at least one layer");
  std::vector<bool> live(last + 1, false), computed(last + 1, false);
  live[0] = computed[0] = true;
  Simulation result;
  int64_t held = chain.sizes[0];
  result.peak_bytes = held;
  bool forward_over = false;
  int next = last - 1;  // the next layer whose backward runs
  for (size_t n = 0; n < program.size(); ++n) {
    const Op& op = program[n];
    const auto fail = [&](const std::string& why) {
      return absl::InternalError(
          absl::StrCat("invalid checkpoint program at op ", n, " (", DescribeOp(op), "): ", why));
    };
    switch (op.kind) {
      case Op::kCompute: {
        const int t = op.index;
        if (t < 1 || t > last) return fail("no such activation");
        if (!live[t - 1]) return fail("its input is not live");
        if (live[t]) return fail("already live");
        if (computed[t]) {
          ++result.recomputed;
          result.recomputed_weight += chain.weight(t - 1);
        }
        live[t] = computed[t] = true;
        held += chain.sizes[t];
        result.peak_bytes = std::max(result.peak_bytes, held);
        break;
      }
      case Op::kFree: {
        const int t = op.index;
        if (t < 1 || t >= last) return fail("a_0 and a_L are held for the whole pass");
        if (!live[t]) return fail("not live");
        // The network was just given a_(next+1) and will ask for it again
        // with a_next: it must not move.
        if (forward_over && t == next + 1) return fail("the network still holds it");
        live[t] = false;
        held -= chain.sizes[t];
        break;
      }
      case Op::kForwardEnd:
        if (forward_over) return fail("the forward pass ended twice");
        if (!live[last]) return fail("the output is not live");
        forward_over = true;
        for (int t = 1; t < last; ++t) result.checkpoints += live[t] ? 1 : 0;
        break;
      case Op::kBackward:
        if (!training) return fail("evaluation runs no backward");
        if (!forward_over) return fail("before the forward pass ended");
        if (op.index != next) return fail(absl::StrCat("layer ", next, " comes first"));
        if (next < chain.lowest) return fail("below the lowest trainable layer");
        if (!live[next] || !live[next + 1]) return fail("its input or output is not live");
        --next;
        break;
    }
  }
  if (!forward_over) return absl::InternalError("checkpoint program never ends its forward pass");
  if (training && next != chain.lowest - 1) {
    return absl::InternalError(
        absl::StrCat("checkpoint program stops before the backward of layer ", next));
  }
  return result;
}

absl::StatusOr<std::vector<Op>> EmitProgram(const Chain& chain,
                                            const std::vector<int64_t>& unit_sizes,
                                            int64_t m, const Choosers& choosers) {
  return Emitter(chain, unit_sizes, choosers).Run(m);
}

absl::StatusOr<Plan> MakePlan(const Chain& chain, std::vector<Op> program, bool training) {
  MNEMO_ASSIGN_OR_RETURN(Simulation simulation, Simulate(chain, program, training));
  return Plan{std::move(program), simulation};
}

Plan EvaluationPlan(const Chain& chain) {
  std::vector<Op> program;
  for (int t = 1; t <= chain.num_layers(); ++t) {
    program.push_back({Op::kCompute, t});
    if (t >= 2) program.push_back({Op::kFree, t - 1});
  }
  program.push_back({Op::kForwardEnd, -1});
  // Valid by construction; simulated only to measure it.
  absl::StatusOr<Simulation> simulation = Simulate(chain, program, /*training=*/false);
  return Plan{std::move(program), simulation.ok() ? *simulation : Simulation{}};
}

}  // namespace mnemo::caching::checkpoint
