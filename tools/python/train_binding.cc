#include "tools/python/train_binding.h"

#include <cmath>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/trainer.h"
#include "tools/paths.h"
#include "tools/python/status_error.h"
#include "tools/train_run.h"

namespace mnemo::python {
namespace {

namespace py = pybind11;

const char* const kSettings[] = {"epochs",
                                 "batch_size",
                                 "learning_rate",
                                 "seed",
                                 "train_limit",
                                 "test_limit",
                                 "threads",
                                 "data_dir",
                                 "overwrite",
                                 "resume",
                                 "snapshot_every_steps",
                                 "snapshot_every_seconds",
                                 "verbose"};

// One keyword argument as the C++ type of its setting; TypeError naming it.
template <typename T>
T SettingAs(const std::string& key, const py::handle& value) {
  // A bool is an int to Python; only `overwrite`, `resume` and `verbose` take one.
  if (!std::is_same_v<T, bool> && py::isinstance<py::bool_>(value)) {
    throw py::type_error(absl::StrCat(key, " must be a number, not a bool"));
  }
  if (std::is_integral_v<T> && !std::is_same_v<T, bool> && py::isinstance<py::float_>(value)) {
    throw py::type_error(absl::StrCat(key, " must be an int, not a float"));
  }
  try {
    return value.cast<T>();
  } catch (const py::cast_error&) {
    throw py::type_error(absl::StrCat(key, " must be ",
                                      std::is_same_v<T, std::string> ? "a str"
                                      : std::is_same_v<T, bool>      ? "a bool"
                                      : std::is_integral_v<T>        ? "an int"
                                                                     : "a number",
                                      ", not ",
                                      std::string(py::str(value.get_type().attr("__name__")))));
  }
}

// A Python value as protobuf text for ApplyFieldOverride.
std::string OverrideText(const std::string& key, const py::handle& value) {
  if (py::isinstance<py::bool_>(value)) return value.cast<bool>() ? "true" : "false";
  if (py::isinstance<py::int_>(value) || py::isinstance<py::float_>(value)) {
    return std::string(py::repr(value));
  }
  if (py::isinstance<py::str>(value)) return value.cast<std::string>();
  throw py::type_error(absl::StrCat("overrides[\"", key,
                                    "\"] must be a bool, int, float or str, not ",
                                    std::string(py::str(value.get_type().attr("__name__")))));
}

py::dict EpochDict(const EpochMetrics& m) {
  py::dict d;
  d["epoch"] = m.epoch;
  d["train_loss"] = m.train_loss;
  d["train_accuracy"] = m.train_accuracy;
  d["test_loss"] = m.test_loss;
  d["test_accuracy"] = m.test_accuracy;
  d["seconds"] = m.train_seconds;
  d["samples_per_second"] = m.samples_per_second;
  d["skipped_steps"] = m.skipped_steps;
  d["learning_rate"] = m.learning_rate;
  // The model's own figures ("val_accuracy", "test_macro_f1", ...).
  for (const auto& [name, value] : m.figures) {
    if (!d.contains(name.c_str())) d[py::str(name)] = value;
  }
  return d;
}

// Calls the Python progress callable after each epoch, and polls Python's
// signal handlers between steps (Ctrl-C stops the run with a snapshot). The
// first Python exception stops the run and is kept for Train to raise.
class PythonProgress {
 public:
  explicit PythonProgress(py::object callback) : callback_(std::move(callback)) {}

  // From the training thread, with the GIL released.
  void EpochEnded(const EpochMetrics& m) {
    py::gil_scoped_acquire gil;
    if (error_) return;
    try {
      if (!callback_.is_none()) callback_(EpochDict(m));
    } catch (py::error_already_set& e) {
      error_ = std::move(e);
    }
  }
  bool StopRequested() {
    py::gil_scoped_acquire gil;
    if (!error_ && PyErr_CheckSignals() != 0) error_ = py::error_already_set();
    return error_.has_value();
  }

  // With the GIL held.
  std::optional<py::error_already_set>& error() { return error_; }

 private:
  py::object callback_;
  std::optional<py::error_already_set> error_;
};

class ObserverAdapter : public TrainRunObserver {
 public:
  explicit ObserverAdapter(PythonProgress* progress) : progress_(progress) {}
  void OnEpochEnd(const EpochMetrics& m) override { progress_->EpochEnded(m); }

