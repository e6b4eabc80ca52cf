// Trains the model an experiment config describes, on its data set.
//
//   ./bazelw run //tools:train                      # configs/fashion_mlp.pbtxt
//   ./bazelw run //tools:train -- --config=my.pbtxt --epochs=3 --out=/tmp/run
//   ./bazelw run //tools:train -- --config=my.pbtxt --epochs=3 --out=/tmp/run --resume
//
// Writes model.safetensors, metrics.csv, metrics.json and training.svg to the
// output directory (default out/<config name>, where you ran the command).
// While it trains, the directory holds snapshot.safetensors, the run so far
// (core/snapshot.h), which --resume continues from and a finished run
// removes. SIGINT or SIGTERM stop it after the step under way with a
// snapshot; it then exits with 128 + the signal's number (130, 143) and
// prints the command that resumes it.

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/config_loader.h"
#include "core/field_range.h"
#include "core/format_bytes.h"
#include "core/io/atomic_file.h"
#include "core/loss.h"
#include "core/model_builder.h"
#include "core/model_io.h"
#include "core/optimizer.h"
#include "core/snapshot.h"
#include "core/snapshot_writer.h"
#include "core/status_macros.h"
#include "core/stopwatch.h"
#include "core/trainer.h"
#include "google/protobuf/text_format.h"
#include "tools/command_line.h"
#include "tools/data/data_config.h"
#include "tools/data/readers.h"
#include "tools/model_summary.h"
#include "tools/output_checks.h"
#include "tools/paths.h"
#include "tools/progress.h"
#include "tools/run_outputs.h"
#include "tools/run_snapshots.h"
#include "tools/stop_signals.h"
#include "tools/strategy_stats.h"
#include "tools/tool_main.h"

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

// Flags override the config; each is checked here since the config loader
// validated the file before they applied.
absl::Status ApplyFlags(config::Experiment& experiment) {
  config::Trainer& trainer = *experiment.mutable_trainer();
  if (int v = absl::GetFlag(FLAGS_epochs); v != 0) {
    MNEMO_RETURN_IF_ERROR(CheckFlagRange("--epochs", *config::Trainer::descriptor(), "epochs", v));
    trainer.set_epochs(v);
  }
  if (int v = absl::GetFlag(FLAGS_batch_size); v != 0) {
    MNEMO_RETURN_IF_ERROR(
        CheckFlagRange("--batch_size", *config::Trainer::descriptor(), "batch_size", v));
    trainer.set_batch_size(v);
  }
  if (double v = absl::GetFlag(FLAGS_learning_rate); v != 0) {
    if (v < 0) return absl::InvalidArgumentError("--learning_rate must be > 0");
    trainer.mutable_optimizer()->set_learning_rate(static_cast<float>(v));
  }
  if (int64_t v = absl::GetFlag(FLAGS_seed); v != -1) {
    if (v < 0) return absl::InvalidArgumentError("--seed must be >= 0");
    trainer.set_seed(static_cast<uint64_t>(v));
  }
  config::Data& data = *experiment.mutable_data();
  if (std::string v = absl::GetFlag(FLAGS_data_dir); !v.empty()) data.set_dir(UserPath(v));
  if (int v = absl::GetFlag(FLAGS_train_limit); v != -1) {
    MNEMO_RETURN_IF_ERROR(
        CheckFlagRange("--train_limit", *config::Data::descriptor(), "train_limit", v));
    data.set_train_limit(v);
  }
  if (int v = absl::GetFlag(FLAGS_test_limit); v != -1) {
    MNEMO_RETURN_IF_ERROR(
        CheckFlagRange("--test_limit", *config::Data::descriptor(), "test_limit", v));
    data.set_test_limit(v);
  }
  if (int v = absl::GetFlag(FLAGS_threads); v != -1) {
    MNEMO_RETURN_IF_ERROR(CheckFlagRange("--threads", *config::Model::descriptor(), "threads", v));
    experiment.mutable_model()->set_threads(v);
  }
  return absl::OkStatus();
}

