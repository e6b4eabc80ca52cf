#ifndef MNEMO_TOOLS_TRAIN_RUN_H_
#define MNEMO_TOOLS_TRAIN_RUN_H_
// The training run of tools/train as a library, for the tool and for the
// Python module (tools/python): load the config and the data, apply the
// overrides, build the network, optimizer and trainer, train with snapshots,
// and write model.safetensors, metrics.csv, metrics.json, steps.csv (the
// learning rate of every step) and training.svg.
// The caller chooses where the lines go and what observes the epochs.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/config.pb.h"
#include "core/network.h"
#include "core/trainer.h"

namespace mnemo {

// What overrides the config: tools/train's flags, each "as the config says"
// at its default.
struct TrainSettings {
  std::string config_path;  // found already (FindInputFile)
  int epochs = 0;
  int batch_size = 0;
  double learning_rate = 0;
  int64_t seed = -1;
  std::string data_dir;  // as the user gave it (UserPath applies)
  int train_limit = -1;
  int test_limit = -1;
  std::string out;  // empty: the config's output.dir, else out/<config name>
  int threads = -1;
  bool overwrite = false;
  bool resume = false;
  int64_t snapshot_every_steps = -1;
  double snapshot_every_seconds = -1;
  // Config fields by path ("trainer.optimizer.beta1"), each with its value as
  // protobuf text ("0.95", "SKIP_STEP", "\"dir\""), applied after the
  // settings above (ApplyFieldOverride).
  std::vector<std::pair<std::string, std::string>> field_overrides;
  // How errors name a setting: "--" gives tools/train's "--epochs must be > 0".
  std::string flag_prefix = "--";
};

// Sets the singular field at `path` of `experiment` ("trainer.epochs",
// "model.layer_defaults.x": each step a singular field, the last one not a
// message) from `value`, protobuf text for its type. InvalidArgument naming
// the path when it names no such field, or the value does not parse or is out
// of the field's range.
absl::Status ApplyFieldOverride(const std::string& path, const std::string& value,
                                config::Experiment& experiment);

// The observer of a run's epochs and batches, and of its snapshots.
class TrainRunObserver : public TrainingObserver {
 public:
  virtual void OnSnapshotWritten(const TrainingProgress& /*progress*/, absl::Duration /*took*/) {}
};

struct TrainRunCallbacks {
  // Each line a run says (tools/train prints them on stdout); empty: none.
  std::function<void(const std::string& line)> say;
  // Makes the observer once the network is built; empty: none.
  std::function<std::unique_ptr<TrainRunObserver>(const config::Experiment& experiment,
                                                  Network& network)>
      make_observer;
  // Asked between steps whether to stop (besides SIGINT and SIGTERM, which
  // stop a run when the caller installed tools/stop_signals' handlers); may
  // be empty.
  std::function<bool()> stop_requested;
  // What the message of a stopped run tells the user to run to resume it.
  std::string resume_command;
};

// What a finished run wrote and measured.
struct TrainResult {
  std::string config_path;
  std::string out;  // the output directory
  std::string model_path;
  std::string metrics_csv;
  std::string metrics_json;
  std::string steps_csv;
  std::string plot;  // empty when output.plot is false
  bool regression = false;
  int train_samples = 0;
  int validation_samples = 0;
  int test_samples = 0;
  int features = 0;
  std::vector<EpochMetrics> history;
  // Early stopping: the best epoch (0 = none), its figure, whether patience
  // ran out.
  int best_epoch = 0;
  double best_value = 0;
  bool stopped_early = false;
  int kept_epoch = 0;         // whose weights model_path holds
  std::string headline_set;   // "test" or "validation"; empty: neither
  int64_t skipped_steps = 0;  // over the run
};

// Trains as tools/train does. Errors name the file or setting; a run stopped
// (signal or stop_requested) is Aborted, with where the snapshot is and
// callbacks.resume_command.
absl::StatusOr<TrainResult> RunTraining(const TrainSettings& settings,
                                        const TrainRunCallbacks& callbacks);

}  // namespace mnemo

#endif  // MNEMO_TOOLS_TRAIN_RUN_H_
