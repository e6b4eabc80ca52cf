#ifndef MNEMO_CORE_SNAPSHOT_H_
#define MNEMO_CORE_SNAPSHOT_H_

// Training snapshots: all that a run needs to go on after it stopped, in one
// safetensors file written atomically (a crash, a kill or a full disk leaves
// the previous snapshot whole).
//
// Format, version 2. Tensors (F32):
//   param/<parameter>             the model's parameters, frozen ones too
//                                 (TrainableModel::Parameters: "<layer>.<parameter>")
//   buffer/<buffer>               the model's buffers (TrainableModel::Buffers:
//                                 "<layer>.running_mean"); none in most models
//   optimizer/<parameter>.<slot>  the optimizer's state (Optimizer::State)
//   extra/<name>                  the model's state beyond its parameters
//                                 (TrainableModel::ExportState: a memory's contents)
//   best/param/..., best/buffer/..., best/extra/...  early stopping's best epoch's model
//                                 (TrainingProgress::best_model)
// String metadata:
//   mnemo.snapshot   "2", the format version
//   mnemo.config     the config text of the run (TrainingConfigText)
//   mnemo.epoch, mnemo.batch, mnemo.step        where the run stood (TrainingProgress)
//   mnemo.epoch_loss_sum, mnemo.epoch_correct, mnemo.epoch_samples,
//   mnemo.epoch_skipped, mnemo.epoch_seconds    the epoch under way so far
//   mnemo.epoch_part_sums  a "name value" line per part of the loss (its sum so far)
//   mnemo.history    a line per epoch done: epoch, train loss, train accuracy,
//                    test loss, test accuracy, train seconds, samples per
//                    second, skipped steps, then the model's figures as
//                    name=value (EpochMetrics::figures), space-separated
//                    (not the learning rate: the schedule's, a function of
//                    the step and these figures, which Trainer::Run
//                    recomputes)
//   mnemo.early_stopping  with trainer.early_stopping, once an epoch is done:
//                    the best epoch, its value and 1 if the run stopped early
//   mnemo.checksum   CRC-32 (zlib's), 8 hex digits, of every other metadata
//                    entry and every tensor (name, shape, data), in name order
// Doubles have 17 significant digits, so they read back bit for bit.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/config.pb.h"
#include "core/network.h"
#include "core/network_model.h"
#include "core/optimizer.h"
#include "core/tensor.h"
#include "core/trainable_model.h"
#include "core/trainer.h"

namespace mnemo {

// The name tools/train gives the snapshot in its output directory.
inline constexpr char kSnapshotFileName[] = "snapshot.safetensors";

// The config text a snapshot stores and a resume must match: the experiment
// without what a resumed run may change because it decides nothing of what
// is trained: `output` (where and how often to write), trainer.nonfinite
// (the steps before the snapshot took no non-finite value either way) and
// trainer.distributed (the number of ranks, which must match unless
// resplit, is TrainingProgress::ranks).
std::string TrainingConfigText(const config::Experiment& experiment);

// Writes a snapshot of `model` (its parameters and state), `optimizer` and
// `progress` to `path`, atomically. Creates the optimizer's state that a step
// has not created yet (Optimizer::CreateState), so that a snapshot always has
// all of it. Errors name the path and the reason (errno's for the file
// system); the previous file at `path` is then untouched.
absl::Status WriteSnapshot(const std::string& path, TrainableModel& model, Optimizer& optimizer,
                           const TrainingProgress& progress, const std::string& config_text);
inline absl::Status WriteSnapshot(const std::string& path, Network& network, Optimizer& optimizer,
                                  const TrainingProgress& progress,
                                  const std::string& config_text) {
  NetworkModel model(&network);
  return WriteSnapshot(path, model, optimizer, progress, config_text);
}

struct RestoredSnapshot {
  TrainingProgress progress;  // where the run stood
};

// Restores the snapshot at `path` into `model` and `optimizer`, built from
// the config whose TrainingConfigText is `config_text`, and returns where the
// run stood. All or nothing: it refuses, naming the file and what is wrong and
// changing nothing, a file that is damaged (safetensors' checks; the
// checksum) or not a snapshot, one written with another config (the differing
// lines named), a tensor missing, unexpected, of another shape or not F32, and a
// state the model does not take (TrainableModel::ImportState, which runs
// after every other check and before anything is changed). Reads the whole
// file into memory first.
absl::StatusOr<RestoredSnapshot> RestoreSnapshot(const std::string& path,
                                                 const std::string& config_text,
                                                 TrainableModel& model, Optimizer& optimizer);
inline absl::StatusOr<RestoredSnapshot> RestoreSnapshot(const std::string& path,
                                                        const std::string& config_text,
                                                        Network& network, Optimizer& optimizer) {
  NetworkModel model(&network);
  return RestoreSnapshot(path, config_text, model, optimizer);
}

// Where the run of the snapshot at `path` stood, and its config text, from
// the file's header alone (the checksum is not verified).
struct SnapshotSummary {
  TrainingProgress progress;
  std::string config_text;
};
absl::StatusOr<SnapshotSummary> ReadSnapshotSummary(const std::string& path);

// The bytes of the tensors in a snapshot of `model` and `optimizer`, without
// the model's state (the file is that and a header of a few kilobytes), for a
// check of free space.
uint64_t SnapshotTensorBytes(TrainableModel& model, Optimizer& optimizer);

}  // namespace mnemo

#endif  // MNEMO_CORE_SNAPSHOT_H_
