#include "tools/run_outputs.h"

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
  std::string csv =
      "epoch,train_loss,train_accuracy,test_loss,test_accuracy,train_seconds,"
      "samples_per_second\n";
  std::string json = absl::StrCat("{\n  \"config\": ", JsonString(config_path),
                                   ",\n  \"epochs\": [\n");
  for (size_t i = 0; i < history.size(); ++i) {
    const EpochMetrics& m = history[i];
    absl::StrAppendFormat(&csv, "%d,%.6f,%.6f,%.6f,%.6f,%.4f,%.1f\n", m.epoch,
                          m.train_loss, m.train_accuracy, m.test_loss, m.test_accuracy,
                          m.train_seconds, m.samples_per_second);
    absl::StrAppendFormat(
        &json,
        "    {\"epoch\": %d, \"train_loss\": %.6f, \"train_accuracy\": %.6f, "
        "\"test_loss\": %.6f, \"test_accuracy\": %.6f, \"train_seconds\": %.4f, "
        "\"samples_per_second\": %.1f}%s\n",
        m.epoch, m.train_loss, m.train_accuracy, m.test_loss, m.test_accuracy,
        m.train_seconds, m.samples_per_second, i + 1 < history.size() ? "," : "");
  }
  absl::StrAppend(&json, "  ]\n}\n");
  MNEMO_RETURN_IF_ERROR(WriteFileAtomically(dir + "/metrics.csv", csv));
  return WriteFileAtomically(dir + "/metrics.json", json);
}

absl::Status WriteTrainingPlot(const std::string& path, const std::string& title,
                               const std::vector<EpochMetrics>& history) {
  Chart loss{absl::StrCat(title, ": loss"), "epoch", "cross-entropy", {}, {}};
  Chart accuracy{absl::StrCat(title, ": accuracy"), "epoch", "accuracy", {}, {}};
  loss.series = {{"train", {}}, {"test", {}}};
  accuracy.series = {{"train", {}}, {"test", {}}};
  for (const EpochMetrics& m : history) {
    loss.x.push_back(m.epoch);
    accuracy.x.push_back(m.epoch);
    loss.series[0].y.push_back(m.train_loss);
    loss.series[1].y.push_back(m.test_loss);
    accuracy.series[0].y.push_back(m.train_accuracy);
    accuracy.series[1].y.push_back(m.test_accuracy);
  }
  return WriteFileAtomically(path, RenderSvg({loss, accuracy}));
}

}  // namespace mnemo
