// A hyperparameter sweep over a model's head, in one process:
//
//   ./bazelw run //tools:sweep -- --learning_rates=0.05,0.1,0.2 --epochs=5
//
// (--config=configs/frozen_backbone_memo.pbtxt is the default; add
// --head_sizes=0,64 to vary the head as well.)
//
// Trains one run per learning rate and head size (every combination), each a
// fresh network built from the config. With a memo named in the config
// (configs/frozen_backbone_memo.pbtxt), the runs share it: the frozen
// backbone runs on each distinct sample once, in the first run's first epoch
// and first evaluation, and every later epoch and run looks its outputs up.
// Prints each run's epochs, then a table, then how often the backbone ran.
//
// --head_sizes: 0 keeps the config's head; h > 0 puts a Dense(h) + ReLU
// before the output layer (the last one), after the frozen layers.

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/config_loader.h"
#include "core/model_builder.h"
#include "core/optimizer.h"
#include "core/status_macros.h"
#include "core/trainer.h"
#include "tools/data/readers.h"
#include "tools/paths.h"
#include "tools/strategy_stats.h"
#include "tools/tool_main.h"

ABSL_FLAG(std::string, config, "configs/frozen_backbone_memo.pbtxt", "experiment config");
ABSL_FLAG(std::vector<std::string>, learning_rates, {},
          "comma-separated learning rates; empty = the config's");
ABSL_FLAG(std::vector<std::string>, head_sizes, {},
          "comma-separated hidden widths of the head; 0 = the config's head; empty = 0");
ABSL_FLAG(int, epochs, 0, "epochs per run; 0 = as the config says");
ABSL_FLAG(int, train_limit, -1, "use the first N training samples; -1 = as the config says");
ABSL_FLAG(int, test_limit, -1, "use the first N test samples; -1 = as the config says");

namespace mnemo {
namespace {

struct RunSpec {
  double learning_rate;
  int head_size;  // 0 = the config's head
};

struct RunResult {
  RunSpec spec;
  std::vector<double> epoch_seconds;
  double test_accuracy = 0;
  // -1 when the strategy has no such counter (no memo).
  double rows_computed = -1, hits = -1, misses = -1;
};

double Counter(const CacheStats& stats, const std::string& name) {
  for (const auto& [key, value] : stats.counters) {
    if (key == name) return value;
  }
  return -1;
}

std::string Count(double value) { return value < 0 ? "-" : absl::StrFormat("%.0f", value); }

absl::StatusOr<std::vector<RunSpec>> Specs(const config::Experiment& experiment) {
  std::vector<double> rates;
  for (const std::string& text : absl::GetFlag(FLAGS_learning_rates)) {
    double rate;
    if (!absl::SimpleAtod(text, &rate) || rate <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--learning_rates: \"", text, "\" is not a number > 0"));
    }
    rates.push_back(rate);
  }
  if (rates.empty()) rates.push_back(experiment.trainer().optimizer().learning_rate());
  std::vector<int> heads;
  for (const std::string& text : absl::GetFlag(FLAGS_head_sizes)) {
    int size;
    if (!absl::SimpleAtoi(text, &size) || size < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--head_sizes: \"", text, "\" is not a width >= 0"));
    }
    heads.push_back(size);
  }
  if (heads.empty()) heads.push_back(0);
  std::vector<RunSpec> specs;
  for (int head : heads) {
    for (double rate : rates) specs.push_back({rate, head});
  }
  return specs;
}

// The config's experiment with the run's learning rate (with a schedule, its
// base: the peak of one_cycle) and head.
absl::Status Apply(const RunSpec& spec, config::Experiment& experiment) {
  config::Trainer& trainer = *experiment.mutable_trainer();
  trainer.mutable_optimizer()->set_learning_rate(static_cast<float>(spec.learning_rate));
  if (int v = absl::GetFlag(FLAGS_epochs); v > 0) trainer.set_epochs(v);
  if (int v = absl::GetFlag(FLAGS_train_limit); v >= 0) {
    experiment.mutable_data()->set_train_limit(v);
  }
  if (int v = absl::GetFlag(FLAGS_test_limit); v >= 0) experiment.mutable_data()->set_test_limit(v);
  if (spec.head_size == 0) return absl::OkStatus();

  config::Model& model = *experiment.mutable_model();
  const int last = model.layer_size() - 1;
  if (last < 0 || (model.layer(last).has_trainable() && !model.layer(last).trainable())) {
    return absl::InvalidArgumentError(
        "--head_sizes needs a trainable output layer (the model's last layer)");
  }
  const config::Layer output = model.layer(last);
  config::Layer& hidden = *model.mutable_layer(last);
  hidden = config::Layer();
  hidden.set_type("Dense");
  hidden.set_units(spec.head_size);
  hidden.set_activation("ReLU");
  *model.add_layer() = output;
  return absl::OkStatus();
}

// Records each epoch's training time as the trainer reports it.
class EpochPrinter : public TrainingObserver {
 public:
  EpochPrinter(RunResult* result, const CacheStrategy& strategy)
      : result_(result), strategy_(strategy) {}
  void OnEpochEnd(const EpochMetrics& m) override {
    result_->epoch_seconds.push_back(m.train_seconds);
    const CacheStats stats = strategy_.stats();
    absl::PrintF("  epoch %2d  train loss %.4f  test acc %.4f  lr %.3g  %.3fs", m.epoch,
                 m.train_loss, m.test_accuracy, m.learning_rate, m.train_seconds);
    if (double computed = Counter(stats, "rows_computed"); computed >= 0) {
      absl::PrintF("  backbone rows computed %s, reused %s", Count(computed),
                   Count(Counter(stats, "rows_reused")));
    }
    absl::PrintF("\n");
    std::fflush(stdout);
  }