 private:
  PythonProgress* progress_;
};

// The kept epoch's figures on the headline set, without the set's prefix.
py::dict FinalFigures(const TrainResult& r) {
  py::dict d;
  if (r.headline_set.empty() || r.kept_epoch == 0) return d;
  const EpochMetrics& kept = r.history[r.kept_epoch - 1];
  const std::string prefix = r.headline_set == "test" ? "test_" : "val_";
  d["set"] = r.headline_set;
  d["epoch"] = r.kept_epoch;
  for (const auto& [name, value] : kept.figures) {
    if (name.rfind(prefix, 0) == 0) d[py::str(name.substr(prefix.size()))] = value;
  }
  if (r.headline_set == "test" && !r.regression) {
    // As tools/train reports it.
    d["accuracy"] = kept.test_accuracy;
    if (!d.contains("loss")) d["loss"] = kept.test_loss;
  }
  return d;
}

}  // namespace

const char kTrainDoc[] = R"doc(Trains the model a config describes, as tools/train does.

    result = mnemo.train("configs/cancer_csv.pbtxt", out="/tmp/run", epochs=3,
                         overrides={"trainer.optimizer.learning_rate": 0.01},
                         progress=lambda e: print(e["epoch"], e["train_loss"]))

Args:
  config: the experiment config (.pbtxt), found as tools/train finds it.
  out: the output directory; None: the config's output.dir, else
    out/<config name>.
  overrides: {"field.path": value} set in the config after it is loaded
    ("trainer.epochs": 3, "trainer.nonfinite": "SKIP_STEP",
    "data.dir": "/data"): singular fields only; each checked against the
    field's range. Applied after the keyword settings.
  progress: called after every epoch with a dict: epoch, train_loss,
    train_accuracy, test_loss, test_accuracy, seconds, samples_per_second,
    skipped_steps, learning_rate (the epoch's last step's) and the model's
    figures (val_loss, val_accuracy, test_macro_f1, ...). An exception it raises (or Ctrl-C) stops the run
    after the step under way, with a snapshot in `out` that resume=True
    continues from, and is raised by train.
  **settings: tools/train's flags: epochs, batch_size, learning_rate, seed,
    train_limit, test_limit, threads, data_dir, overwrite, resume,
    snapshot_every_steps, snapshot_every_seconds; and verbose=True to print
    tools/train's lines (config, data, model, summary) to sys.stdout.

Returns:
  A dict: history (one dict per epoch, as given to `progress`), final (the
  saved epoch's figures on the test set, else the validation set: accuracy,
  loss, macro_f1, ...; rmse, mae, r2 for a regression), model_path,
  metrics_csv, metrics_json, steps_csv (the rate of every step), plot (None
  without one), out, config, kept_epoch, best_epoch (0 without early
  stopping), stopped_early, skipped_steps, samples {train, validation, test,
  features}.

Raises:
  ValueError for a bad setting or override (naming it), FileNotFoundError for
  a missing config or data file, RuntimeError for other errors; TypeError for
  an unknown keyword argument.
)doc";

