// Trains the model an experiment config describes, on its data set.
//
//   ./bazelw run //tools:train                      # configs/fashion_mlp.pbtxt
//   ./bazelw run //tools:train -- --config=my.pbtxt --epochs=3 --out=/tmp/run
//   ./bazelw run //tools:train -- --config=my.pbtxt --epochs=3 --out=/tmp/run --resume
//
// Writes model.safetensors, metrics.csv, metrics.json, steps.csv (the
// learning rate of every step) and training.svg to the output directory (default out/<config name>,
// where you ran the command). While it trains, the directory holds snapshot.safetensors, the run so
// far (core/snapshot.h), which --resume continues from and a finished run removes. SIGINT or
// SIGTERM stop it after the step under way with a snapshot; it then exits with 128 + the signal's
// number (130, 143) and prints the command that resumes it.

#include <signal.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/cache_strategy.h"
#include "core/loss.h"
#include "core/network.h"
#include "core/status_macros.h"
#include "core/stopwatch.h"
#include "core/trainer.h"
#include "tools/command_line.h"
#include "tools/paths.h"
#include "tools/progress.h"
#include "tools/run_snapshots.h"
#include "tools/stop_signals.h"
#include "tools/strategy_stats.h"
#include "tools/tool_main.h"
#include "tools/train_run.h"

ABSL_FLAG(std::string, config, "configs/fashion_mlp.pbtxt", "experiment config (.pbtxt)");
ABSL_FLAG(int, epochs, 0, "epochs to train; 0 = as the config says");
ABSL_FLAG(int, batch_size, 0, "batch size; 0 = as the config says");
ABSL_FLAG(double, learning_rate, 0, "learning rate; 0 = as the config says");
ABSL_FLAG(int64_t, seed, -1, "run seed; -1 = as the config says");
ABSL_FLAG(std::string, data_dir, "", "data directory; empty = as the config says");
ABSL_FLAG(int, train_limit, -1, "use the first N training samples; -1 = as the config says");
ABSL_FLAG(int, test_limit, -1, "use the first N test samples; -1 = as the config says");
ABSL_FLAG(std::string, out, "", "output directory; empty = the config's, else out/<config name>");
ABSL_FLAG(int, threads, -1,
          "threads of the model's backend; 0 = one per core, -1 = as the config says");
ABSL_FLAG(bool, overwrite, false,
          "replace the model of a finished run in the output directory (without it, a finished "
          "run there is refused)");
ABSL_FLAG(bool, resume, false,
          "continue the run whose snapshot is in the output directory (with the same config "
          "and flags); without a snapshot, start from the beginning");
ABSL_FLAG(int64_t, snapshot_every_steps, -1,
          "also snapshot after every N-th step; 0 = not by steps, -1 = as the config says "
          "(output.snapshot_every_steps, default 0); a snapshot is written at every epoch's end "
          "regardless");
ABSL_FLAG(double, snapshot_every_seconds, -1,
          "also snapshot every S seconds; 0 = not by time, -1 = as the config says "
          "(output.snapshot_every_seconds, default 60)");

namespace mnemo {
namespace {

// The command line, for the command that resumes the run.
std::vector<std::string>* command_line = new std::vector<std::string>;
// The signal that stopped training, for main's exit code; 0 when none did.
int stopped_by_signal = 0;

// "train loss 0.41  train acc 0.85  val acc 0.84  test acc 0.83": the
// training figures, then the validation and test sets' headline figures
// (accuracy, or RMSE and R^2 for a regression), for the sets there are.
std::string EpochFigures(const EpochMetrics& m, bool regression) {
  std::string line = absl::StrFormat("train loss %.4f", m.train_loss);
  if (!regression) absl::StrAppendFormat(&line, "  train acc %.4f", m.train_accuracy);
  for (const char* set : {"val", "test"}) {
    for (const char* figure : regression ? std::vector<const char*>{"rmse", "r2"}
                                         : std::vector<const char*>{"accuracy"}) {
      auto it = m.figures.find(absl::StrCat(set, "_", figure));
      if (it == m.figures.end() && !regression && std::string(set) == "test" &&
          m.figures.count("test_log_loss") > 0) {
        absl::StrAppendFormat(&line, "  test acc %.4f", m.test_accuracy);
      } else if (it != m.figures.end()) {
        absl::StrAppendFormat(&line, "  %s %s %.4f", set,
                              std::string(figure) == "accuracy" ? "acc" : figure, it->second);
      }
    }
  }
  return line;
}

// Progress bar within an epoch, a table row and the cache strategy's figures
// after it; notes (snapshots, skipped steps) between them.
class ConsoleObserver : public TrainRunObserver {
 public:
  ConsoleObserver(int epochs, int batch_size, const CacheStrategy& strategy, bool regression)
      : epochs_(epochs), batch_size_(batch_size), strategy_(strategy), regression_(regression) {}

