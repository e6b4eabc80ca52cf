#ifndef MNEMO_CACHING_CHECKPOINT_SEGMENT_SCHEDULE_H_
#define MNEMO_CACHING_CHECKPOINT_SEGMENT_SCHEDULE_H_

// Single-level checkpointing (Chen et al. 2016; PyTorch's
// checkpoint_sequential): the forward pass keeps a few activations, the
// checkpoints, and the backward pass recomputes each segment between two of
// them once, from the lower one, keeping the whole segment while its layers
// run their backward. The last segment is kept whole by the forward pass
// itself: the backward pass needs it first, so keeping it raises no peak and
// saves recomputing it.

#include <vector>

#include "absl/status/statusor.h"
#include "caching/checkpoint/schedule.h"

namespace mnemo::caching::checkpoint {

// Activations at every multiple of n below L (n counts network layers), n >= 1.
std::vector<int> EveryNCheckpoints(int num_layers, int n);

// About sqrt(L) evenly spaced checkpoints (Chen et al. 2016): every
// n = ceil(sqrt(L)) layers sets the memory; among the grids spaced n - 1 to
// n + 1 apart, starting anywhere, the one that holds no more at its peak and
// whose recomputed layers weigh least (Chain::weights) is taken. The layer
// that produces a checkpoint is the one layer of its segment never
// recomputed, so in a Dense/ReLU stack the checkpoints land on Dense outputs.
std::vector<int> SqrtCheckpoints(const Chain& chain);

// The program for the given checkpoints (ascending, each in (0, L)); the
// highest one starts the segment the forward pass keeps whole. None at all
// keeps everything. Checkpoints below the segment that holds chain.lowest are
// not kept: no recomputation starts from them.
absl::StatusOr<Plan> PlanSegments(const Chain& chain, const std::vector<int>& checkpoints);

}  // namespace mnemo::caching::checkpoint

#endif  // MNEMO_CACHING_CHECKPOINT_SEGMENT_SCHEDULE_H_
