#include "core/snapshot_writer.h"

#include <utility>

#include "core/status_macros.h"

namespace mnemo {

SnapshotWriter::SnapshotWriter(std::string path, TrainableModel* model, Optimizer* optimizer,
                               std::string config_text, Options options)
    : path_(std::move(path)),
      model_(model),
      optimizer_(optimizer),
      config_text_(std::move(config_text)),
      options_(std::move(options)) {}

SnapshotWriter::SnapshotWriter(std::string path, Network* network, Optimizer* optimizer,
                               std::string config_text, Options options)
    : SnapshotWriter(std::move(path), static_cast<TrainableModel*>(nullptr), optimizer,
                     std::move(config_text), std::move(options)) {
  network_model_ = std::make_unique<NetworkModel>(network);
  model_ = network_model_.get();
}

absl::StatusOr<TrainingHook::Decision> SnapshotWriter::AfterStep(const TrainingProgress& progress,
                                                                 bool epoch_end) {
  const bool stop = options_.stop_requested && options_.stop_requested();
  const SnapshotSchedule& schedule = options_.schedule;
  // By step number rather than steps since the last one, so that a resumed
  // run writes where the uninterrupted one would have.
  const bool due =
      epoch_end || stop ||
      (schedule.every_steps > 0 && progress.step % schedule.every_steps == 0) ||
      (schedule.every > absl::ZeroDuration() && since_last_.Elapsed() >= schedule.every);
  const bool written_here = last_written_.has_value() && last_written_->step == progress.step &&
                            last_written_->epoch == progress.epoch;
  if (due && !written_here) MNEMO_RETURN_IF_ERROR(Write(progress));
  if (stop) {
    stopped_on_request_ = true;
    return Decision::kStop;
  }
  return Decision::kContinue;
}

absl::Status SnapshotWriter::Write(const TrainingProgress& progress) {
  if (!options_.write) return absl::OkStatus();
  const Stopwatch took;
  MNEMO_RETURN_IF_ERROR(WriteSnapshot(path_, *model_, *optimizer_, progress, config_text_));
  since_last_.Restart();
  last_written_ = progress;
  if (options_.on_written) options_.on_written(progress, took.Elapsed());
  return absl::OkStatus();
}

}  // namespace mnemo
