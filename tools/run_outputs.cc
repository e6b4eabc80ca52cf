#include "tools/run_outputs.h"

#include <cmath>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/io/atomic_file.h"
#include "core/status_macros.h"
#include "tools/output_checks.h"
#include "tools/svg_plot.h"

namespace mnemo {
namespace {

std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace

absl::Status PrepareOutputDirectory(const std::string& dir) {
  if (absl::Status s = MakeDirectories(dir); !s.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("output directory unusable: ", s.message()));
  }
  // A real write: access(2) says yes to root and on read-only file systems.
  return ProbeWritable(dir);
}

absl::Status WriteMetrics(const std::string& dir, const std::string& config_path,
                          const std::vector<EpochMetrics>& history) {
  // The figures any epoch has, after the fixed columns (an epoch without one
  // leaves its cell empty, its JSON value null).
  std::set<std::string> names;
  for (const EpochMetrics& m : history) {
    for (const auto& [name, value] : m.figures) names.insert(name);
  }
  std::string csv =
      "epoch,train_loss,train_accuracy,test_loss,test_accuracy,train_seconds,"
      "samples_per_second,learning_rate";
  for (const std::string& name : names) absl::StrAppend(&csv, ",", name);
  csv += "\n";
  std::string json = absl::StrCat("{\n  \"config\": ", JsonString(config_path),
                                   ",\n  \"epochs\": [\n");
  for (size_t i = 0; i < history.size(); ++i) {
    const EpochMetrics& m = history[i];
    // A rate may be far below 1e-6 (one_cycle ends at lr / 2.5e5): significant
    // digits, not decimals; 7, a float's, the precision of the step it takes.
    absl::StrAppendFormat(&csv, "%d,%.6f,%.6f,%.6f,%.6f,%.4f,%.1f,%.7g", m.epoch, m.train_loss,
                          m.train_accuracy, m.test_loss, m.test_accuracy, m.train_seconds,
                          m.samples_per_second, m.learning_rate);
    absl::StrAppendFormat(&json,
                          "    {\"epoch\": %d, \"train_loss\": %.6f, \"train_accuracy\": %.6f, "
                          "\"test_loss\": %.6f, \"test_accuracy\": %.6f, \"train_seconds\": %.4f, "
                          "\"samples_per_second\": %.1f, \"learning_rate\": %.7g",
                          m.epoch, m.train_loss, m.train_accuracy, m.test_loss, m.test_accuracy,
                          m.train_seconds, m.samples_per_second, m.learning_rate);
    for (const std::string& name : names) {
      auto it = m.figures.find(name);
      const bool known = it != m.figures.end() && std::isfinite(it->second);
      absl::StrAppend(&csv, ",", known ? absl::StrFormat("%.6f", it->second) : "");
      absl::StrAppend(&json, ", ", JsonString(name), ": ",
                      known ? absl::StrFormat("%.6f", it->second) : "null");
    }
    csv += "\n";
    absl::StrAppend(&json, "}", i + 1 < history.size() ? "," : "", "\n");
  }
  absl::StrAppend(&json, "  ]\n}\n");
  MNEMO_RETURN_IF_ERROR(WriteFileAtomically(dir + "/metrics.csv", csv));
  return WriteFileAtomically(dir + "/metrics.json", json);
}

absl::Status WriteSteps(const std::string& dir, const std::vector<double>& rates,
                        int steps_per_epoch) {
  std::string csv = "step,epoch,learning_rate\n";
  for (size_t i = 0; i < rates.size(); ++i) {
    absl::StrAppendFormat(&csv, "%d,%d,%.7g\n", i + 1, i / steps_per_epoch + 1, rates[i]);
  }
  return WriteFileAtomically(dir + "/steps.csv", csv);
}

absl::Status WriteTrainingPlot(const std::string& path, const std::string& title,
                               const std::vector<EpochMetrics>& history, bool regression,
                               const std::vector<double>& step_rates) {
  // The loss, and the task's headline figure: accuracy, or R^2 for a
  // regression; each for the training, validation and test sets that have it.
  Chart loss{absl::StrCat(title, ": loss"), "epoch", "loss", {}, {}};
  Chart score{absl::StrCat(title, regression ? ": R^2" : ": accuracy"),
              "epoch",
              regression ? "R^2" : "accuracy",
              {},
              {}};
  const bool validated = !history.empty() && history[0].figures.count("val_loss") > 0;
  // A run without a test set leaves its loss 0, which no evaluated loss is.
  const bool tested = !history.empty() && history[0].test_loss != 0;
  loss.series.push_back({"train", {}});
  if (!regression) score.series.push_back({"train", {}});
  if (validated) {
    loss.series.push_back({"validation", {}});
    score.series.push_back({"validation", {}});
  }
  if (tested) {
    loss.series.push_back({"test", {}});
    score.series.push_back({"test", {}});
  }
  const char* figure = regression ? "r2" : "accuracy";
  for (const EpochMetrics& m : history) {
    loss.x.push_back(m.epoch);
    score.x.push_back(m.epoch);
    auto get = [&m](const std::string& name) {
      auto it = m.figures.find(name);
      return it == m.figures.end() ? 0.0 : it->second;
    };
    size_t l = 0, s = 0;
    loss.series[l++].y.push_back(m.train_loss);
    if (!regression) score.series[s++].y.push_back(m.train_accuracy);
    if (validated) {
      loss.series[l++].y.push_back(get("val_loss"));
      score.series[s++].y.push_back(get(absl::StrCat("val_", figure)));
    }
    if (tested) {
      loss.series[l++].y.push_back(m.test_loss);
      score.series[s++].y.push_back(regression ? get("test_r2") : m.test_accuracy);
    }
  }
  std::vector<Chart> charts = {loss, score};
  if (!step_rates.empty() && !history.empty()) {
    // Step t ends at epoch (t + 1) / steps per epoch, so an epoch's last
    // step sits over that epoch's figures in the other panels. Beyond a few
    // thousand points a line is no finer on screen: every k-th step then,
    // and the last.
    constexpr size_t kMostPoints = 2000;
    const double steps_per_epoch = static_cast<double>(step_rates.size()) / history.size();
    const size_t stride = (step_rates.size() + kMostPoints - 1) / kMostPoints;
    Chart rate{absl::StrCat(title, ": learning rate"), "epoch", "learning rate", {}, {}};
    rate.markers = false;
    rate.series.push_back({"per step", {}});
    for (size_t i = 0; i < step_rates.size(); i += stride) {
      rate.x.push_back((i + 1) / steps_per_epoch);
      rate.series[0].y.push_back(step_rates[i]);
    }
    if ((step_rates.size() - 1) % stride != 0) {
      rate.x.push_back(step_rates.size() / steps_per_epoch);
      rate.series[0].y.push_back(step_rates.back());
    }
    charts.push_back(std::move(rate));
  }
  return WriteFileAtomically(path, RenderSvg(charts));
}

}  // namespace mnemo
