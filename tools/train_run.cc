#include "tools/train_run.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "core/augmentation.h"
#include "core/communicator.h"
#include "core/config_loader.h"
#include "core/field_range.h"
#include "core/format_bytes.h"
#include "core/io/atomic_file.h"
#include "core/loss.h"
#include "core/model_builder.h"
#include "core/model_io.h"
#include "core/model_tensors.h"
#include "core/optimizer.h"
#include "core/registry.h"
#include "core/snapshot.h"
#include "core/snapshot_writer.h"
#include "core/status_macros.h"
#include "tools/data/data_config.h"
#include "tools/data/readers.h"
#include "tools/model_summary.h"
#include "tools/output_checks.h"
#include "tools/paths.h"
#include "tools/run_outputs.h"
#include "tools/run_snapshots.h"

namespace mnemo {
namespace {

namespace pb = google::protobuf;

// The settings override the config; each is checked here since the config
// loader validated the file before they applied.
absl::Status ApplySettings(const TrainSettings& s, config::Experiment& experiment) {
  const std::string& p = s.flag_prefix;
  config::Trainer& trainer = *experiment.mutable_trainer();
  if (int v = s.epochs; v != 0) {
    MNEMO_RETURN_IF_ERROR(
        CheckFlagRange(absl::StrCat(p, "epochs"), *config::Trainer::descriptor(), "epochs", v));
    trainer.set_epochs(v);
  }
  if (int v = s.batch_size; v != 0) {
    MNEMO_RETURN_IF_ERROR(CheckFlagRange(absl::StrCat(p, "batch_size"),
                                         *config::Trainer::descriptor(), "batch_size", v));
    trainer.set_batch_size(v);
  }
  if (double v = s.learning_rate; v != 0) {
    if (!(v > 0)) return absl::InvalidArgumentError(absl::StrCat(p, "learning_rate must be > 0"));
    trainer.mutable_optimizer()->set_learning_rate(static_cast<float>(v));
  }
  if (int64_t v = s.seed; v != -1) {
    if (v < 0) return absl::InvalidArgumentError(absl::StrCat(p, "seed must be >= 0"));
    trainer.set_seed(static_cast<uint64_t>(v));
  }
  config::Data& data = *experiment.mutable_data();
  if (const std::string& v = s.data_dir; !v.empty()) data.set_dir(UserPath(v));
  if (int v = s.train_limit; v != -1) {
    MNEMO_RETURN_IF_ERROR(CheckFlagRange(absl::StrCat(p, "train_limit"),
                                         *config::Data::descriptor(), "train_limit", v));
    data.set_train_limit(v);
  }
  if (int v = s.test_limit; v != -1) {
    MNEMO_RETURN_IF_ERROR(CheckFlagRange(absl::StrCat(p, "test_limit"), *config::Data::descriptor(),
                                         "test_limit", v));
    data.set_test_limit(v);
  }
  if (int v = s.threads; v != -1) {
    MNEMO_RETURN_IF_ERROR(
        CheckFlagRange(absl::StrCat(p, "threads"), *config::Model::descriptor(), "threads", v));
    experiment.mutable_model()->set_threads(v);
  }
  for (const auto& [path, value] : s.field_overrides) {
    MNEMO_RETURN_IF_ERROR(ApplyFieldOverride(path, value, experiment));
  }
  return absl::OkStatus();
}

std::string Stem(const std::string& path) {
  std::string name = path.substr(path.find_last_of('/') + 1);
  return name.substr(0, name.find_last_of('.'));
}

// A snapshot is written beside the previous one before replacing it, and the
// model beside the last snapshot: room for both is needed at once (and a few
// kilobytes of headers and metrics).
absl::Status CheckRoomForOutputs(const std::string& dir, Network& network, Optimizer& optimizer) {
  constexpr uint64_t kSmallFiles = 1 << 16;
  NetworkModel model(&network);
  const uint64_t snapshot_bytes = SnapshotTensorBytes(model, optimizer) + kSmallFiles;
  uint64_t model_bytes = kSmallFiles;
  for (const SavedModelTensor& t : SavedModelTensors(model)) model_bytes += TensorBytes(*t.value);
  return CheckAvailableBytes(dir, snapshot_bytes + model_bytes,
                             absl::StrCat("a snapshot (", FormatBytes(snapshot_bytes),
                                          ") and the model (", FormatBytes(model_bytes), ")"));
}

// The parser's first complaint, for the override's message.
class FirstError : public pb::io::ErrorCollector {
 public:
  void AddError(int /*line*/, pb::io::ColumnNumber /*column*/,
                const std::string& message) override {
    if (message_.empty()) message_ = message;
  }
  const std::string& message() const { return message_; }

