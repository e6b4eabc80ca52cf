#ifndef MNEMO_CORE_SNAPSHOT_WRITER_H_
#define MNEMO_CORE_SNAPSHOT_WRITER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/network.h"
#include "core/network_model.h"
#include "core/optimizer.h"
#include "core/snapshot.h"
#include "core/stopwatch.h"
#include "core/trainable_model.h"
#include "core/trainer.h"

namespace mnemo {

// When to write training snapshots, besides at every epoch's end (always:
// the one place where a snapshot holds no partial epoch).
struct SnapshotSchedule {
  int64_t every_steps = 0;  // after every step whose number this divides; 0 = not by steps
  absl::Duration every = absl::Seconds(60);  // this long after the last one; zero = not by time
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
    // Told of every snapshot written, with the time it took; may be empty.
    std::function<void(const TrainingProgress&, absl::Duration took)> on_written;
    // False on a rank that does not write (data parallelism: rank 0 writes
    // for all): Write does nothing, and the hook only says when to stop.
    bool write = true;
  };

  // `config_text` is stored in every snapshot (TrainingConfigText); `model`
  // and `optimizer` must outlive the writer.
  SnapshotWriter(std::string path, TrainableModel* model, Optimizer* optimizer,
                 std::string config_text, Options options);
  // A network trained as a classifier (NetworkModel).
  SnapshotWriter(std::string path, Network* network, Optimizer* optimizer, std::string config_text,
                 Options options);

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
  std::unique_ptr<NetworkModel> network_model_;  // when made for a Network
  TrainableModel* model_;
  Optimizer* optimizer_;
  std::string config_text_;
  Options options_;
  Stopwatch since_last_;
  std::optional<TrainingProgress> last_written_;
  bool stopped_on_request_ = false;
};

}  // namespace mnemo

#endif  // MNEMO_CORE_SNAPSHOT_WRITER_H_
