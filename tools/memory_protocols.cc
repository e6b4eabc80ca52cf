#include "tools/memory_protocols.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "core/optimizer.h"
#include "core/status_macros.h"
#include "core/trainer.h"
#include "google/protobuf/text_format.h"
#include "memory_modules/classifier/dual_path_classifier.h"
#include "memory_modules/classifier/dual_path_evaluation.h"
#include "tools/data/class_selection.h"
#include "tools/data/readers.h"
#include "tools/run_snapshots.h"
#include "tools/svg_plot.h"

namespace mnemo {
namespace {

// One line per epoch on stderr: these runs are long and many.
class EpochLines : public TrainingObserver {
 public:
  EpochLines(std::string label, int epochs) : label_(std::move(label)), epochs_(epochs) {}
  void OnEpochEnd(const EpochMetrics& epoch) override {
    const DualPathEpochMetrics m = DualPathMetricsOf(epoch);
    absl::FPrintF(stderr, "%s epoch %d/%d  loss %.4f  test acc %.4f (network %.4f)  %.1fs\n",
                  label_, m.epoch, epochs_, m.train_loss, m.test.accuracy, m.test.network_accuracy,
                  m.train_seconds);
  }

 private:
  std::string label_;
  int epochs_;
};

std::string ConfigText(const config::Experiment& experiment) {
  std::string text;
  google::protobuf::TextFormat::PrintToString(experiment, &text);
  return text;
}

// The classifier `config` describes, trained on `data` and saved, or loaded
// from the model file (ModelFile).
absl::StatusOr<std::unique_ptr<DualPathClassifier>> TrainOrLoad(const LoadedConfig& config,
                                                                const TrainTestData& data,
                                                                const std::string& label,
                                                                const ModelFile& model) {
  const config::Experiment& experiment = config.experiment();
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<DualPathClassifier> classifier,
                         DualPathClassifier::Create(config));
  if (model.reuse && FileExists(model.path)) {
    absl::FPrintF(stderr, "%s: the model of %s\n", label, model.path);
    MNEMO_RETURN_IF_ERROR(classifier->Load(model.path));
    return classifier;
  }
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Optimizer> optimizer,
                         CreateOptimizer(experiment.trainer().optimizer()));
  MNEMO_ASSIGN_OR_RETURN(Trainer trainer,
                         Trainer::Create(experiment.trainer(), classifier.get(), optimizer.get()));
  TrainingProgress progress;
  EpochLines observer(label, experiment.trainer().epochs());
  MNEMO_RETURN_IF_ERROR(trainer.Run(data, &progress, &observer));
  MNEMO_RETURN_IF_ERROR(classifier->Save(model.path, ConfigText(experiment)));
  return classifier;
}