std::string Stem(const std::string& path) {
  std::string name = path.substr(path.find_last_of('/') + 1);
  return name.substr(0, name.find_last_of('.'));
}

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
class ConsoleObserver : public TrainingObserver {
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
    absl::PrintF("epoch %2d/%d  %s  %.2fs (%.0f samples/s)%s\n", m.epoch, epochs_,
                 EpochFigures(m, regression_), m.train_seconds, m.samples_per_second,
                 m.skipped_steps > 0 ? absl::StrFormat("  skipped %d steps", m.skipped_steps) : "");
    absl::PrintF("        %s\n", FormatCacheStats(strategy_.stats()));
    std::fflush(stdout);
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

// A snapshot is written beside the previous one before replacing it, and the
// model beside the last snapshot: room for both is needed at once (and a few
// kilobytes of headers and metrics).
absl::Status CheckRoomForOutputs(const std::string& dir, Network& network, Optimizer& optimizer) {
  constexpr uint64_t kSmallFiles = 1 << 16;
  NetworkModel model(&network);
  const uint64_t snapshot_bytes = SnapshotTensorBytes(model, optimizer) + kSmallFiles;
  uint64_t model_bytes = kSmallFiles;
  for (const ModelParameter& p : network.Parameters()) model_bytes += TensorBytes(*p.value);
  return CheckAvailableBytes(dir, snapshot_bytes + model_bytes,
                             absl::StrCat("a snapshot (", FormatBytes(snapshot_bytes),
                                          ") and the model (", FormatBytes(model_bytes), ")"));
}

absl::Status Run() {
  InstallStopSignalHandlers();
  // A file size limit (ulimit -f) then fails a write with EFBIG, reported as
  // any write error is, instead of killing the process mid-write.
  ::signal(SIGXFSZ, SIG_IGN);

  MNEMO_ASSIGN_OR_RETURN(std::string config_path, FindInputFile(absl::GetFlag(FLAGS_config)));
  ConfigLoader loader;
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<LoadedConfig> loaded, loader.LoadFile(config_path));
  config::Experiment& experiment = loaded->mutable_experiment();
  if (experiment.has_memory_module()) {
    // This tool trains the network alone; training it without the memory the
    // config asks for would give another model than the config describes.
    return absl::InvalidArgumentError(
        absl::StrCat(config_path, " has a memory_module (", experiment.memory_module().type(),
                     "): tools/train trains networks without one; train a memory config with "
                     "//tools:memory_experiment -- --configs=",
                     config_path));
  }
  MNEMO_RETURN_IF_ERROR(ApplyFlags(experiment));
  MNEMO_ASSIGN_OR_RETURN(
      SnapshotSchedule schedule_or,
      SnapshotScheduleFrom(experiment.output(), absl::GetFlag(FLAGS_snapshot_every_steps),
                           absl::GetFlag(FLAGS_snapshot_every_seconds)));
  const SnapshotSchedule schedule = schedule_or;

