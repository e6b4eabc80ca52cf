// The seed's memory-enhanced classification experiment: trains a dual-path
// classifier (backbone -> features -> memory module | network head) for each
// memory module config, then prints the seed's results block and the paths
// of the plots.
//
//   ./bazelw run //tools:memory_experiment
//   ./bazelw run //tools:memory_experiment -- --epochs=1 --train_limit=6000
//   ./bazelw run //tools:memory_experiment -- --cifar10_dir=/data/cifar-10-batches-bin
//
// Per module, in <out>/<config name>/: model.safetensors (backbone, head and
// the memory's contents), metrics.csv, metrics.json and four SVG plots; while
// it runs, snapshot.safetensors (memory_modules/classifier/dual_path_snapshot.h), which
// --resume continues from and which goes once every module is done.

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "core/config_loader.h"
#include "core/field_range.h"
#include "core/io/atomic_file.h"
#include "core/memory_settings.h"
#include "core/optimizer.h"
#include "core/snapshot.h"
#include "core/snapshot_writer.h"
#include "core/status_macros.h"
#include "core/trainer.h"
#include "google/protobuf/text_format.h"
#include "memory_modules/classifier/dual_path_classifier.h"
#include "memory_modules/classifier/dual_path_evaluation.h"
#include "memory_modules/classifier/path_timing.h"
#include "tools/command_line.h"
#include "tools/data/data_config.h"
#include "tools/data/readers.h"
#include "tools/memory_protocols.h"
#include "tools/memory_report.h"
#include "tools/model_summary.h"
#include "tools/paths.h"
#include "tools/progress.h"
#include "tools/run_outputs.h"
#include "tools/run_snapshots.h"
#include "tools/stop_signals.h"
#include "tools/tool_main.h"

ABSL_FLAG(std::string, configs, "configs/memory_cached.pbtxt,configs/memory_trainable.pbtxt",
          "memory module configs to run, comma-separated");
ABSL_FLAG(std::string, protocol, "seed",
          "seed: the seed's experiment (each config trained once on all the data); "
          "rare_classes: each pair of --pairs kept to each count of --examples training samples "
          "per class; new_classes: trained without each pair, then shown each count of "
          "--examples samples per class of it");
ABSL_FLAG(std::string, pairs, "0-1,2-3,4-5,6-7,8-9", "the class pairs of the protocols");
ABSL_FLAG(std::string, examples, "1,5,10,50",
          "rare_classes: training samples kept per class of the pair; new_classes: examples "
          "shown per class");
ABSL_FLAG(int, epochs, 0, "epochs; 0 = as each config says");
ABSL_FLAG(int, train_limit, -1, "use the first N training samples; -1 = as the config says");
ABSL_FLAG(int, test_limit, -1, "use the first N test samples; -1 = as the config says");
ABSL_FLAG(int64_t, seed, -1, "run seed; -1 = as the config says");
ABSL_FLAG(std::string, data_dir, "", "data directory; empty = as the config says");
ABSL_FLAG(std::string, cifar10_dir, "",
          "run on CIFAR-10 instead: the directory of data_batch_1.bin ... test_batch.bin "
          "(the binary version); sets model.input_size to 3072");
ABSL_FLAG(int, timing_samples, 500, "test samples timed one at a time (batch 1)");
ABSL_FLAG(std::string, out, "out/memory_experiment", "output directory (one folder per config)");
ABSL_FLAG(bool, overwrite, false,
          "replace the model of a finished run in the output directory (without it, a finished "
          "run there is refused)");
ABSL_FLAG(bool, resume, false,
          "continue the experiment from the snapshots in the output directory (same configs "
          "and flags); a module without one starts from the beginning");
ABSL_FLAG(int64_t, snapshot_every_steps, -1,
          "also snapshot after every N-th step; 0 = not by steps, -1 = as the config says "
          "(default 0); a snapshot is written at every epoch's end regardless");
ABSL_FLAG(double, snapshot_every_seconds, -1,
          "also snapshot every S seconds; 0 = not by time, -1 = as the config says (default 60)");