py::dict Train(const std::string& config, const py::object& out, const py::object& overrides,
               const py::object& progress, const py::kwargs& settings) {
  TrainSettings s;
  s.flag_prefix = "";
  s.config_path = ValueOrThrow(FindInputFile(config));
  if (!out.is_none()) s.out = SettingAs<std::string>("out", out);
  bool verbose = false;
  for (const auto& [key_handle, value] : settings) {
    const std::string key = py::str(key_handle);
    if (value.is_none()) continue;  // as the config says
    if (key == "epochs") {
      s.epochs = SettingAs<int>(key, value);
      if (s.epochs == 0) CheckOk(absl::InvalidArgumentError("epochs must be > 0, not 0"));
    } else if (key == "batch_size") {
      s.batch_size = SettingAs<int>(key, value);
      if (s.batch_size == 0) CheckOk(absl::InvalidArgumentError("batch_size must be > 0, not 0"));
    } else if (key == "learning_rate") {
      s.learning_rate = SettingAs<double>(key, value);
      if (!(s.learning_rate > 0)) CheckOk(absl::InvalidArgumentError("learning_rate must be > 0"));
    } else if (key == "seed") {
      s.seed = SettingAs<int64_t>(key, value);
      if (s.seed < 0) CheckOk(absl::InvalidArgumentError("seed must be >= 0"));
    } else if (key == "train_limit") {
      s.train_limit = SettingAs<int>(key, value);
    } else if (key == "test_limit") {
      s.test_limit = SettingAs<int>(key, value);
    } else if (key == "threads") {
      s.threads = SettingAs<int>(key, value);
    } else if (key == "data_dir") {
      s.data_dir = SettingAs<std::string>(key, value);
    } else if (key == "overwrite") {
      s.overwrite = SettingAs<bool>(key, value);
    } else if (key == "resume") {
      s.resume = SettingAs<bool>(key, value);
    } else if (key == "snapshot_every_steps") {
      s.snapshot_every_steps = SettingAs<int64_t>(key, value);
    } else if (key == "snapshot_every_seconds") {
      s.snapshot_every_seconds = SettingAs<double>(key, value);
    } else if (key == "verbose") {
      verbose = SettingAs<bool>(key, value);
    } else {
      throw py::type_error(absl::StrCat("train() got an unexpected keyword argument '", key,
                                        "'; the settings are: out, overrides, progress, ",
                                        absl::StrJoin(kSettings, ", ")));
    }
  }
  if (!overrides.is_none()) {
    if (!py::isinstance<py::dict>(overrides)) {
      throw py::type_error("overrides must be a dict of {\"field.path\": value}");
    }
    for (const auto& [key, value] : py::reinterpret_borrow<py::dict>(overrides)) {
      const std::string path = py::str(key);
      s.field_overrides.emplace_back(path, OverrideText(path, value));
    }
  }
  if (!progress.is_none() && !PyCallable_Check(progress.ptr())) {
    throw py::type_error("progress must be callable (it is given a dict per epoch)");
  }

  PythonProgress python_progress(progress);
  py::object write = py::module_::import("sys").attr("stdout").attr("write");
  TrainRunCallbacks callbacks;
  if (verbose) {
    callbacks.say = [&write](const std::string& line) {
      py::gil_scoped_acquire gil;
      try {
        write(line + "\n");
      } catch (py::error_already_set&) {
        // A closed stdout does not stop the run.
      }
    };
  }
  callbacks.make_observer = [&python_progress](const config::Experiment&, Network&) {
    return std::make_unique<ObserverAdapter>(&python_progress);
  };
  callbacks.stop_requested = [&python_progress] { return python_progress.StopRequested(); };
  callbacks.resume_command = absl::StrCat("mnemo.train(", std::string(py::repr(py::str(config))),
                                          ", out=..., resume=True) with the same settings");
  absl::StatusOr<TrainResult> result;
  {
    py::gil_scoped_release release;
    result = RunTraining(s, callbacks);
  }
  if (std::optional<py::error_already_set>& error = python_progress.error()) {
    // The callback's exception (or KeyboardInterrupt) is what the caller sees;
    // the run's Aborted message says where its snapshot is.
    error->restore();
    throw py::error_already_set();
  }
  const TrainResult& r = ValueOrThrow(std::move(result));
  py::dict d;
  py::list history;
  for (const EpochMetrics& m : r.history) history.append(EpochDict(m));
  d["history"] = history;
  d["final"] = FinalFigures(r);
  d["model_path"] = r.model_path;
  d["metrics_csv"] = r.metrics_csv;
  d["metrics_json"] = r.metrics_json;
  d["steps_csv"] = r.steps_csv;
  d["plot"] = r.plot.empty() ? py::object(py::none()) : py::object(py::str(r.plot));
  d["out"] = r.out;
  d["config"] = r.config_path;
  d["kept_epoch"] = r.kept_epoch;
  d["best_epoch"] = r.best_epoch;
  d["stopped_early"] = r.stopped_early;
  d["skipped_steps"] = r.skipped_steps;
  py::dict samples;
  samples["train"] = r.train_samples;
  samples["validation"] = r.validation_samples;
  samples["test"] = r.test_samples;
  samples["features"] = r.features;
  d["samples"] = samples;
  return d;
}

}  // namespace mnemo::python
