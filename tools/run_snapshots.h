#ifndef MNEMO_TOOLS_RUN_SNAPSHOTS_H_
#define MNEMO_TOOLS_RUN_SNAPSHOTS_H_

// What the training tools share about their snapshots (core/snapshot.h):
// the schedule from config and flags, the words they say about them, and a
// run that resumes, snapshots and stops on a signal as each tool's does.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/config.pb.h"
#include "core/dataset.h"
#include "core/optimizer.h"
#include "core/snapshot_writer.h"
#include "core/trainable_model.h"
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

// A finished run's model at `model_path` (there, with no snapshot at
// `snapshot_path` beside it: a run under way keeps one) is not replaced
// unless `overwrite` (the tools' --overwrite): FailedPrecondition otherwise,
// naming the file and the flag.
absl::Status CheckNoFinishedRunToReplace(const std::string& model_path,
                                         const std::string& snapshot_path, bool overwrite);

bool FileExists(const std::string& path);

// A training run as the tools make one. It resumes from the snapshot at
// `snapshot_path` when asked to and there is one, and otherwise writes a
// first snapshot before any step (which proves the directory takes one);
// it snapshots as the schedule says and stops after the step under way on
// SIGINT or SIGTERM (tools/stop_signals.h).
class SnapshottedRun {
 public:
  struct Options {
    std::string snapshot_path;
    SnapshotSchedule schedule;
    bool resume = false;
    std::string training_config;  // TrainingConfigText of the run
    int epochs = 0;               // the run's, for the words on a finished run
    // Told of every snapshot written; may be empty.
    std::function<void(const TrainingProgress&, absl::Duration took)> on_written;
    // Asked between steps whether to stop (as SIGINT and SIGTERM do) besides
    // the stop signals; may be empty: only those.
    std::function<bool()> stop_requested;
    // Takes Start's lines (whether it resumes, the schedule); empty: stdout.
    std::function<void(const std::string& line)> say;
    // False on a rank of a data-parallel run other than 0: it restores the
    // snapshot on --resume but writes none.
    bool write = true;
  };

  // Restores the snapshot or writes the first one, and says which on stdout.
  // `model` and `optimizer` must outlive the run.
  static absl::StatusOr<std::unique_ptr<SnapshottedRun>> Start(TrainableModel* model,
                                                               Optimizer* optimizer,
                                                               Options options);

  // Trains with `trainer` (of the same model and optimizer) from where the
  // run stands to its end. A signal, or Options::stop_requested, stops it
  // with an Aborted error that says where the run stands, that the snapshot
  // holds it, and `resume_command`; other errors end with which snapshot is
  // kept (KeptSnapshot).
  absl::Status Train(Trainer& trainer, const TrainTestData& data, TrainingObserver* observer,
                     const std::string& resume_command);

  const TrainingProgress& progress() const { return progress_; }
  // "; the last snapshot, PATH, is kept: step 57 (epoch 2, batch 17)", or ""
  // when there is none: for an error of the run, or of a write after it.
  std::string KeptSnapshot() const;

 private:
  SnapshottedRun(std::string snapshot_path, int epochs, bool restored, TrainingProgress progress,
                 std::unique_ptr<SnapshotWriter> writer)
      : snapshot_path_(std::move(snapshot_path)),
        epochs_(epochs),
        restored_(restored),
        restored_at_(progress),
        progress_(std::move(progress)),
        writer_(std::move(writer)) {}

  std::string snapshot_path_;
  int epochs_;
  bool restored_;
  TrainingProgress restored_at_;  // where a restored snapshot stood
  TrainingProgress progress_;
  std::unique_ptr<SnapshotWriter> writer_;
};

}  // namespace mnemo

#endif  // MNEMO_TOOLS_RUN_SNAPSHOTS_H_
