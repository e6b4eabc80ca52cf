#include "caching/checkpoint/segment_schedule.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace mnemo::caching::checkpoint {

std::vector<int> EveryNCheckpoints(int num_layers, int n) {
  std::vector<int> checkpoints;
  if (n < 1) return checkpoints;
  for (int t = n; t < num_layers; t += n) checkpoints.push_back(t);
  return checkpoints;
}

namespace {

// Checkpoints first, first + n, first + 2n, ... below L.
std::vector<int> Grid(int num_layers, int first, int n) {
  std::vector<int> checkpoints;
  for (int t = first; t < num_layers; t += n) checkpoints.push_back(t);
  return checkpoints;
}

}  // namespace

std::vector<int> SqrtCheckpoints(const Chain& chain) {
  const int last = chain.num_layers();
  int n = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(last))));
  while (n * n < last) ++n;  // exact, whatever sqrt rounds to
  while (n > 1 && (n - 1) * (n - 1) >= last) --n;
  std::vector<int> best = EveryNCheckpoints(last, n);
  absl::StatusOr<Plan> plain = PlanSegments(chain, best);
  if (!plain.ok()) return best;
  const Simulation limit = plain->simulation;
  Simulation chosen = limit;
  // Other even spacings as close to sqrt(L), shifted: the one whose
  // recomputed layers weigh least without holding more. The layer that
  // produces a checkpoint is the one layer of its segment never recomputed,
  // so this puts checkpoints after the expensive layers (a Dense's output
  // rather than the ReLU's after it).
  for (int spacing = std::max(1, n - 1); spacing <= n + 1; ++spacing) {
    for (int first = 1; first <= spacing; ++first) {
      std::vector<int> checkpoints = Grid(last, first, spacing);
      absl::StatusOr<Plan> plan = PlanSegments(chain, checkpoints);
      if (!plan.ok()) continue;
      const Simulation& s = plan->simulation;
      if (s.peak_bytes > limit.peak_bytes) continue;
      if (s.recomputed_weight < chosen.recomputed_weight ||
          (s.recomputed_weight == chosen.recomputed_weight &&
           s.peak_bytes < chosen.peak_bytes)) {
        chosen = s;
        best = std::move(checkpoints);
      }
    }
  }
  return best;
}

absl::StatusOr<Plan> PlanSegments(const Chain& chain, const std::vector<int>& checkpoints) {
  const int last = chain.num_layers();
  std::vector<int> kept = {0};
  for (int c : checkpoints) {
    if (c <= kept.back() || c >= last) {
      return absl::InvalidArgumentError(absl::StrCat(
          "checkpoints must ascend strictly within (0, ", last, "); got ", c));
    }
    kept.push_back(c);
  }
  const int top = kept.back();  // the start of the segment kept whole
  // The highest checkpoint at or below the lowest trainable layer: the first
  // one the backward pass recomputes from.
  const int base = *std::prev(std::upper_bound(kept.begin(), kept.end(), chain.lowest));

  Choosers choosers;
  choosers.forward = [&](int i, int64_t) {
    if (i < base) return base;
    if (i >= top) return i + 1;
    return *std::upper_bound(kept.begin(), kept.end(), i);
  };
  // Within a segment: recompute one layer at a time, keeping each result,
  // except below the lowest trainable layer, where nothing is kept.
  choosers.backward = [&](int i, int, int64_t) {
    return i < chain.lowest ? chain.lowest : i + 1;
  };
  MNEMO_ASSIGN_OR_RETURN(std::vector<Op> program,
                         EmitProgram(chain, chain.sizes, /*m=*/0, choosers));
  return MakePlan(chain, std::move(program), /*training=*/true);
}

}  // namespace mnemo::caching::checkpoint