  std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) out = experiment.output().dir();
  if (out.empty()) out = absl::StrCat("out/", Stem(config_path));
  out = UserPath(out);
  MNEMO_RETURN_IF_ERROR(PrepareOutputDirectory(out));
  const std::string snapshot_path = absl::StrCat(out, "/", kSnapshotFileName);
  const bool resume = absl::GetFlag(FLAGS_resume);
  if (!resume) {
    MNEMO_RETURN_IF_ERROR(CheckNoSnapshotToLose(snapshot_path));
  }
  const std::string model_path = out + "/model.safetensors";
  MNEMO_RETURN_IF_ERROR(
      CheckNoFinishedRunToReplace(model_path, snapshot_path, absl::GetFlag(FLAGS_overwrite)));
  for (const char* name :
       {"model.safetensors", kSnapshotFileName, "metrics.csv", "metrics.json", "training.svg"}) {
    if (absl::StatusOr<int> removed = RemoveStaleTemporaryFiles(absl::StrCat(out, "/", name));
        !removed.ok()) {
      return removed.status();
    }
  }

  absl::PrintF("config  %s\n", config_path);
  MNEMO_ASSIGN_OR_RETURN(TrainTestData data, LoadData(experiment));
  absl::PrintF("data    %d training, %d validation and %d test samples of %d features\n",
               data.train.size(), data.validation.size(), data.test.size(),
               data.train.feature_dim());
  const bool regression = IsRegression(experiment.model().loss());

  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Network> network,
                         BuildNetwork(*loaded, Registries::Global()));
  absl::PrintF("model   %s\n", DescribeNetwork(*network));
  absl::PrintF("backend %s, %d thread%s\n", network->backend().name(), network->backend().threads(),
               network->backend().threads() == 1 ? "" : "s");
  std::fflush(stdout);  // before the progress lines on stderr

  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Optimizer> optimizer,
                         CreateOptimizer(experiment.trainer().optimizer()));
  MNEMO_ASSIGN_OR_RETURN(Trainer trainer,
                         Trainer::Create(experiment.trainer(), network.get(), optimizer.get()));
  // Before anything is written: a snapshot of a run that cannot train would
  // only stand in the way of the corrected one.
  MNEMO_RETURN_IF_ERROR(WithPrefix(trainer.CheckData(data), DataSource(experiment.data())));
  // All of the optimizer's state now, so that the space check below sees it.
  optimizer->CreateState(*network);

  MNEMO_RETURN_IF_ERROR(CheckRoomForOutputs(out, *network, *optimizer));

  ConsoleObserver observer(experiment.trainer().epochs(), experiment.trainer().batch_size(),
                           network->strategy(), regression);
  SnapshottedRun::Options run_options;
  run_options.snapshot_path = snapshot_path;
  run_options.schedule = schedule;
  run_options.resume = resume;
  run_options.training_config = TrainingConfigText(experiment);
  run_options.epochs = experiment.trainer().epochs();
  run_options.on_written = [&observer](const TrainingProgress& p, absl::Duration took) {
    observer.Note(absl::StrFormat("snapshot at %s in %.0f ms", DescribeProgress(p),
                                  absl::ToDoubleMilliseconds(took)));
  };
  MNEMO_ASSIGN_OR_RETURN(
      std::unique_ptr<SnapshottedRun> run,
      SnapshottedRun::Start(&trainer.model(), optimizer.get(), std::move(run_options)));
  if (absl::Status s = run->Train(trainer, data, &observer,
                                  RerunCommand(*command_line, "//tools:train", "--resume"));
      !s.ok()) {
    stopped_by_signal = StopSignal();
    return s;
  }

  const std::vector<EpochMetrics>& history = run->progress().history;
  std::string config_text;
  google::protobuf::TextFormat::PrintToString(experiment, &config_text);
  if (absl::Status s = SaveModel(model_path, *network, config_text, data.names); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(s.message(), run->KeptSnapshot(),
                                               " (--resume writes the outputs again)"));
  }
  MNEMO_RETURN_IF_ERROR(WriteMetrics(out, config_path, history));
  const bool plot = !experiment.output().has_plot() || experiment.output().plot();
  if (plot) {
    MNEMO_RETURN_IF_ERROR(
        WriteTrainingPlot(out + "/training.svg", Stem(config_path), history, regression));
  }
  // The run is in its outputs now; a snapshot left behind would only make the
  // next run in this directory refuse to start.
  if (::unlink(snapshot_path.c_str()) != 0 && errno != ENOENT) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot remove ", snapshot_path));
  }
  const EpochMetrics& last = history.back();
  int64_t skipped = 0;
  for (const EpochMetrics& m : history) skipped += m.skipped_steps;
  const TrainingProgress& progress = run->progress();
  if (progress.best_epoch > 0) {
    absl::PrintF("%s; the model saved is epoch %d's (%s %.4f)\n",
                 progress.stopped_early
                     ? absl::StrFormat("stopped early after epoch %d", last.epoch)
                     : absl::StrFormat("trained %d epochs", last.epoch),
                 progress.best_epoch, EarlyStoppingFigure(experiment.trainer().early_stopping()),
                 progress.best_value);
  }
  // The epoch whose weights are saved.
  const EpochMetrics& kept = progress.best_epoch > 0 ? history[progress.best_epoch - 1] : last;
  // The kept epoch's headline figures on the test set, else on the
  // validation set.
  const char* set = data.test.size() > 0 ? "test" : "validation";
  auto figure = [&kept, set](const char* name) {
    auto it =
        kept.figures.find(absl::StrCat(set == std::string("test") ? "test" : "val", "_", name));
    return it == kept.figures.end() ? 0.0 : it->second;
  };
  std::string result;
  if (data.test.size() == 0 && data.validation.size() == 0) {
    result = "no test or validation set";
  } else if (regression) {
    result = absl::StrFormat("%s RMSE %.4f, MAE %.4f, R^2 %.4f", set, figure("rmse"), figure("mae"),
                             figure("r2"));
  } else {
    result = absl::StrFormat("%s accuracy %.4f, macro-F1 %.4f", set,
                             data.test.size() > 0 ? kept.test_accuracy : figure("accuracy"),
                             figure("macro_f1"));
  }
  absl::PrintF(
      "%s after %d epochs%s\n", result, kept.epoch,
      skipped > 0 ? absl::StrFormat(" (%d steps skipped for non-finite values)", skipped) : "");
  absl::PrintF("wrote   %s, %s/metrics.csv, %s/metrics.json%s\n", model_path, out, out,
               plot ? absl::StrCat(", ", out, "/training.svg") : "");
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