std::string RunLabel(const std::string& protocol, const config::Experiment& experiment,
                     ClassPair pair) {
  return absl::StrCat(protocol, " ", experiment.memory_module().type(), " pair ", pair.Name());
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// Results grouped by (module, examples), in first-seen module order.
template <typename Result>
std::vector<std::pair<std::pair<std::string, int>, std::vector<const Result*>>> Groups(
    const std::vector<Result>& results) {
  std::vector<std::pair<std::pair<std::string, int>, std::vector<const Result*>>> groups;
  for (const Result& r : results) {
    const std::pair<std::string, int> key{r.module, r.examples};
    auto at = std::find_if(groups.begin(), groups.end(),
                           [&](const auto& group) { return group.first == key; });
    if (at == groups.end()) {
      groups.push_back({key, {}});
      at = groups.end() - 1;
    }
    at->second.push_back(&r);
  }
  return groups;
}

// The median over a group's pairs of `figure`, and the worst pair's value
// with its name, the worst being the pair where `figure` is lowest.
struct PairFigure {
  double median = 0;
  double worst = 0;
  std::string worst_pair;
};

template <typename Result>
PairFigure OverPairs(const std::vector<const Result*>& group,
                     const std::function<double(const Result&)>& figure) {
  PairFigure out;
  std::vector<double> values;
  const Result* worst = nullptr;
  for (const Result* r : group) {
    values.push_back(figure(*r));
    if (worst == nullptr || figure(*r) < figure(*worst)) worst = r;
  }
  out.median = Median(values);
  out.worst = figure(*worst);
  out.worst_pair = worst->pair.Name();
  return out;
}

std::string Points(double fraction) { return absl::StrFormat("%.1f", 100 * fraction); }

// A chart per module of `series` (name, figure) against the examples: each
// series' median over the pairs, and its worst pair's value.
template <typename Result>
std::string Plot(
    const std::vector<Result>& results, const std::string& title, const std::string& x_label,
    const std::vector<std::pair<std::string, std::function<double(const Result&)>>>& series) {
  std::vector<Chart> charts;
  std::vector<std::string> modules;
  for (const Result& r : results) {
    if (std::find(modules.begin(), modules.end(), r.module) == modules.end()) {
      modules.push_back(r.module);
    }
  }
  const auto groups = Groups(results);
  for (const std::string& module : modules) {
    Chart chart;
    chart.title = absl::StrCat(title, ": ", module);
    chart.x_label = x_label;
    chart.y_label = "% (median over the pairs, and the worst pair)";
    std::vector<PlotSeries> medians, worsts;
    for (const auto& [name, figure] : series) {
      medians.push_back({absl::StrCat(name, " (median)"), {}});
      worsts.push_back({absl::StrCat(name, " (worst pair)"), {}});
    }
    for (const auto& [key, group] : groups) {
      if (key.first != module) continue;
      chart.x.push_back(key.second);
      for (size_t s = 0; s < series.size(); ++s) {
        const PairFigure f = OverPairs<Result>(group, series[s].second);
        medians[s].y.push_back(100 * f.median);
        worsts[s].y.push_back(100 * f.worst);
      }
    }
    for (PlotSeries& s : medians) chart.series.push_back(std::move(s));
    for (PlotSeries& s : worsts) chart.series.push_back(std::move(s));
    charts.push_back(std::move(chart));
  }
  return RenderSvg(charts);
}

}  // namespace

std::string ClassPair::Name() const { return absl::StrCat("(", first, ",", second, ")"); }

absl::StatusOr<std::vector<ClassPair>> ParsePairs(const std::string& text,
                                                  const std::string& flag) {
  std::vector<ClassPair> pairs;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    const std::vector<absl::string_view> parts = absl::StrSplit(item, '-');
    ClassPair pair;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &pair.first) ||
        !absl::SimpleAtoi(parts[1], &pair.second) || pair.first < 0 || pair.second < 0 ||
        pair.first == pair.second) {
      return absl::InvalidArgumentError(absl::StrCat(
          flag, ": \"", item, "\" is not a pair of two different classes such as 0-1"));
    }
    pairs.push_back(pair);
  }
  if (pairs.empty()) return absl::InvalidArgumentError(absl::StrCat(flag, " names no pair"));
  return pairs;
}

absl::StatusOr<RareClassResult> RunRareClasses(ConfigSource config, ClassPair pair, int examples,
                                               const ModelFile& model) {
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<LoadedConfig> loaded, config());
  config::Experiment& experiment = loaded->mutable_experiment();
  config::ClassSubsample& rare = *experiment.mutable_data()->mutable_rare_classes();
  rare.clear_classes();
  rare.add_classes(pair.first);
  rare.add_classes(pair.second);
  rare.set_keep(examples);
  MNEMO_ASSIGN_OR_RETURN(TrainTestData data, LoadData(experiment));
  const std::string label =
      absl::StrCat(RunLabel("rare", experiment, pair), " kept ", examples, " each");
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<DualPathClassifier> classifier,
                         TrainOrLoad(*loaded, data, label, model));
  MNEMO_ASSIGN_OR_RETURN(DualPathEvaluation e, EvaluateDualPath(*classifier, data.test,
                                                                experiment.trainer().batch_size()));
  const std::vector<int> classes = pair.classes();
  RareClassResult r;
  r.module = experiment.memory_module().type();
  r.pair = pair;
  r.examples = examples;
  r.network_recall = Recall(e.by_class, e.by_class.network_correct, classes);
  r.memory_recall = Recall(e.by_class, e.by_class.memory_correct, classes);
  r.dual_recall = Recall(e.by_class, e.by_class.correct, classes);
  r.network_others = RecallOfOthers(e.by_class, e.by_class.network_correct, classes);
  r.dual_others = RecallOfOthers(e.by_class, e.by_class.correct, classes);
  absl::FPrintF(stderr,
                "%s: recall on the pair network %s%%, memory %s%%, dual %s%%; others network "
                "%s%%, dual %s%%\n",
                label, Points(r.network_recall), Points(r.memory_recall), Points(r.dual_recall),
                Points(r.network_others), Points(r.dual_others));
  return r;
}

