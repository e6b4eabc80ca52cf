#ifndef MNEMO_CORE_SNAPSHOT_WRITER_H_
#define MNEMO_CORE_SNAPSHOT_WRITER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/network.h"
#include "core/optimizer.h"
#include "core/snapshot.h"
#include "core/trainer.h"

namespace mnemo {

// When to write training snapshots, besides at every epoch's end (always:
// the one place where a snapshot holds no partial epoch).
struct SnapshotSchedule {
  int64_t every_steps = 0;    // after every step whose number this divides; 0 = not by steps
  double every_seconds = 60;  // this long after the last one; 0 = not by time
};

// A TrainingHook that writes a training snapshot (core/snapshot.h) to one
// path as a schedule says, and stops the run, after writing one, when
// `stop_requested` says so (a signal handler's flag, say): the step under
// way finishes first, since hooks run between steps. A failed write ends the
// run with its error; the file at the path is then the previous snapshot.
class SnapshotWriter : public TrainingHook {
 public:
  struct Options {
    SnapshotSchedule schedule;
    std::function<bool()> stop_requested;  // may be empty: never
    // Told of every snapshot written, with the seconds it took; may be empty.
    std::function<void(const TrainingProgress&, double seconds)> on_written;
    // What each snapshot holds of the caller's own, asked at every write
    // (a memory's contents, say); may be empty: nothing.
    std::function<SnapshotExtras()> extras;
  };

  // `config_text` is stored in every snapshot (TrainingConfigText);
  // `networks` are the model's parts (WriteSnapshot).
  SnapshotWriter(std::string path, std::vector<Network*> networks, Optimizer* optimizer,
                 std::string config_text, Options options);
  SnapshotWriter(std::string path, Network* network, Optimizer* optimizer, std::string config_text,
                 Options options)
      : SnapshotWriter(std::move(path), std::vector<Network*>{network}, optimizer,
                       std::move(config_text), std::move(options)) {}

  absl::StatusOr<Decision> AfterStep(const TrainingProgress& progress, bool epoch_end) override;

  // Writes a snapshot of `progress` now, e.g. before the first step: then a
  // run has one from its start, and a disk that cannot take one says so
  // before any training is spent.
  absl::Status Write(const TrainingProgress& progress);

  const std::string& path() const { return path_; }
  // Whether the run was stopped because stop_requested said so.
  bool stopped_on_request() const { return stopped_on_request_; }
  // Where the run stood at the last snapshot written by this writer.
  const std::optional<TrainingProgress>& last_written() const { return last_written_; }

 private:
  std::string path_;
  std::vector<Network*> networks_;
  Optimizer* optimizer_;
  std::string config_text_;
  Options options_;
  std::chrono::steady_clock::time_point last_time_;
  std::optional<TrainingProgress> last_written_;
  bool stopped_on_request_ = false;
};

}  // namespace mnemo

#endif  // MNEMO_CORE_SNAPSHOT_WRITER_H_
