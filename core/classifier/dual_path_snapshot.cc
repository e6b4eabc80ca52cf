#include "core/classifier/dual_path_snapshot.h"

#include <map>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/io/safetensors.h"

namespace mnemo {
namespace {

constexpr char kMemoryPrefix[] = "memory.";
constexpr char kClassificationSumKey[] = "dual_path.classification_sum";
constexpr char kMemorySumKey[] = "dual_path.memory_sum";
constexpr char kHistoryKey[] = "dual_path.history";

// Calls `visit` on every figure of `m`, in the order of a history line.
template <typename Metrics, typename Visit>
void ForEachFigure(Metrics& m, Visit&& visit) {
  visit(m.epoch);
  visit(m.train_loss);
  visit(m.train_classification_loss);
  visit(m.train_memory_loss);
  visit(m.train_accuracy);
  visit(m.memory_size);
  visit(m.memory_capacity);
  visit(m.train_seconds);
  visit(m.samples_per_second);
  auto& t = m.test;
  visit(t.samples);
  visit(t.loss);
  visit(t.classification_loss);
  visit(t.memory_loss);
  visit(t.accuracy);
  visit(t.network_accuracy);
  visit(t.memory_accuracy);
  visit(t.memory_answered);
  visit(t.memory_usage);
  visit(t.memory_corrected);
  visit(t.memory_broke);
  visit(t.memory_path_accuracy);
  visit(t.network_path_accuracy);
}

// 17 significant digits read back as the same double ("nan" included).
std::string Figure(double value) { return absl::StrFormat("%.17g", value); }
std::string Figure(int value) { return absl::StrCat(value); }

bool Parse(absl::string_view text, double* value) { return absl::SimpleAtod(text, value); }
bool Parse(absl::string_view text, int* value) { return absl::SimpleAtoi(text, value); }

std::string HistoryText(const std::vector<DualPathEpochMetrics>& history) {
  std::vector<std::string> lines;
  for (const DualPathEpochMetrics& m : history) {
    std::vector<std::string> figures;
    ForEachFigure(m, [&](const auto& value) { figures.push_back(Figure(value)); });
    lines.push_back(absl::StrJoin(figures, " "));
  }
  return absl::StrJoin(lines, "\n");
}

absl::Status Damaged(const std::string& path, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": ", what, ": not a dual-path snapshot, or a damaged one"));
}

absl::StatusOr<std::vector<DualPathEpochMetrics>> ParseHistory(const std::string& path,
                                                               const std::string& text) {
  std::vector<DualPathEpochMetrics> history;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    const std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
    DualPathEpochMetrics m;
    size_t next = 0;
    bool ok = true;
    ForEachFigure(m, [&](auto& value) {
      ok = ok && next < fields.size() && Parse(fields[next], &value);
      ++next;
    });
    if (!ok || next != fields.size() || m.epoch != static_cast<int>(history.size()) + 1) {
      return Damaged(path, absl::StrCat("line ", history.size() + 1, " of metadata \"mnemo.extra.",
                                        kHistoryKey, "\" is \"", line, "\", not epoch ",
                                        history.size() + 1, " and its ", next - 1, " figures"));
    }
    history.push_back(m);
  }
  return history;
}

absl::StatusOr<double> ReadSum(const std::string& path,
                               const std::map<std::string, std::string>& metadata,
                               const char* key) {
  auto it = metadata.find(key);
  double value = 0;
  if (it == metadata.end() || !absl::SimpleAtod(it->second, &value)) {
    return Damaged(path,
                   absl::StrCat("metadata \"mnemo.extra.", key, "\" is missing or no number"));
  }
  return value;
}

}  // namespace

SnapshotExtras DualPathSnapshotExtras(DualPathClassifier& classifier,
                                      const DualPathProgress& progress) {
  SnapshotExtras extras;
  for (auto& [name, tensor] : classifier.memory().ExportState()) {
    extras.tensors.emplace(absl::StrCat(kMemoryPrefix, name), std::move(tensor));
  }
  extras.metadata[kClassificationSumKey] = Figure(progress.classification_sum);
  extras.metadata[kMemorySumKey] = Figure(progress.memory_sum);
  extras.metadata[kHistoryKey] = HistoryText(progress.history);
  return extras;
}

absl::Status WriteDualPathSnapshot(const std::string& path, DualPathClassifier& classifier,
                                   Optimizer& optimizer, const DualPathProgress& progress,
                                   const std::string& config_text) {
  return WriteSnapshot(path, classifier.trained_networks(), optimizer, progress.position,
                       config_text, DualPathSnapshotExtras(classifier, progress));
}

absl::StatusOr<DualPathProgress> RestoreDualPathSnapshot(const std::string& path,
                                                         const std::string& config_text,
                                                         DualPathClassifier& classifier,
                                                         Optimizer& optimizer) {
  // The dual path's figures are checked before anything is restored: read
  // from the header alone, which RestoreSnapshot then verifies with the rest.
  absl::StatusOr<SafetensorsReader> reader = SafetensorsReader::Open(path);
  if (!reader.ok()) return reader.status();
  constexpr absl::string_view kExtraMetadataPrefix = "mnemo.extra.";
  std::map<std::string, std::string> metadata;
  for (const auto& [key, text] : reader->header().metadata) {
    if (absl::StartsWith(key, kExtraMetadataPrefix)) {
      metadata.emplace(key.substr(kExtraMetadataPrefix.size()), text);
    }
  }
  absl::StatusOr<double> classification_sum = ReadSum(path, metadata, kClassificationSumKey);
  if (!classification_sum.ok()) return classification_sum.status();
  absl::StatusOr<double> memory_sum = ReadSum(path, metadata, kMemorySumKey);
  if (!memory_sum.ok()) return memory_sum.status();
  auto history_text = metadata.find(kHistoryKey);
  if (history_text == metadata.end()) {
    return Damaged(path, absl::StrCat("metadata \"mnemo.extra.", kHistoryKey, "\" is missing"));
  }
  absl::StatusOr<std::vector<DualPathEpochMetrics>> history =
      ParseHistory(path, history_text->second);
  if (!history.ok()) return history.status();

  absl::StatusOr<RestoredSnapshot> restored =
      RestoreSnapshot(path, config_text, classifier.trained_networks(), optimizer);
  if (!restored.ok()) return restored.status();
  if (restored->progress.history.size() != history->size()) {
    return Damaged(path, absl::StrCat(history->size(), " epochs in the dual-path history, ",
                                      restored->progress.history.size(), " in core's"));
  }
  std::map<std::string, Tensor> state;
  for (auto& [name, tensor] : restored->extras.tensors) {
    if (absl::StartsWith(name, kMemoryPrefix)) {
      state.emplace(name.substr(sizeof(kMemoryPrefix) - 1), std::move(tensor));
    }
  }
  if (absl::Status s = classifier.memory().ImportState(state); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(path, ": the memory's contents do not fit ",
                                               classifier.memory_name(),
                                               " (the networks are "
                                               "restored, the memory is not): ",
                                               s.message()));
  }
  DualPathProgress progress;
  progress.position = std::move(restored->progress);
  progress.classification_sum = *classification_sum;
  progress.memory_sum = *memory_sum;
  progress.history = *std::move(history);
  return progress;
}

}  // namespace mnemo
