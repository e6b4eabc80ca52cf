#include "tools/run_snapshots.h"

#include <sys/stat.h>

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/field_range.h"
#include "core/snapshot.h"
#include "core/status_macros.h"
#include "tools/stop_signals.h"

namespace mnemo {

absl::StatusOr<SnapshotSchedule> SnapshotScheduleFrom(const config::Output& output,
                                                      int64_t every_steps_flag,
                                                      double every_seconds_flag) {
  // The config's values were checked at load; the flags' are here.
  const google::protobuf::Descriptor& fields = *config::Output::descriptor();
  std::optional<double> every_seconds;  // unset: the schedule's default
  if (output.has_snapshot_every_seconds()) every_seconds = output.snapshot_every_seconds();
  if (every_seconds_flag != -1) {
    MNEMO_RETURN_IF_ERROR(CheckFlagRange("--snapshot_every_seconds", fields,
                                         "snapshot_every_seconds", every_seconds_flag));
    every_seconds = every_seconds_flag;
  }
  SnapshotSchedule schedule;
  schedule.every_steps = output.snapshot_every_steps();
  if (every_steps_flag != -1) {
    MNEMO_RETURN_IF_ERROR(CheckFlagRange("--snapshot_every_steps", fields, "snapshot_every_steps",
                                         static_cast<double>(every_steps_flag)));
    schedule.every_steps = every_steps_flag;
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

absl::Status CheckNoFinishedRunToReplace(const std::string& model_path,
                                         const std::string& snapshot_path, bool overwrite) {
  if (overwrite || !FileExists(model_path) || FileExists(snapshot_path)) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat(model_path,
                   " holds a finished run, which this one would replace: give another output "
                   "directory, or --overwrite to replace it"));
}

absl::StatusOr<std::unique_ptr<SnapshottedRun>> SnapshottedRun::Start(TrainableModel* model,
                                                                      Optimizer* optimizer,
                                                                      Options options) {
  // All of the optimizer's state now, so that a snapshot has its whole shape
  // from the start.
  optimizer->CreateState(model->TrainableParameters());
  TrainingProgress progress;
  auto say = [&options](const std::string& line) {
    if (options.say) {
      options.say(line);
    } else {
      absl::PrintF("%s\n", line);
    }
  };
  const bool restoring = options.resume && FileExists(options.snapshot_path);
  if (restoring) {
    MNEMO_ASSIGN_OR_RETURN(
        RestoredSnapshot restored,
        RestoreSnapshot(options.snapshot_path, options.training_config, *model, *optimizer));
    progress = std::move(restored.progress);
    say(absl::StrFormat("resume  from %s: %s%s", options.snapshot_path, DescribeProgress(progress),
                        progress.epoch > options.epochs
                            ? "; the training is done, its outputs are written again"
                            : ""));
  } else if (options.resume) {
    const std::string& path = options.snapshot_path;
    say(absl::StrFormat("resume  no snapshot in %s: starting from the beginning",
                        path.substr(0, path.find_last_of('/'))));
  }
  say(absl::StrFormat("snapshot %s %s", options.snapshot_path, DescribeSchedule(options.schedule)));
  std::fflush(stdout);
  SnapshotWriter::Options writer_options;
  writer_options.schedule = options.schedule;
  writer_options.stop_requested = [stop = std::move(options.stop_requested)] {
    return StopSignal() != 0 || (stop && stop());
  };
  writer_options.on_written = std::move(options.on_written);
  writer_options.write = options.write;
  auto writer = std::make_unique<SnapshotWriter>(
      options.snapshot_path, model, optimizer, options.training_config, std::move(writer_options));
  if (!restoring) MNEMO_RETURN_IF_ERROR(writer->Write(progress));
  return std::unique_ptr<SnapshottedRun>(new SnapshottedRun(
      options.snapshot_path, options.epochs, restoring, std::move(progress), std::move(writer)));
}

absl::Status SnapshottedRun::Train(Trainer& trainer, const TrainTestData& data,
                                   TrainingObserver* observer, const std::string& resume_command) {
  // A signal during the loading before stops before the first step.
  const absl::Status trained =
      StopSignal() != 0 ? absl::OkStatus() : trainer.Run(data, &progress_, observer, writer_.get());
  if (!trained.ok()) {
    return absl::Status(trained.code(), absl::StrCat(trained.message(), KeptSnapshot()));
  }
  if (const int signal = StopSignal(); signal != 0) {
    return absl::AbortedError(
        absl::StrCat("stopped by ", SignalName(signal), " at ", DescribeProgress(progress_), "; ",
                     snapshot_path_, " holds the run so far. Resume it with:\n  ", resume_command));
  }
  if (writer_->stopped_on_request()) {
    return absl::AbortedError(
        absl::StrCat("stopped at ", DescribeProgress(progress_), "; ", snapshot_path_,
                     " holds the run so far. Resume it with:\n  ", resume_command));
  }
  if (progress_.epoch <= epochs_ && !progress_.stopped_early) {
    // Stopped on another rank's request (data parallelism): the ranks stop
    // at the same step, and the one that writes snapshots writes this one.
    const std::optional<TrainingProgress>& last = writer_->last_written();
    const bool written_here =
        last.has_value() && last->step == progress_.step && last->epoch == progress_.epoch;
    if (!written_here) MNEMO_RETURN_IF_ERROR(writer_->Write(progress_));
    return absl::AbortedError(absl::StrCat(
        "stopped at ", DescribeProgress(progress_), " because another rank was stopped; ",
        snapshot_path_, " holds the run so far. Resume it with:\n  ", resume_command));
  }
  return absl::OkStatus();
}

std::string SnapshottedRun::KeptSnapshot() const {
  const std::optional<TrainingProgress>& last = writer_->last_written();
  if (!last.has_value() && !restored_) return "";
  return absl::StrCat("; the last snapshot, ", snapshot_path_,
                      ", is kept: ", DescribeProgress(last.has_value() ? *last : restored_at_));
}

}  // namespace mnemo
