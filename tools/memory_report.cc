#include "tools/memory_report.h"

#include <cctype>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/io/atomic_file.h"
#include "core/status_macros.h"
#include "tools/svg_plot.h"

namespace mnemo {
namespace {

// The seed's rules: 47 dashes around "Parameters", 48 around the results.
const std::string kShortRule(47, '-');
const std::string kLongRule(48, '-');

std::string Percent(double share) { return absl::StrFormat("%.2f%%", 100 * share); }

// A path's accuracy on the samples it answered; NaN when it answered none.
std::string PathAccuracy(double accuracy, int samples, const char* which) {
  if (std::isnan(accuracy)) return absl::StrCat("n/a (the ", which, " answered no test sample)");
  return absl::StrFormat("%s (on the %d test samples the %s answered)", Percent(accuracy), samples,
                         which);
}

std::string StageTimes(const PathTimes& t) {
  return absl::StrFormat(
      "Per-sample times at batch %d (%d test samples): feature extraction %.4f ms, memory "
      "retrieval %.4f ms, network head %.4f ms; memory path %.4f ms, network path %.4f ms; %s",
      t.batch_size, t.samples, t.feature_ms, t.retrieval_ms, t.head_ms, t.memory_path_ms(),
      t.network_path_ms(), FormatPathRatio(t));
}

std::string Json(double value) {
  return std::isfinite(value) ? absl::StrFormat("%.6f", value) : "null";
}

std::string JsonTimes(const PathTimes& t) {
  return absl::StrFormat(
      "{\"batch_size\": %d, \"samples\": %d, \"feature_ms\": %.6f, \"retrieval_ms\": %.6f, "
      "\"head_ms\": %.6f, \"memory_path_ms\": %.6f, \"network_path_ms\": %.6f, \"ratio\": %.4f}",
      t.batch_size, t.samples, t.feature_ms, t.retrieval_ms, t.head_ms, t.memory_path_ms(),
      t.network_path_ms(), t.ratio());
}

}  // namespace

std::string DisplayName(const std::string& memory_type) {
  std::string name;
  bool word_start = true;
  for (char c : memory_type) {
    if (c == '_' || c == '-') {
      name += ' ';
      word_start = true;
    } else {
      name += word_start ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
      word_start = false;
    }
  }
  return name;
}

std::string FormatPathRatio(const PathTimes& times) {
  const double ratio = times.ratio();
  if (ratio >= 1) return absl::StrFormat("Memory path is %.2fx slower than neural network", ratio);
  return absl::StrFormat("Memory path is %.2fx faster than neural network", 1 / ratio);
}

std::string FormatParameters(const ExperimentParameters& p) {
  std::string out = absl::StrCat(kShortRule, "\nParameters\n", kShortRule, "\n");
  absl::StrAppendFormat(&out, "- Memory size: %d\n", p.memory_size);
  absl::StrAppendFormat(&out, "- Confidence threshold: %g\n", p.confidence_threshold);
  absl::StrAppendFormat(&out, "- Number of epochs: %d\n", p.epochs);
  absl::StrAppendFormat(&out, "- Batch size: %d\n", p.batch_size);
  absl::StrAppendFormat(&out, "- Memory loss weight: %g\n", p.memory_loss_weight);
  absl::StrAppendFormat(&out, "- Similarity threshold: %g\n", p.similarity_threshold);
  absl::StrAppendFormat(&out, "- Temperature: %g\n", p.temperature);
  absl::StrAppendFormat(&out, "- Top k: %d\n", p.top_k);
  if (!p.data.empty()) absl::StrAppend(&out, "- Data: ", p.data, "\n");
  if (!p.model.empty()) absl::StrAppend(&out, "- Model: ", p.model, "\n");
  return out;
}

std::string FormatResults(const MemoryRun& run) {
  if (run.history.empty()) return "";
  const DualPathEpochMetrics& m = run.history.back();
  const DualPathEvaluation& t = m.test;
  std::string out =
      absl::StrCat(kLongRule, "\n", DisplayName(run.memory_type), " Results.\n", kLongRule, "\n");
  absl::StrAppendFormat(&out, "Epoch %d/%d Summary:\n", m.epoch,
                        static_cast<int>(run.history.size()));
  absl::StrAppendFormat(&out, "Train Loss: %.4f\n", m.train_loss);
  absl::StrAppendFormat(&out, "Memory Loss: %.4f\n", m.train_memory_loss);
  absl::StrAppend(&out, "Train Accuracy: ", Percent(m.train_accuracy), "\n");
  absl::StrAppend(&out, "Test Accuracy: ", Percent(t.accuracy), "\n");
  absl::StrAppend(&out, "Memory Usage: ", Percent(t.memory_usage), "\n");
  absl::StrAppendFormat(&out, "Memory Size: %d/%d\n", m.memory_size, m.memory_capacity);
  absl::StrAppend(&out,
                  m.memory_size >= m.memory_capacity ? "Memory is full\n" : "Memory is not full\n");
  absl::StrAppend(&out, "Network-only Test Accuracy: ", Percent(t.network_accuracy), "\n");
  absl::StrAppend(&out, "Memory-only Test Accuracy: ", Percent(t.memory_accuracy), "\n");
  absl::StrAppend(&out, "Memory-path Accuracy: ",
                  PathAccuracy(t.memory_path_accuracy, t.memory_answered, "memory"), "\n");
  absl::StrAppend(&out, "Network-path Accuracy: ",
                  PathAccuracy(t.network_path_accuracy, t.samples - t.memory_answered, "network"),
                  "\n");
  absl::StrAppendFormat(&out,
                        "Memory answers that differ from the network's: %d corrected, %d broken "
                        "(test accuracy %+.2f points against the network alone)\n",
                        t.memory_corrected, t.memory_broke,
                        100 * (t.accuracy - t.network_accuracy));
  absl::StrAppend(&out, kLongRule, "\n");
  absl::StrAppendFormat(&out, "Average memory path time: %.4f ms per sample\n",
                        run.batch_times.memory_path_ms());
  absl::StrAppendFormat(&out, "Average neural network path time: %.4f ms per sample\n",
                        run.batch_times.network_path_ms());
  absl::StrAppend(&out, FormatPathRatio(run.batch_times), "\n");
  absl::StrAppend(&out, StageTimes(run.batch_times), "\n");
  absl::StrAppend(&out, StageTimes(run.single_times), "\n");
  return out;
}

absl::StatusOr<std::vector<std::string>> WriteMemoryPlots(const std::string& dir,
                                                          const MemoryRun& run) {
  const std::string title = DisplayName(run.memory_type);
  std::vector<double> epochs;
  for (const DualPathEpochMetrics& m : run.history) epochs.push_back(m.epoch);
  auto series = [&](const std::string& name, auto get) {
    PlotSeries s{name, {}};
    for (const DualPathEpochMetrics& m : run.history) s.y.push_back(get(m));
    return s;
  };
  using M = const DualPathEpochMetrics&;
  const Chart loss{absl::StrCat(title, ": loss curves"),
                   "epoch",
                   "loss",
                   epochs,
                   {series("train (total)", [](M m) { return m.train_loss; }),
                    series("test (total)", [](M m) { return m.test.loss; }),
                    series("train cross-entropy", [](M m) { return m.train_classification_loss; }),
                    series("test cross-entropy", [](M m) { return m.test.classification_loss; })}};
  const Chart memory_loss{absl::StrCat(title, ": memory loss"),
                          "epoch",
                          "contrastive loss",
                          epochs,
                          {series("train", [](M m) { return m.train_memory_loss; }),
                           series("test", [](M m) { return m.test.memory_loss; })}};
  const Chart accuracy{
      absl::StrCat(title, ": accuracy curves"),
      "epoch",
      "accuracy",
      epochs,
      {series("train (network)", [](M m) { return m.train_accuracy; }),
       series("test (dual path)", [](M m) { return m.test.accuracy; }),
       series("test (network only)", [](M m) { return m.test.network_accuracy; }),
       series("test (memory path)", [](M m) { return m.test.memory_path_accuracy; })}};
  const Chart usage{absl::StrCat(title, ": memory usage"),
                    "epoch",
                    "share",
                    epochs,
                    {series("memory usage (test)", [](M m) { return m.test.memory_usage; }),
                     series("memory fill n/M", [](M m) {
                       return m.memory_capacity > 0
                                  ? static_cast<double>(m.memory_size) / m.memory_capacity
                                  : 0.0;
                     })}};
  std::vector<std::string> paths;
  for (const auto& [name, chart] :
       {std::pair{"loss_curves.svg", &loss}, std::pair{"memory_loss.svg", &memory_loss},
        std::pair{"accuracy_curves.svg", &accuracy}, std::pair{"memory_usage.svg", &usage}}) {
    const std::string path = absl::StrCat(dir, "/", name);
    if (absl::Status s = WriteFileAtomically(path, RenderSvg({*chart})); !s.ok()) return s;
    paths.push_back(path);
  }
  return paths;
}

absl::Status WriteMemoryMetrics(const std::string& dir, const MemoryRun& run) {
  std::string csv =
      "epoch,train_loss,train_classification_loss,train_memory_loss,train_accuracy,"
      "test_loss,test_classification_loss,test_memory_loss,test_accuracy,"
      "test_network_accuracy,test_memory_accuracy,memory_usage,memory_path_accuracy,"
      "network_path_accuracy,memory_size,memory_capacity,train_seconds\n";
  std::vector<std::string> epochs;
  for (const DualPathEpochMetrics& m : run.history) {
    const DualPathEvaluation& t = m.test;
    absl::StrAppendFormat(
        &csv, "%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%s,%s,%d,%d,%.4f\n",
        m.epoch, m.train_loss, m.train_classification_loss, m.train_memory_loss, m.train_accuracy,
        t.loss, t.classification_loss, t.memory_loss, t.accuracy, t.network_accuracy,
        t.memory_accuracy, t.memory_usage,
        std::isnan(t.memory_path_accuracy) ? "" : Json(t.memory_path_accuracy),
        std::isnan(t.network_path_accuracy) ? "" : Json(t.network_path_accuracy), m.memory_size,
        m.memory_capacity, m.train_seconds);
    epochs.push_back(absl::StrFormat(
        "    {\"epoch\": %d, \"train_loss\": %s, \"train_classification_loss\": %s, "
        "\"train_memory_loss\": %s, \"train_accuracy\": %s, \"test_loss\": %s, "
        "\"test_classification_loss\": %s, \"test_memory_loss\": %s, \"test_accuracy\": %s, "
        "\"test_network_accuracy\": %s, \"test_memory_accuracy\": %s, \"memory_usage\": %s, "
        "\"memory_answered\": %d, \"memory_corrected\": %d, \"memory_broke\": %d, "
        "\"memory_path_accuracy\": %s, \"network_path_accuracy\": %s, "
        "\"memory_size\": %d, \"memory_capacity\": %d, \"train_seconds\": %.4f}",
        m.epoch, Json(m.train_loss), Json(m.train_classification_loss), Json(m.train_memory_loss),
        Json(m.train_accuracy), Json(t.loss), Json(t.classification_loss), Json(t.memory_loss),
        Json(t.accuracy), Json(t.network_accuracy), Json(t.memory_accuracy), Json(t.memory_usage),
        t.memory_answered, t.memory_corrected, t.memory_broke, Json(t.memory_path_accuracy),
        Json(t.network_path_accuracy), m.memory_size, m.memory_capacity, m.train_seconds));
  }
  std::string config_json;
  for (char c : run.config_path) {
    if (c == '"' || c == '\\') config_json += '\\';
    config_json += c;
  }
  const std::string json = absl::StrCat(
      "{\n  \"config\": \"", config_json, "\",\n  \"memory_module\": \"", run.memory_type,
      "\",\n  \"epochs\": [\n", absl::StrJoin(epochs, ",\n"), "\n  ],\n  \"path_times\": [\n    ",
      JsonTimes(run.batch_times), ",\n    ", JsonTimes(run.single_times), "\n  ]\n}\n");
  MNEMO_RETURN_IF_ERROR(WriteFileAtomically(dir + "/metrics.csv", csv));
  return WriteFileAtomically(dir + "/metrics.json", json);
}

}  // namespace mnemo
