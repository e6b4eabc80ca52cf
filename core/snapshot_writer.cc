#include "core/snapshot_writer.h"

#include <utility>

namespace mnemo {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

SnapshotWriter::SnapshotWriter(std::string path, std::vector<Network*> networks,
                               Optimizer* optimizer, std::string config_text, Options options)
    : path_(std::move(path)),
      networks_(std::move(networks)),
      optimizer_(optimizer),
      config_text_(std::move(config_text)),
      options_(std::move(options)),
      last_time_(std::chrono::steady_clock::now()) {}

absl::StatusOr<TrainingHook::Decision> SnapshotWriter::AfterStep(const TrainingProgress& progress,
                                                                 bool epoch_end) {
  const bool stop = options_.stop_requested && options_.stop_requested();
  const SnapshotSchedule& schedule = options_.schedule;
  // By step number rather than steps since the last one, so that a resumed
  // run writes where the uninterrupted one would have.
  const bool due =
      epoch_end || stop ||
      (schedule.every_steps > 0 && progress.step % schedule.every_steps == 0) ||
      (schedule.every_seconds > 0 && SecondsSince(last_time_) >= schedule.every_seconds);
  const bool written_here = last_written_.has_value() && last_written_->step == progress.step &&
                            last_written_->epoch == progress.epoch;
  if (due && !written_here) {
    if (absl::Status s = Write(progress); !s.ok()) return s;
  }
  if (stop) {
    stopped_on_request_ = true;
    return Decision::kStop;
  }
  return Decision::kContinue;
}

absl::Status SnapshotWriter::Write(const TrainingProgress& progress) {
  const auto start = std::chrono::steady_clock::now();
  const SnapshotExtras extras = options_.extras ? options_.extras() : SnapshotExtras();
  if (absl::Status s = WriteSnapshot(path_, networks_, *optimizer_, progress, config_text_, extras);
      !s.ok()) {
    return s;
  }
  last_time_ = std::chrono::steady_clock::now();
  last_written_ = progress;
  if (options_.on_written) options_.on_written(progress, SecondsSince(start));
  return absl::OkStatus();
}

}  // namespace mnemo
