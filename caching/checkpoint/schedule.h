#ifndef MNEMO_CACHING_CHECKPOINT_SCHEDULE_H_
#define MNEMO_CACHING_CHECKPOINT_SCHEDULE_H_

// The model every checkpointing schedule is written in: a chain of
// activations, a program of operations on them, and a simulator that checks a
// program against the CacheStrategy contract and measures it. Pure planning:
// no tensors, no layers, so that every schedule can be unit-tested and
// compared with a brute-force search.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace mnemo::caching::checkpoint {

// A network as the planner sees it. Activation t is the input of layer t:
// a_0 is the batch (the caller's, always held during a pass), a_L the output
// (held from the forward pass until the pass ends, since Forward returned it).
struct Chain {
  std::vector<int64_t> sizes;  // s_0..s_L: bytes of each activation
  // w_0..w_{L-1}: the relative cost of each layer's forward pass, used only
  // to choose between schedules that recompute the same number of layers.
  // Empty means all equal.
  std::vector<int64_t> weights;
  // The lowest layer whose backward runs (the lowest trainable one): the
  // network asks for no activation below it.
  int lowest = 0;

  int num_layers() const { return static_cast<int>(sizes.size()) - 1; }
  int64_t weight(int layer) const { return weights.empty() ? 1 : weights[layer]; }
};

// One operation of a pass. The executor runs them in order: the forward pass
// up to kForwardEnd when Forward is called, then, when the network asks for
// the activations of layer t, everything up to kBackward(t).
struct Op {
  enum Kind : uint8_t {
    kCompute,     // a_index = layer index-1 applied to a_(index-1), into a new buffer
    kFree,        // a_index is no longer needed
    kForwardEnd,  // the forward pass is over; a_L is live
    kBackward,    // layer `index` runs its backward: a_index and a_(index+1) live
  };
  Kind kind;
  int index;

  bool operator==(const Op& other) const {
    return kind == other.kind && index == other.index;
  }
};

std::string DescribeOp(const Op& op);

// What a program does, measured by Simulate.
struct Simulation {
  int64_t peak_bytes = 0;  // the most held at once, a_0 included
  int64_t recomputed = 0;  // computations of an activation computed before
  int64_t recomputed_weight = 0;  // the same, weighted by Chain::weights
  // Activations live when the forward pass ends, a_0 and a_L not counted.
  int checkpoints = 0;
};

// Checks that `program` is a valid pass over `chain` (training: a forward
// pass then the backward of layers L-1 down to chain.lowest, in order;
// evaluation: a forward pass only) and measures it. Validity is what the
// executor relies on: every operation finds its inputs live, a_0 and a_L are
// never freed, and an activation the network was just given stays live until
// the network has been given the next two (core/cache_strategy.h).
absl::StatusOr<Simulation> Simulate(const Chain& chain, const std::vector<Op>& program,
                                    bool training);

// A program with what it costs.
struct Plan {
  std::vector<Op> program;
  Simulation simulation;
};

// Builds programs from the recursive structure all of our schedules share
// (and that optimal ones can be given, Griewank & Walther 2000; Beaumont et
// al. 2019):
//
//   F(i): a_i is live and the forward pass is at it. Run forward to a_k
//         (i < k <= L), freeing what lies between; F(k); then B(i, k).
//   B(i, j): a_i and a_j are live and layers above j are done. Recompute
//         forward from a_i to a_k (i < k < j), freeing what lies between;
//         B(k, j); then B(i, k). With j == i + 1: the backward of layer i,
//         then a_j is freed.
//
// a_i stays live through everything that follows it in F(i) and B(i, j).
// The choosers pick k, given the memory `m` left for the subproblem in the
// caller's units: `unit_sizes` (the chain's sizes in those units) is what m
// is reduced by as activations are held. Choosers that ignore memory may
// pass the chain's sizes and any m.
struct Choosers {
  std::function<int(int i, int64_t m)> forward;          // k in (i, L]
  std::function<int(int i, int j, int64_t m)> backward;  // k in (i, j)
};
absl::StatusOr<std::vector<Op>> EmitProgram(const Chain& chain,
                                            const std::vector<int64_t>& unit_sizes,
                                            int64_t m, const Choosers& choosers);

// Simulates `program` and bundles the two; an invalid program is an internal
// error (a planner's bug), never the user's.
absl::StatusOr<Plan> MakePlan(const Chain& chain, std::vector<Op> program, bool training);

// Evaluation: each activation freed as soon as the next is computed.
Plan EvaluationPlan(const Chain& chain);

}  // namespace mnemo::caching::checkpoint

#endif  // MNEMO_CACHING_CHECKPOINT_SCHEDULE_H_