namespace mnemo {
namespace {

constexpr int kCifar10InputSize = 3 * 32 * 32;

// The command line, for the command that resumes the experiment.
std::vector<std::string>* command_line = new std::vector<std::string>;
// The signal that stopped training, for main's exit code; 0 when none did.
int stopped_by_signal = 0;

std::string Stem(const std::string& path) {
  std::string name = path.substr(path.find_last_of('/') + 1);
  return name.substr(0, name.find_last_of('.'));
}

// Flags override the config; checked here, after the loader's checks.
absl::Status ApplyFlags(config::Experiment& experiment) {
  if (int v = absl::GetFlag(FLAGS_epochs); v != 0) {
    MNEMO_RETURN_IF_ERROR(CheckFlagRange("--epochs", *config::Trainer::descriptor(), "epochs", v));
    experiment.mutable_trainer()->set_epochs(v);
  }
  if (int64_t v = absl::GetFlag(FLAGS_seed); v != -1) {
    if (v < 0) return absl::InvalidArgumentError("--seed must be >= 0");
    experiment.mutable_trainer()->set_seed(static_cast<uint64_t>(v));
  }
  config::Data& data = *experiment.mutable_data();
  if (std::string v = absl::GetFlag(FLAGS_data_dir); !v.empty()) data.set_dir(UserPath(v));
  if (std::string v = absl::GetFlag(FLAGS_cifar10_dir); !v.empty()) {
    data.set_format(kCifar10Format);
    data.set_dir(UserPath(v));
    data.clear_train_prefix();
    data.clear_test_prefix();
    experiment.mutable_model()->set_input_size(kCifar10InputSize);
  }
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
  if (absl::GetFlag(FLAGS_timing_samples) <= 0) {
    return absl::InvalidArgumentError("--timing_samples must be > 0");
  }
  return absl::OkStatus();
}

std::string DescribeData(const config::Data& config, const TrainTestData& data) {
  std::string name = "IDX files in " + (config.dir().empty() ? kDefaultDataDir : config.dir());
  if (config.format() == kCifar10Format) {
    name = "CIFAR-10";
  } else if (config.dir().empty() || config.dir() == kDefaultDataDir) {
    name = "Fashion-MNIST";
  }
  return absl::StrFormat("%s (%d training, %d test samples)", name, data.train.size(),
                         data.test.size());
}

ExperimentParameters Parameters(const config::Experiment& experiment,
                                const DualPathClassifier& classifier, const std::string& data) {
  const config::MemoryModule& memory = experiment.memory_module();
  ExperimentParameters p;
  p.memory_size = memory.capacity();
  p.confidence_threshold = classifier.settings().confidence_threshold;
  p.epochs = experiment.trainer().epochs();
  p.batch_size = experiment.trainer().batch_size();
  p.memory_loss_weight = classifier.settings().memory_loss_weight;
  // The loader has checked the settings, so they resolve.
  const memory::MemorySettings resolved = *memory::ResolveMemorySettings(memory);
  p.similarity_threshold = resolved.similarity_threshold;
  p.temperature = resolved.temperature;
  p.top_k = resolved.top_k;
  p.data = data;
  return p;
}

bool SameParameters(const ExperimentParameters& a, const ExperimentParameters& b) {
  return FormatParameters(a) == FormatParameters(b);
}

// A progress bar per epoch and a line after it.
class ConsoleObserver : public TrainingObserver {
 public:
  ConsoleObserver(std::string name, int epochs) : name_(std::move(name)), epochs_(epochs) {}

  void OnEpochStart(int epoch, int num_batches) override {
    bar_.Start(absl::StrFormat("%s epoch %d/%d", name_, epoch, epochs_), num_batches);
    loss_ = memory_ = 0;
  }
  void OnBatchEnd(int /*epoch*/, int batch, const StepResult& step) override {
    loss_ += step.loss;
    memory_ += step.parts.at(kMemoryLoss);
    bar_.Update(batch,
                absl::StrFormat("loss %.4f memory loss %.4f", loss_ / batch, memory_ / batch));
  }
  void OnEpochEnd(const EpochMetrics& epoch) override {
    bar_.Finish();
    const DualPathEpochMetrics m = DualPathMetricsOf(epoch);
    const DualPathEvaluation& t = m.test;
    absl::PrintF(
        "%s epoch %d/%d  loss %.4f  memory loss %.4f  train acc %.4f  test acc %.4f "
        "(network only %.4f)  memory usage %.2f%%  memory %d/%d  %.1fs\n",
        name_, m.epoch, epochs_, m.train_loss, m.train_memory_loss, m.train_accuracy, t.accuracy,
        t.network_accuracy, 100 * t.memory_usage, m.memory_size, m.memory_capacity,
        m.train_seconds);
    std::fflush(stdout);
  }