  void OnEpochStart(int epoch, int num_batches) override {
    bar_.Start(absl::StrFormat("epoch %d/%d", epoch, epochs_), num_batches);
    loss_sum_ = 0;
    losses_ = 0;
    batches_ = 0;
    since_start_.Restart();
  }
  // `batch` counts from the epoch's start; a resumed epoch starts midway, so
  // the means are over the batches seen here.
  void OnBatchEnd(int /*epoch*/, int batch, const StepResult& step) override {
    const float loss = step.loss;
    ++batches_;
    if (std::isfinite(loss)) {
      loss_sum_ += loss;
      ++losses_;
    }
    const double seconds = since_start_.ElapsedSeconds();
    bar_.Update(batch, absl::StrFormat("loss %.4f %.0f samples/s", loss_sum_ / losses_,
                                       static_cast<double>(batches_) * batch_size_ / seconds));
  }
  void OnEpochEnd(const EpochMetrics& m) override {
    bar_.Finish();
    absl::PrintF("epoch %2d/%d  %s  lr %.3g  %.2fs (%.0f samples/s)%s\n", m.epoch, epochs_,
                 EpochFigures(m, regression_), m.learning_rate, m.train_seconds,
                 m.samples_per_second,
                 m.skipped_steps > 0 ? absl::StrFormat("  skipped %d steps", m.skipped_steps) : "");
    absl::PrintF("        %s\n", FormatCacheStats(strategy_.stats()));
    std::fflush(stdout);
  }
  void OnSnapshotWritten(const TrainingProgress& p, absl::Duration took) override {
    Note(absl::StrFormat("snapshot at %s in %.0f ms", DescribeProgress(p),
                         absl::ToDoubleMilliseconds(took)));
  }
  void OnStepSkipped(const std::string& why) override {
    // The first few in full; the epoch lines count the rest.
    if (++skipped_ <= kSkipsShown) {
      Note(absl::StrCat("skipped ", why,
                        skipped_ == kSkipsShown ? " (further skips are only counted)" : ""));
    }
  }

  // A line of its own on stdout, clearing the bar first.
  void Note(const std::string& line) {
    bar_.Finish();
    absl::PrintF("%s\n", line);
    std::fflush(stdout);
  }

 private:
  static constexpr int kSkipsShown = 10;

  ProgressBar bar_;
  int epochs_;
  int batch_size_;
  const CacheStrategy& strategy_;
  const bool regression_;
  double loss_sum_ = 0;
  int losses_ = 0;
  int batches_ = 0;
  int skipped_ = 0;
  Stopwatch since_start_;
};

absl::Status Run() {
  InstallStopSignalHandlers();
  // A file size limit (ulimit -f) then fails a write with EFBIG, reported as
  // any write error is, instead of killing the process mid-write.
  ::signal(SIGXFSZ, SIG_IGN);

  TrainSettings settings;
  MNEMO_ASSIGN_OR_RETURN(settings.config_path, FindInputFile(absl::GetFlag(FLAGS_config)));
  settings.epochs = absl::GetFlag(FLAGS_epochs);
  settings.batch_size = absl::GetFlag(FLAGS_batch_size);
  settings.learning_rate = absl::GetFlag(FLAGS_learning_rate);
  settings.seed = absl::GetFlag(FLAGS_seed);
  settings.data_dir = absl::GetFlag(FLAGS_data_dir);
  settings.train_limit = absl::GetFlag(FLAGS_train_limit);
  settings.test_limit = absl::GetFlag(FLAGS_test_limit);
  settings.out = absl::GetFlag(FLAGS_out);
  settings.threads = absl::GetFlag(FLAGS_threads);
  settings.overwrite = absl::GetFlag(FLAGS_overwrite);
  settings.resume = absl::GetFlag(FLAGS_resume);
  settings.snapshot_every_steps = absl::GetFlag(FLAGS_snapshot_every_steps);
  settings.snapshot_every_seconds = absl::GetFlag(FLAGS_snapshot_every_seconds);

  TrainRunCallbacks callbacks;
  callbacks.say = [](const std::string& line) { absl::PrintF("%s\n", line); };
  callbacks.make_observer = [](const config::Experiment& experiment, Network& network) {
    return std::make_unique<ConsoleObserver>(experiment.trainer().epochs(),
                                             experiment.trainer().batch_size(), network.strategy(),
                                             IsRegression(experiment.model().loss()));
  };
  callbacks.resume_command = RerunCommand(*command_line, "//tools:train", "--resume");
  if (absl::StatusOr<TrainResult> result = RunTraining(settings, callbacks); !result.ok()) {
    stopped_by_signal = StopSignal();
    return result.status();
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace mnemo

int main(int argc, char** argv) {
  mnemo::command_line->assign(argv, argv + argc);
  const int code = mnemo::RunTool(
      argc, argv, "train",
      "Trains an MLP as an experiment config says.\n"
      "  bazel run //tools:train -- [--config=FILE] [--epochs=N] [--out=DIR] ...\n"
      "Snapshots the run into DIR/snapshot.safetensors at every epoch's end (and every\n"
      "--snapshot_every_steps / --snapshot_every_seconds); --resume continues from it.\n"
      "SIGINT/SIGTERM stop after the current step with a snapshot, exit 130/143 and\n"
      "print the command that resumes the run.",
      &mnemo::Run);
  // The shell's convention for a process ended by a signal.
  return mnemo::stopped_by_signal != 0 ? 128 + mnemo::stopped_by_signal : code;
}