 private:
  std::string message_;
};

// A singular numeric field's value as a double.
std::optional<double> NumberIn(const pb::Message& message, const pb::FieldDescriptor& field) {
  const pb::Reflection& r = *message.GetReflection();
  switch (field.cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32:
      return r.GetInt32(message, &field);
    case pb::FieldDescriptor::CPPTYPE_INT64:
      return static_cast<double>(r.GetInt64(message, &field));
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      return r.GetUInt32(message, &field);
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      return static_cast<double>(r.GetUInt64(message, &field));
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
      return r.GetFloat(message, &field);
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      return r.GetDouble(message, &field);
    default:
      return std::nullopt;
  }
}

}  // namespace

absl::Status ApplyFieldOverride(const std::string& path, const std::string& value,
                                config::Experiment& experiment) {
  auto refuse = [&path](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat("override ", path, ": ", why));
  };
  const std::vector<std::string> steps = absl::StrSplit(path, '.');
  const pb::Descriptor* message = config::Experiment::descriptor();
  const pb::FieldDescriptor* field = nullptr;
  std::string open, close;
  for (size_t i = 0; i < steps.size(); ++i) {
    field = message->FindFieldByName(steps[i]);
    if (field == nullptr) {
      return refuse(absl::StrCat(message->full_name(), " has no field \"", steps[i], "\""));
    }
    if (field->is_repeated()) {
      return refuse(absl::StrCat(steps[i],
                                 " is a repeated field; only singular fields are "
                                 "overridden"));
    }
    const bool last = i + 1 == steps.size();
    const bool is_message = field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE;
    if (last && is_message) return refuse(absl::StrCat(steps[i], " is a message, not a value"));
    if (!last && !is_message) return refuse(absl::StrCat(steps[i], " is a value, not a message"));
    if (last) break;
    absl::StrAppend(&open, steps[i], " { ");
    absl::StrAppend(&close, " }");
    message = field->message_type();
  }
  const bool text = field->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING;
  const std::string literal = text ? absl::StrCat("\"", absl::CEscape(value), "\"") : value;
  config::Experiment parsed;
  pb::TextFormat::Parser parser;
  FirstError error;
  parser.RecordErrorsTo(&error);
  if (!parser.ParseFromString(absl::StrCat(open, field->name(), ": ", literal, close), &parsed)) {
    return refuse(absl::StrCat("cannot set ", field->full_name(), " (", field->type_name(), ") to ",
                               value, ": ", error.message()));
  }
  // The field's own message in `parsed`, for its range.
  const pb::Message* holder = &parsed;
  for (size_t i = 0; i + 1 < steps.size(); ++i) {
    const pb::FieldDescriptor* step = holder->GetDescriptor()->FindFieldByName(steps[i]);
    holder = &holder->GetReflection()->GetMessage(*holder, step);
  }
  if (std::optional<FieldRange> range = RangeOf(*field)) {
    if (std::optional<double> number = NumberIn(*holder, *field)) {
      if (std::optional<std::string> problem = range->Check(path, *number)) {
        return absl::InvalidArgumentError(*problem);
      }
    }
  }
  experiment.MergeFrom(parsed);
  return absl::OkStatus();
}

