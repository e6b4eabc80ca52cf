#include "tools/run_snapshots.h"

#include <sys/stat.h>

#include <optional>

#include "absl/strings/str_cat.h"
#include "core/snapshot.h"

namespace mnemo {

absl::StatusOr<SnapshotSchedule> SnapshotScheduleFrom(const config::Output& output,
                                                      int64_t every_steps_flag,
                                                      double every_seconds_flag) {
  std::optional<double> every_seconds;  // unset: the schedule's default
  if (output.has_snapshot_every_seconds()) every_seconds = output.snapshot_every_seconds();
  if (every_seconds_flag != -1) every_seconds = every_seconds_flag;
  SnapshotSchedule schedule;
  schedule.every_steps = every_steps_flag != -1 ? every_steps_flag : output.snapshot_every_steps();
  if (schedule.every_steps < 0 || (every_seconds.has_value() && !(*every_seconds >= 0))) {
    return absl::InvalidArgumentError(
        "--snapshot_every_steps and --snapshot_every_seconds must be >= 0 (0 = never)");
  }
  if (every_seconds.has_value()) schedule.every = absl::Seconds(*every_seconds);
  return schedule;
}

std::string DescribeSchedule(const SnapshotSchedule& schedule) {
  std::string text = "at every epoch's end";
  if (schedule.every_steps > 0) absl::StrAppend(&text, ", every ", schedule.every_steps, " steps");
  if (schedule.every > absl::ZeroDuration()) {
    absl::StrAppend(&text, ", every ", absl::ToDoubleSeconds(schedule.every), " s");
  }
  return text;
}

std::string DescribeProgress(const TrainingProgress& p) {
  if (p.batch > 0) {
    return absl::StrCat("step ", p.step, " (epoch ", p.epoch, ", batch ", p.batch, ")");
  }
  if (p.epoch == 1) return absl::StrCat("step ", p.step, " (start)");
  return absl::StrCat("step ", p.step, " (end of epoch ", p.epoch - 1, ")");
}

bool FileExists(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0;
}

absl::Status CheckNoSnapshotToLose(const std::string& path) {
  if (!FileExists(path)) return absl::OkStatus();
  absl::StatusOr<SnapshotSummary> summary = ReadSnapshotSummary(path);
  const std::string what =
      summary.ok() ? absl::StrCat("holds a run stopped at ", DescribeProgress(summary->progress))
                   : absl::StrCat("is there but unreadable (", summary.status().message(), ")");
  return absl::FailedPreconditionError(
      absl::StrCat(path, " ", what,
                   ": continue it with --resume (same config and flags), or "
                   "remove the file to start over"));
}

}  // namespace mnemo
