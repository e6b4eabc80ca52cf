#ifndef MNEMO_TOOLS_RUN_SNAPSHOTS_H_
#define MNEMO_TOOLS_RUN_SNAPSHOTS_H_

// What the training tools share about their snapshots (core/snapshot.h):
// the schedule from config and flags, and the words they say about them.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "core/config.pb.h"
#include "core/snapshot_writer.h"
#include "core/trainer.h"

namespace mnemo {

// The schedule from the config's `output`, each field overridden by its flag
// unless the flag is -1 ("as the config says"). Refuses negative values.
absl::StatusOr<SnapshotSchedule> SnapshotScheduleFrom(const config::Output& output,
                                                      int64_t every_steps_flag,
                                                      double every_seconds_flag);

// "at every epoch's end, every 100 steps, every 60 s".
std::string DescribeSchedule(const SnapshotSchedule& schedule);

// "step 57 (epoch 2, batch 17)", "step 40 (end of epoch 1)", "step 0 (start)".
std::string DescribeProgress(const TrainingProgress& progress);

// Refuses to start a run over the snapshot at `path` of another, unfinished
// one, which it would overwrite; OK when there is none.
absl::Status CheckNoSnapshotToLose(const std::string& path);

bool FileExists(const std::string& path);

}  // namespace mnemo

#endif  // MNEMO_TOOLS_RUN_SNAPSHOTS_H_