 private:
  ProgressBar bar_;
  std::string name_;
  int epochs_;
  double loss_ = 0, memory_ = 0;
};

struct Outcome {
  MemoryRun run;
  ExperimentParameters parameters;
  std::vector<std::string> plots;
  std::string model_path;
  std::string snapshot_path;  // removed once every module is done
};

absl::StatusOr<Outcome> RunOne(const std::string& config_arg, const std::string& out_root,
                               std::map<std::string, TrainTestData>* data_cache) {
  MNEMO_ASSIGN_OR_RETURN(std::string config_path, FindInputFile(config_arg));
  ConfigLoader loader;
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<LoadedConfig> loaded, loader.LoadFile(config_path));
  config::Experiment& experiment = loaded->mutable_experiment();
  MNEMO_RETURN_IF_ERROR(ApplyFlags(experiment));
  MNEMO_ASSIGN_OR_RETURN(
      SnapshotSchedule schedule,
      SnapshotScheduleFrom(experiment.output(), absl::GetFlag(FLAGS_snapshot_every_steps),
                           absl::GetFlag(FLAGS_snapshot_every_seconds)));
  const std::string out = absl::StrCat(out_root, "/", Stem(config_path));
  MNEMO_RETURN_IF_ERROR(PrepareOutputDirectory(out));
  const std::string snapshot_path = absl::StrCat(out, "/", kSnapshotFileName);
  const bool resume = absl::GetFlag(FLAGS_resume);
  if (!resume) {
    MNEMO_RETURN_IF_ERROR(CheckNoSnapshotToLose(snapshot_path));
  }
  MNEMO_RETURN_IF_ERROR(CheckNoFinishedRunToReplace(absl::StrCat(out, "/model.safetensors"),
                                                    snapshot_path, absl::GetFlag(FLAGS_overwrite)));
  if (absl::StatusOr<int> removed = RemoveStaleTemporaryFiles(snapshot_path); !removed.ok()) {
    return removed.status();
  }

  // Both configs read the same data: load it once.
  const std::string data_key = experiment.data().SerializeAsString();
  if (data_cache->count(data_key) == 0) {
    MNEMO_ASSIGN_OR_RETURN(TrainTestData data, LoadData(experiment));
    data_cache->emplace(data_key, std::move(data));
  }
  const TrainTestData& data = data_cache->at(data_key);

  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<DualPathClassifier> classifier,
                         DualPathClassifier::Create(*loaded));
  DualPathClassifier& model = *classifier;
  Outcome outcome;
  outcome.run.memory_type = experiment.memory_module().type();
  outcome.run.config_path = config_path;
  outcome.parameters = Parameters(experiment, model, DescribeData(experiment.data(), data));
  outcome.parameters.model = absl::StrCat("backbone ", DescribeNetwork(model.backbone()),
                                          " | head ", DescribeNetwork(model.head()));
  absl::PrintF("config  %s\nmodel   %s\n", config_path, outcome.parameters.model);
  std::fflush(stdout);  // before the progress lines on stderr

  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Optimizer> optimizer,
                         CreateOptimizer(experiment.trainer().optimizer()));
  MNEMO_ASSIGN_OR_RETURN(Trainer trainer,
                         Trainer::Create(experiment.trainer(), &model, optimizer.get()));
  // Before anything is written: a snapshot of a run that cannot train would
  // only stand in the way of the corrected one.
  MNEMO_RETURN_IF_ERROR(WithPrefix(trainer.CheckData(data), DataSource(experiment.data())));

  // A snapshot of the run so far at every epoch's end and as the schedule
  // says; --resume goes on from it, bit for bit.
  SnapshottedRun::Options run_options;
  run_options.snapshot_path = snapshot_path;
  run_options.schedule = schedule;
  run_options.resume = resume;
  run_options.training_config = TrainingConfigText(experiment);
  run_options.epochs = experiment.trainer().epochs();
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<SnapshottedRun> run,
                         SnapshottedRun::Start(&model, optimizer.get(), std::move(run_options)));
  ConsoleObserver observer(outcome.run.memory_type, experiment.trainer().epochs());
  if (absl::Status s =
          run->Train(trainer, data, &observer,
                     RerunCommand(*command_line, "//tools:memory_experiment", "--resume"));
      !s.ok()) {
    stopped_by_signal = StopSignal();
    return s;
  }
  outcome.run.history = DualPathMetricsOf(run->progress().history);
  outcome.snapshot_path = snapshot_path;

  MNEMO_ASSIGN_OR_RETURN(PathTimes batch_times,
                         MeasurePathTimes(model, data.test, experiment.trainer().batch_size()));
  outcome.run.batch_times = batch_times;
  MNEMO_ASSIGN_OR_RETURN(
      PathTimes single_times,
      MeasurePathTimes(model, data.test, 1, absl::GetFlag(FLAGS_timing_samples)));
  outcome.run.single_times = single_times;

  std::string config_text;
  google::protobuf::TextFormat::PrintToString(experiment, &config_text);
  outcome.model_path = out + "/model.safetensors";
  MNEMO_RETURN_IF_ERROR(model.Save(outcome.model_path, config_text));
  MNEMO_RETURN_IF_ERROR(WriteMemoryMetrics(out, outcome.run));
  MNEMO_ASSIGN_OR_RETURN(std::vector<std::string> plots, WriteMemoryPlots(out, outcome.run));
  outcome.plots = std::move(plots);
  return outcome;
}