absl::StatusOr<std::vector<NewClassResult>> RunNewClasses(ConfigSource config, ClassPair pair,
                                                          const std::vector<int>& examples,
                                                          const ModelFile& model) {
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<LoadedConfig> loaded, config());
  config::Experiment& experiment = loaded->mutable_experiment();
  // The examples come from the whole training set; the classifier trains
  // without the pair.
  MNEMO_ASSIGN_OR_RETURN(TrainTestData all, LoadData(experiment));
  config::Data& data_config = *experiment.mutable_data();
  data_config.clear_held_out_classes();
  data_config.add_held_out_classes(pair.first);
  data_config.add_held_out_classes(pair.second);
  TrainTestData data = all;
  MNEMO_RETURN_IF_ERROR(SelectClasses(data_config, experiment.trainer().seed(), &data));
  const std::string label = RunLabel("new classes", experiment, pair);
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<DualPathClassifier> classifier,
                         TrainOrLoad(*loaded, data, label, model));
  const int batch_size = experiment.trainer().batch_size();
  const std::vector<int> classes = pair.classes();
  MNEMO_ASSIGN_OR_RETURN(DualPathEvaluation before,
                         EvaluateDualPath(*classifier, data.test, batch_size));
  const std::map<std::string, Tensor> trained = classifier->ExportState();

  std::vector<NewClassResult> results;
  for (int count : examples) {
    MNEMO_RETURN_IF_ERROR(classifier->ImportState(trained));
    std::vector<int32_t> rows;
    for (int label_id : classes) {
      for (int32_t i : DrawClassSamples(all.train, label_id, count, experiment.trainer().seed())) {
        rows.push_back(i);
      }
    }
    const Dataset shown = Subset(all.train, rows);
    Tensor input;
    SliceRows(shown, 0, shown.size(), &input);
    MNEMO_RETURN_IF_ERROR(classifier->AddExamples(input, shown.labels));
    MNEMO_ASSIGN_OR_RETURN(DualPathEvaluation e,
                           EvaluateDualPath(*classifier, data.test, batch_size));
    NewClassResult r;
    r.module = experiment.memory_module().type();
    r.pair = pair;
    r.examples = count;
    r.dual_recall = Recall(e.by_class, e.by_class.correct, classes);
    r.memory_recall = Recall(e.by_class, e.by_class.memory_correct, classes);
    r.network_others = RecallOfOthers(e.by_class, e.by_class.network_correct, classes);
    r.dual_others_before = RecallOfOthers(before.by_class, before.by_class.correct, classes);
    r.dual_others = RecallOfOthers(e.by_class, e.by_class.correct, classes);
    absl::FPrintF(stderr,
                  "%s shown %d each: on the pair dual %s%%, memory %s%%; others network %s%%, "
                  "dual %s%% (before %s%%)\n",
                  label, count, Points(r.dual_recall), Points(r.memory_recall),
                  Points(r.network_others), Points(r.dual_others), Points(r.dual_others_before));
    results.push_back(r);
  }
  return results;
}

std::string RareClassesCsv(const std::vector<RareClassResult>& results) {
  std::string csv =
      "module,first,second,examples,network_recall,memory_recall,dual_recall,network_others,"
      "dual_others\n";
  for (const RareClassResult& r : results) {
    absl::StrAppendFormat(&csv, "%s,%d,%d,%d,%.4f,%.4f,%.4f,%.4f,%.4f\n", r.module, r.pair.first,
                          r.pair.second, r.examples, r.network_recall, r.memory_recall,
                          r.dual_recall, r.network_others, r.dual_others);
  }
  return csv;
}

