#ifndef MNEMO_CORE_CLASSIFIER_DUAL_PATH_SNAPSHOT_H_
#define MNEMO_CORE_CLASSIFIER_DUAL_PATH_SNAPSHOT_H_

// Training snapshots of a dual-path run, in core/snapshot.h's format:
//   param/, optimizer/     the classifier's trained networks and the optimizer
//   extra/memory.<name>    the memory's contents (its ExportState)
//   mnemo.extra.dual_path.classification_sum, .memory_sum
//                          the epoch under way so far
//   mnemo.extra.dual_path.history
//                          a line per epoch done: the 22 figures of its
//                          DualPathEpochMetrics, space-separated, in the
//                          order of the struct (test's after train's)
// so that a run resumed from one ends bit for bit as one that never stopped.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/classifier/dual_path_classifier.h"
#include "core/classifier/dual_path_trainer.h"
#include "core/optimizer.h"
#include "core/snapshot.h"

namespace mnemo {

// What a snapshot of the run holds beyond core's: the memory's contents and
// the dual path's sums and metrics. For a SnapshotWriter's `extras`.
SnapshotExtras DualPathSnapshotExtras(DualPathClassifier& classifier,
                                      const DualPathProgress& progress);

// WriteSnapshot of the classifier's trained networks, `optimizer` and
// `progress`, with DualPathSnapshotExtras.
absl::Status WriteDualPathSnapshot(const std::string& path, DualPathClassifier& classifier,
                                   Optimizer& optimizer, const DualPathProgress& progress,
                                   const std::string& config_text);

// Restores a snapshot WriteDualPathSnapshot wrote into `classifier` and
// `optimizer`, built from the config whose TrainingConfigText is
// `config_text`, and returns where the run stood. Refuses what
// RestoreSnapshot refuses, and dual-path figures that are missing or do not
// read, changing nothing. Should the memory refuse its contents after that
// (ImportState's checks), the networks are restored and the memory is not:
// the error says so, and the classifier is not to be trained on.
absl::StatusOr<DualPathProgress> RestoreDualPathSnapshot(const std::string& path,
                                                         const std::string& config_text,
                                                         DualPathClassifier& classifier,
                                                         Optimizer& optimizer);

}  // namespace mnemo

#endif  // MNEMO_CORE_CLASSIFIER_DUAL_PATH_SNAPSHOT_H_