absl::StatusOr<TrainResult> RunTraining(const TrainSettings& settings,
                                        const TrainRunCallbacks& callbacks) {
  // Data parallelism: every rank trains; rank 0 alone speaks and writes.
  bool writes = true;
  auto say = [&callbacks, &writes](const std::string& line) {
    if (callbacks.say && writes) callbacks.say(line);
  };
  const std::string& config_path = settings.config_path;
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
  MNEMO_RETURN_IF_ERROR(ApplySettings(settings, experiment));
  std::string communicator_type = experiment.trainer().distributed().communicator();
  if (communicator_type.empty()) communicator_type = kLocalCommunicator;
  absl::StatusOr<std::unique_ptr<Communicator>> made =
      Registries::Global().communicators.Create(communicator_type, {});
  if (!made.ok()) {
    return WithPrefix(made.status(),
                      absl::StrCat(config_path, ": trainer.distributed.communicator \"",
                                   communicator_type, "\""));
  }
  const std::unique_ptr<Communicator> communicator = *std::move(made);
  writes = communicator->rank() == 0;
  MNEMO_ASSIGN_OR_RETURN(SnapshotSchedule schedule_or,
                         SnapshotScheduleFrom(experiment.output(), settings.snapshot_every_steps,
                                              settings.snapshot_every_seconds));
  const SnapshotSchedule schedule = schedule_or;

  TrainResult result;
  result.config_path = config_path;
  std::string out = settings.out;
  if (out.empty()) out = experiment.output().dir();
  if (out.empty()) out = absl::StrCat("out/", Stem(config_path));
  out = UserPath(out);
  const std::string snapshot_path = absl::StrCat(out, "/", kSnapshotFileName);
  const bool resume = settings.resume;
  const std::string model_path = out + "/model.safetensors";
  if (writes) {
    MNEMO_RETURN_IF_ERROR(PrepareOutputDirectory(out));
    if (!resume) {
      MNEMO_RETURN_IF_ERROR(CheckNoSnapshotToLose(snapshot_path));
    }
    MNEMO_RETURN_IF_ERROR(
        CheckNoFinishedRunToReplace(model_path, snapshot_path, settings.overwrite));
    for (const char* name : {"model.safetensors", kSnapshotFileName, "metrics.csv", "metrics.json",
                             "steps.csv", "training.svg"}) {
      if (absl::StatusOr<int> removed = RemoveStaleTemporaryFiles(absl::StrCat(out, "/", name));
          !removed.ok()) {
        return removed.status();
      }
    }
  }
  // Rank 0's checks above may refuse the run: the others wait for them, and
  // for its first snapshot, before they read the directory.
  const auto agree = [&communicator](absl::Status status) -> absl::Status {
    if (communicator->size() == 1) return status;
    float failed = status.ok() ? 0.0f : 1.0f;
    MNEMO_RETURN_IF_ERROR(communicator->AllReduceSum(absl::MakeSpan(&failed, 1)));
    if (status.ok() && failed > 0) {
      return absl::AbortedError("another rank could not start the run (rank 0 says why)");
    }
    return status;
  };

  say(absl::StrFormat("config  %s", config_path));
  MNEMO_ASSIGN_OR_RETURN(TrainTestData data, LoadData(experiment));
  say(absl::StrFormat("data    %d training, %d validation and %d test samples of %d features",
                      data.train.size(), data.validation.size(), data.test.size(),
                      data.train.feature_dim()));
  if (data.augmentation.has_value()) {
    say(absl::StrFormat("augment %s", DescribeAugmentation(*data.augmentation)));
  }
  const bool regression = IsRegression(experiment.model().loss());

  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Network> network,
                         BuildNetwork(*loaded, Registries::Global()));
  say(absl::StrFormat("model   %s", DescribeNetwork(*network)));
  say(absl::StrFormat("backend %s, %d thread%s", network->backend().name(),
                      network->backend().threads(), network->backend().threads() == 1 ? "" : "s"));
  std::fflush(stdout);  // before the progress lines on stderr

  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Optimizer> optimizer,
                         CreateOptimizer(experiment.trainer().optimizer()));
  MNEMO_ASSIGN_OR_RETURN(Trainer trainer, Trainer::Create(experiment.trainer(), network.get(),
                                                          optimizer.get(), communicator.get()));
  if (communicator->size() > 1) {
    say(absl::StrFormat("ranks   %d (%s): each computes its share of every batch of %d",
                        communicator->size(), communicator->name(),
                        experiment.trainer().batch_size()));
  }
  // Before anything is written: a snapshot of a run that cannot train would
  // only stand in the way of the corrected one.
  MNEMO_RETURN_IF_ERROR(WithPrefix(trainer.CheckData(data), DataSource(experiment.data())));
  // All of the optimizer's state now, so that the space check below sees it.
  optimizer->CreateState(*network);

  if (writes) MNEMO_RETURN_IF_ERROR(CheckRoomForOutputs(out, *network, *optimizer));

  std::unique_ptr<TrainRunObserver> observer;
  if (callbacks.make_observer && writes) observer = callbacks.make_observer(experiment, *network);
  SnapshottedRun::Options run_options;
  run_options.snapshot_path = snapshot_path;
  run_options.schedule = schedule;
  run_options.resume = resume;
  run_options.training_config = TrainingConfigText(experiment);
  run_options.epochs = experiment.trainer().epochs();
  run_options.on_written = [&observer](const TrainingProgress& p, absl::Duration took) {
    if (observer) observer->OnSnapshotWritten(p, took);
  };
  run_options.stop_requested = callbacks.stop_requested;
  run_options.say = say;
  run_options.write = writes;
  // Rank 0 writes the first snapshot (or finds the one to resume) first.
  absl::StatusOr<std::unique_ptr<SnapshottedRun>> started;
  if (writes) {
    started = SnapshottedRun::Start(&trainer.model(), optimizer.get(), run_options);
  }
  MNEMO_RETURN_IF_ERROR(agree(writes ? started.status() : absl::OkStatus()));
  if (!writes) started = SnapshottedRun::Start(&trainer.model(), optimizer.get(), run_options);
  MNEMO_RETURN_IF_ERROR(agree(started.status()));
  const std::unique_ptr<SnapshottedRun> run = *std::move(started);
  MNEMO_RETURN_IF_ERROR(run->Train(trainer, data, observer.get(), callbacks.resume_command));
  if (!writes) {
    result.out = out;
    result.history = run->progress().history;
    return result;
  }

  const std::vector<EpochMetrics>& history = run->progress().history;
  std::string config_text;
  google::protobuf::TextFormat::PrintToString(experiment, &config_text);
  if (absl::Status s = SaveModel(model_path, *network, config_text, data.names); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(s.message(), run->KeptSnapshot(),
                                               " (--resume writes the outputs again)"));
  }
  MNEMO_RETURN_IF_ERROR(WriteMetrics(out, config_path, history));
  // Every step's rate, from the schedule and the whole history: complete
  // after a resume too.
  MNEMO_ASSIGN_OR_RETURN(const std::vector<double> step_rates,
                         trainer.StepRates(data.train.size(), history));
  MNEMO_RETURN_IF_ERROR(WriteSteps(
      out, step_rates, NumBatches(data.train.size(), experiment.trainer().batch_size())));
  const bool plot = !experiment.output().has_plot() || experiment.output().plot();
  if (plot) {
    MNEMO_RETURN_IF_ERROR(WriteTrainingPlot(out + "/training.svg", Stem(config_path), history,
                                            regression, step_rates));
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
    say(absl::StrFormat(
        "%s; the model saved is epoch %d's (%s %.4f)",
        progress.stopped_early ? absl::StrFormat("stopped early after epoch %d", last.epoch)
                               : absl::StrFormat("trained %d epochs", last.epoch),
        progress.best_epoch, EarlyStoppingFigure(experiment.trainer().early_stopping()),
        progress.best_value));
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
  std::string headline;
  if (data.test.size() == 0 && data.validation.size() == 0) {
    headline = "no test or validation set";
  } else if (regression) {
    headline = absl::StrFormat("%s RMSE %.4f, MAE %.4f, R^2 %.4f", set, figure("rmse"),
                               figure("mae"), figure("r2"));
  } else {
    headline = absl::StrFormat("%s accuracy %.4f, macro-F1 %.4f", set,
                               data.test.size() > 0 ? kept.test_accuracy : figure("accuracy"),
                               figure("macro_f1"));
  }
  // The training passes alone, as metrics.csv's train_seconds (not loading,
  // evaluation or snapshots): what a recipe's time is quoted in.
  double train_seconds = 0;
  for (const EpochMetrics& m : history) train_seconds += m.train_seconds;
  say(absl::StrFormat(
      "%s after %d epochs%s; %.1f s of training", headline, kept.epoch,
      skipped > 0 ? absl::StrFormat(" (%d steps skipped for non-finite values)", skipped) : "",
      train_seconds));
  say(absl::StrFormat("wrote   %s, %s/metrics.csv, %s/metrics.json, %s/steps.csv%s", model_path,
                      out, out, out, plot ? absl::StrCat(", ", out, "/training.svg") : ""));

  result.out = out;
  result.model_path = model_path;
  result.metrics_csv = absl::StrCat(out, "/metrics.csv");
  result.metrics_json = absl::StrCat(out, "/metrics.json");
  result.steps_csv = absl::StrCat(out, "/steps.csv");
  if (plot) result.plot = absl::StrCat(out, "/training.svg");
  result.regression = regression;
  result.train_samples = data.train.size();
  result.validation_samples = data.validation.size();
  result.test_samples = data.test.size();
  result.features = data.train.feature_dim();
  result.history = history;
  result.best_epoch = progress.best_epoch;
  result.best_value = progress.best_value;
  result.stopped_early = progress.stopped_early;
  result.kept_epoch = kept.epoch;
  if (data.test.size() > 0 || data.validation.size() > 0) result.headline_set = set;
  result.skipped_steps = skipped;
  return result;
}

}  // namespace mnemo