absl::StatusOr<std::vector<int>> ParseCounts(const std::string& text, const std::string& flag) {
  std::vector<int> counts;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    int count = 0;
    if (!absl::SimpleAtoi(item, &count) || count <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(flag, ": \"", item, "\" is not a count > 0"));
    }
    counts.push_back(count);
  }
  if (counts.empty()) return absl::InvalidArgumentError(absl::StrCat(flag, " names no count"));
  return counts;
}

// --protocol rare_classes or new_classes: every config, pair and count; the
// results (CSV), the summary and the plot go to <out>/<protocol>/.
absl::Status RunProtocol(const std::string& protocol, const std::vector<std::string>& configs,
                         const std::string& out_root) {
  MNEMO_ASSIGN_OR_RETURN(std::vector<ClassPair> pairs,
                         ParsePairs(absl::GetFlag(FLAGS_pairs), "--pairs"));
  MNEMO_ASSIGN_OR_RETURN(std::vector<int> counts,
                         ParseCounts(absl::GetFlag(FLAGS_examples), "--examples"));
  const std::string out = absl::StrCat(out_root, "/", protocol);
  MNEMO_RETURN_IF_ERROR(PrepareOutputDirectory(out));
  const std::string csv_path = absl::StrCat(out, "/results.csv");
  MNEMO_RETURN_IF_ERROR(CheckNoFinishedRunToReplace(csv_path, "", absl::GetFlag(FLAGS_overwrite)));
  std::vector<RareClassResult> rare;
  std::vector<NewClassResult> added;
  for (const std::string& config_arg : configs) {
    MNEMO_ASSIGN_OR_RETURN(std::string config_path, FindInputFile(config_arg));
    auto load = [&]() -> absl::StatusOr<std::unique_ptr<LoadedConfig>> {
      MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<LoadedConfig> loaded,
                             ConfigLoader().LoadFile(config_path));
      MNEMO_RETURN_IF_ERROR(ApplyFlags(loaded->mutable_experiment()));
      return loaded;
    };
    for (const ClassPair& pair : pairs) {
      if (protocol == "rare_classes") {
        for (int count : counts) {
          MNEMO_ASSIGN_OR_RETURN(
              RareClassResult result,
              RunRareClasses(load, pair, count,
                             absl::StrFormat("%s/%s_pair_%d_%d_kept_%d.safetensors", out,
                                             Stem(config_path), pair.first, pair.second, count)));
          rare.push_back(result);
        }
      } else {
        MNEMO_ASSIGN_OR_RETURN(
            std::vector<NewClassResult> results,
            RunNewClasses(load, pair, counts,
                          absl::StrFormat("%s/%s_pair_%d_%d.safetensors", out, Stem(config_path),
                                          pair.first, pair.second)));
        added.insert(added.end(), results.begin(), results.end());
      }
    }
  }
  const bool is_rare = protocol == "rare_classes";
  const std::string svg_path = absl::StrCat(out, "/", protocol, ".svg");
  MNEMO_RETURN_IF_ERROR(
      WriteFileAtomically(csv_path, is_rare ? RareClassesCsv(rare) : NewClassesCsv(added)));
  MNEMO_RETURN_IF_ERROR(
      WriteFileAtomically(svg_path, is_rare ? RareClassesSvg(rare) : NewClassesSvg(added)));
  absl::PrintF("\n%s\nResults: %s\nPlot:    %s\n",
               is_rare ? SummarizeRareClasses(rare) : SummarizeNewClasses(added), csv_path,
               svg_path);
  return absl::OkStatus();
}