std::string NewClassesCsv(const std::vector<NewClassResult>& results) {
  std::string csv =
      "module,first,second,examples,dual_recall,memory_recall,network_others,"
      "dual_others_before,dual_others\n";
  for (const NewClassResult& r : results) {
    absl::StrAppendFormat(&csv, "%s,%d,%d,%d,%.4f,%.4f,%.4f,%.4f,%.4f\n", r.module, r.pair.first,
                          r.pair.second, r.examples, r.dual_recall, r.memory_recall,
                          r.network_others, r.dual_others_before, r.dual_others);
  }
  return csv;
}

std::string SummarizeRareClasses(const std::vector<RareClassResult>& results) {
  std::string out =
      "Rare classes (recall on the pair, accuracy on the other classes; points; median over the "
      "pairs / worst pair):\n";
  using R = RareClassResult;
  for (const auto& [key, group] : Groups(results)) {
    const auto gain =
        OverPairs<R>(group, [](const R& r) { return r.dual_recall - r.network_recall; });
    const auto others =
        OverPairs<R>(group, [](const R& r) { return r.dual_others - r.network_others; });
    const auto network = OverPairs<R>(group, [](const R& r) { return r.network_recall; });
    const auto dual = OverPairs<R>(group, [](const R& r) { return r.dual_recall; });
    absl::StrAppendFormat(
        &out,
        "  %s, %d kept: recall network %s (worst %s %s), dual %s (worst %s %s); dual - network "
        "%+.1f (worst %s %+.1f); others dual - network %+.2f (worst %s %+.2f)\n",
        key.first, key.second, Points(network.median), network.worst_pair, Points(network.worst),
        Points(dual.median), dual.worst_pair, Points(dual.worst), 100 * gain.median,
        gain.worst_pair, 100 * gain.worst, 100 * others.median, others.worst_pair,
        100 * others.worst);
  }
  return out;
}

std::string SummarizeNewClasses(const std::vector<NewClassResult>& results) {
  std::string out =
      "New classes (the dual path's recall on the pair after the examples were shown, its "
      "accuracy on the other classes; points; median over the pairs / worst pair):\n";
  using R = NewClassResult;
  for (const auto& [key, group] : Groups(results)) {
    const auto dual = OverPairs<R>(group, [](const R& r) { return r.dual_recall; });
    const auto memory = OverPairs<R>(group, [](const R& r) { return r.memory_recall; });
    const auto drop =
        OverPairs<R>(group, [](const R& r) { return r.dual_others - r.dual_others_before; });
    absl::StrAppendFormat(&out,
                          "  %s, %d shown: pair dual %s (worst %s %s), memory alone %s (worst %s "
                          "%s); others after - before %+.2f (worst %s %+.2f)\n",
                          key.first, key.second, Points(dual.median), dual.worst_pair,
                          Points(dual.worst), Points(memory.median), memory.worst_pair,
                          Points(memory.worst), 100 * drop.median, drop.worst_pair,
                          100 * drop.worst);
  }
  return out;
}

std::string RareClassesSvg(const std::vector<RareClassResult>& results) {
  using R = RareClassResult;
  return Plot<R>(results, "Rare classes: recall on the pair", "training examples kept per class",
                 {{"network", [](const R& r) { return r.network_recall; }},
                  {"memory", [](const R& r) { return r.memory_recall; }},
                  {"dual path", [](const R& r) { return r.dual_recall; }}});
}

std::string NewClassesSvg(const std::vector<NewClassResult>& results) {
  using R = NewClassResult;
  return Plot<R>(results, "New classes: recall on the pair", "examples shown per class",
                 {{"memory", [](const R& r) { return r.memory_recall; }},
                  {"dual path", [](const R& r) { return r.dual_recall; }},
                  {"dual path, other classes", [](const R& r) { return r.dual_others; }}});
}

}  // namespace mnemo