 private:
  RunResult* result_;
  const CacheStrategy& strategy_;
};

absl::StatusOr<RunResult> TrainOne(const std::string& config_path, const RunSpec& spec,
                                   const TrainTestData& data) {
  // Each run reads the config afresh (plugins load once per process).
  ConfigLoader loader;
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<LoadedConfig> loaded, loader.LoadFile(config_path));
  config::Experiment& experiment = loaded->mutable_experiment();
  MNEMO_RETURN_IF_ERROR(Apply(spec, experiment));
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Network> network,
                         BuildNetwork(*loaded, Registries::Global()));
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Optimizer> optimizer,
                         CreateOptimizer(experiment.trainer().optimizer()));
  MNEMO_ASSIGN_OR_RETURN(Trainer trainer,
                         Trainer::Create(experiment.trainer(), network.get(), optimizer.get()));

  RunResult result;
  result.spec = spec;
  const CacheStats before = network->strategy().stats();
  EpochPrinter printer(&result, network->strategy());
  // Run over TrainTestData, not Fit: the data's augmentation applies, and
  // the validation set is there for early stopping and a plateau schedule.
  TrainingProgress progress;
  MNEMO_RETURN_IF_ERROR(trainer.Run(data, &progress, &printer));
  const std::vector<EpochMetrics>& history = progress.history;
  const CacheStats after = network->strategy().stats();
  result.test_accuracy = history.back().test_accuracy;
  result.rows_computed = Counter(after, "rows_computed");
  if (Counter(after, "hits") >= 0) {
    // The memo's totals, shared with earlier runs: this run's part.
    result.hits = Counter(after, "hits") - Counter(before, "hits");
    result.misses = Counter(after, "misses") - Counter(before, "misses");
  }
  absl::PrintF("  %s\n", FormatCacheStats(after));
  return result;
}

std::string Head(int size) { return size == 0 ? "config" : absl::StrCat(size); }

absl::Status Run() {
  MNEMO_ASSIGN_OR_RETURN(std::string config_path, FindInputFile(absl::GetFlag(FLAGS_config)));
  ConfigLoader loader;
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<LoadedConfig> loaded, loader.LoadFile(config_path));
  MNEMO_ASSIGN_OR_RETURN(std::vector<RunSpec> specs, Specs(loaded->experiment()));
  // One data set for every run: the flags that limit it apply alike to all.
  MNEMO_RETURN_IF_ERROR(Apply(specs.front(), loaded->mutable_experiment()));
  MNEMO_ASSIGN_OR_RETURN(TrainTestData data, LoadData(loaded->experiment()));
  absl::PrintF("sweep   %s: %d runs on %d training and %d test samples\n", config_path,
               specs.size(), data.train.size(), data.test.size());

  std::vector<RunResult> results;
  for (size_t i = 0; i < specs.size(); ++i) {
    const RunSpec& spec = specs[i];
    const std::string& schedule = loaded->experiment().trainer().optimizer().schedule().type();
    absl::PrintF("run %d/%d: learning rate %g%s, head %s\n", i + 1, specs.size(),
                 spec.learning_rate,
                 schedule.empty() || schedule == "constant"
                     ? ""
                     : absl::StrCat(" (the base of the ", schedule, " schedule)"),
                 Head(spec.head_size));
    std::fflush(stdout);
    MNEMO_ASSIGN_OR_RETURN(RunResult result, TrainOne(config_path, spec, data));
    results.push_back(std::move(result));
  }

  absl::PrintF("\n%4s  %8s  %6s  %9s  %12s  %9s  %14s  %10s  %10s\n", "run", "lr", "head",
               "epoch 1 s", "later mean s", "test acc", "rows computed", "memo hits",
               "misses");
  double computed_total = 0;
  bool counted = false;
  for (size_t i = 0; i < results.size(); ++i) {
    const RunResult& r = results[i];
    double later = 0;
    for (size_t e = 1; e < r.epoch_seconds.size(); ++e) later += r.epoch_seconds[e];
    const size_t later_count = r.epoch_seconds.size() - 1;
    absl::PrintF("%4d  %8g  %6s  %9.3f  %12s  %9.4f  %14s  %10s  %10s\n", i + 1,
                 r.spec.learning_rate, Head(r.spec.head_size), r.epoch_seconds[0],
                 later_count > 0 ? absl::StrFormat("%.3f", later / later_count) : "-",
                 r.test_accuracy, Count(r.rows_computed), Count(r.hits), Count(r.misses));
    if (r.rows_computed >= 0) {
      computed_total += r.rows_computed;
      counted = true;
    }
  }
  if (counted) {
    const int distinct = data.train.size() + data.validation.size() + data.test.size();
    absl::PrintF(
        "\nthe memoized backbone ran on %.0f rows over %d runs, for %d distinct samples "
        "(%d training + %s%d test): %s\n",
        computed_total, results.size(), distinct, data.train.size(),
        data.validation.size() > 0 ? absl::StrCat(data.validation.size(), " validation + ") : "",
        data.test.size(),
        computed_total <= distinct ? "once per sample" : "more than once (evictions?)");
  } else {
    absl::PrintF("\nno memo in this config: every run ran the whole network\n");
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace mnemo

int main(int argc, char** argv) {
  return mnemo::RunTool(
      argc, argv, "sweep",
      "Trains a config's head once per learning rate and head size, in one process.\n"
      "  bazel run //tools:sweep -- --config=FILE --learning_rates=0.05,0.1 "
      "[--head_sizes=0,64] [--epochs=N]",
      &mnemo::Run);
}