absl::Status Run() {
  InstallStopSignalHandlers();
  const std::vector<std::string> configs =
      absl::StrSplit(absl::GetFlag(FLAGS_configs), ',', absl::SkipWhitespace());
  if (configs.empty()) return absl::InvalidArgumentError("--configs names no config");
  const std::string out_root = UserPath(absl::GetFlag(FLAGS_out));
  const std::string protocol = absl::GetFlag(FLAGS_protocol);
  if (protocol == "rare_classes" || protocol == "new_classes") {
    return RunProtocol(protocol, configs, out_root);
  }
  if (protocol != "seed") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--protocol: \"", protocol, "\" is not one of seed, rare_classes, new_classes"));
  }
  std::map<std::string, TrainTestData> data_cache;
  std::vector<Outcome> outcomes;
  for (const std::string& config : configs) {
    MNEMO_ASSIGN_OR_RETURN(Outcome outcome, RunOne(config, out_root, &data_cache));
    outcomes.push_back(std::move(outcome));
  }

  // The seed's results block: the parameters once (again before a module
  // whose parameters differ), then each module's results.
  std::string report = "\n";
  for (size_t i = 0; i < outcomes.size(); ++i) {
    if (i == 0 || !SameParameters(outcomes[i].parameters, outcomes[0].parameters)) {
      absl::StrAppend(&report, FormatParameters(outcomes[i].parameters), "\n");
    }
    absl::StrAppend(&report, FormatResults(outcomes[i].run), "\n");
  }
  absl::StrAppend(&report, "Plots:\n");
  for (const Outcome& outcome : outcomes) {
    for (const std::string& plot : outcome.plots) absl::StrAppend(&report, "  ", plot, "\n");
  }
  absl::StrAppend(&report, "Models (with the memory's contents):\n");
  for (const Outcome& outcome : outcomes) absl::StrAppend(&report, "  ", outcome.model_path, "\n");
  absl::PrintF("%s", report);
  // Every module is in its outputs now; until here a finished module's
  // snapshot let --resume skip its training.
  for (const Outcome& outcome : outcomes) {
    if (::unlink(outcome.snapshot_path.c_str()) != 0 && errno != ENOENT) {
      return absl::ErrnoToStatus(errno, absl::StrCat("cannot remove ", outcome.snapshot_path));
    }
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace mnemo

int main(int argc, char** argv) {
  mnemo::command_line->assign(argv, argv + argc);
  const int code = mnemo::RunTool(
      argc, argv, "memory_experiment",
      "Trains the dual-path (memory + network) classifier for each memory module config and\n"
      "prints the seed's results block.\n"
      "  bazel run //tools:memory_experiment -- [--configs=A,B] [--epochs=N] [--out=DIR] ...\n"
      "Snapshots each run into DIR/<config>/snapshot.safetensors at every epoch's end (and\n"
      "every --snapshot_every_steps / --snapshot_every_seconds); --resume continues from\n"
      "them. SIGINT/SIGTERM stop after the current step with a snapshot, exit 130/143 and\n"
      "print the command that resumes the experiment.",
      &mnemo::Run);
  // The shell's convention for a process ended by a signal.
  return mnemo::stopped_by_signal != 0 ? 128 + mnemo::stopped_by_signal : code;
}
