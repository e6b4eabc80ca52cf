#include "core/snapshot.h"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "core/io/safetensors.h"
#include "google/protobuf/text_format.h"

namespace mnemo {
namespace {

constexpr char kParamPrefix[] = "param/";
constexpr char kOptimizerPrefix[] = "optimizer/";
constexpr char kExtraPrefix[] = "extra/";
constexpr char kExtraMetadataPrefix[] = "mnemo.extra.";

constexpr char kFormatKey[] = "mnemo.snapshot";
constexpr char kFormatVersion[] = "1";
constexpr char kConfigKey[] = "mnemo.config";
constexpr char kEpochKey[] = "mnemo.epoch";
constexpr char kBatchKey[] = "mnemo.batch";
constexpr char kStepKey[] = "mnemo.step";
constexpr char kLossSumKey[] = "mnemo.epoch_loss_sum";
constexpr char kCorrectKey[] = "mnemo.epoch_correct";
constexpr char kSamplesKey[] = "mnemo.epoch_samples";
constexpr char kSkippedKey[] = "mnemo.epoch_skipped";
constexpr char kSecondsKey[] = "mnemo.epoch_seconds";
constexpr char kHistoryKey[] = "mnemo.history";
constexpr char kChecksumKey[] = "mnemo.checksum";

// At most this many differing config lines are quoted on each side.
constexpr size_t kMaxQuotedLines = 6;

// 17 significant digits read back as the same double.
std::string ExactDouble(double value) { return absl::StrFormat("%.17g", value); }

// zlib's crc32 takes 32-bit lengths.
uLong Crc(uLong crc, const void* data, size_t size) {
  const Bytef* bytes = static_cast<const Bytef*>(data);
  while (size > 0) {
    const uInt chunk = static_cast<uInt>(std::min<size_t>(size, 1u << 30));
    crc = crc32(crc, bytes, chunk);
    bytes += chunk;
    size -= chunk;
  }
  return crc;
}

uLong CrcText(uLong crc, absl::string_view text) {
  crc = Crc(crc, text.data(), text.size());
  return Crc(crc, "", 1);  // a terminator, so "ab","c" and "a","bc" differ
}

std::string Checksum(const TensorFile& file) {
  uLong crc = crc32(0L, Z_NULL, 0);
  for (const auto& [key, value] : file.metadata) {
    if (key == kChecksumKey) continue;
    crc = CrcText(crc, key);
    crc = CrcText(crc, value);
  }
  for (const auto& [name, tensor] : file.tensors) {
    crc = CrcText(crc, name);
    crc = CrcText(crc, absl::StrCat(tensor.rows(), "x", tensor.cols()));
    crc = Crc(crc, tensor.data(), TensorBytes(tensor));
  }
  return absl::StrFormat("%08x", crc);
}

// The tensors a snapshot of `networks` and `optimizer` holds, by their names
// in the file; an error for two layers of one name.
absl::StatusOr<std::map<std::string, Tensor*>> SnapshotTensors(
    const std::vector<Network*>& networks, Optimizer& optimizer) {
  std::map<std::string, Tensor*> tensors;
  auto add = [&](std::string name, Tensor* tensor) -> absl::Status {
    if (!tensors.emplace(name, tensor).second) {
      return absl::InvalidArgumentError(absl::StrCat("two tensors would be named \"", name,
                                                     "\": a snapshot needs unique layer names"));
    }
    return absl::OkStatus();
  };
  for (Network* network : networks) {
    for (int i = 0; i < network->num_layers(); ++i) {
      Layer& layer = network->layer(i);
      for (const Parameter& p : layer.parameters()) {
        if (absl::Status s = add(absl::StrCat(kParamPrefix, layer.name(), ".", p.name), p.value);
            !s.ok()) {
          return s;
        }
      }
    }
  }
  for (const auto& [key, tensor] : optimizer.State()) {
    if (absl::Status s = add(absl::StrCat(kOptimizerPrefix, key), tensor); !s.ok()) return s;
  }
  return tensors;
}

std::string HistoryText(const std::vector<EpochMetrics>& history) {
  std::vector<std::string> lines;
  for (const EpochMetrics& m : history) {
    lines.push_back(absl::StrCat(m.epoch, " ", ExactDouble(m.train_loss), " ",
                                 ExactDouble(m.train_accuracy), " ", ExactDouble(m.test_loss), " ",
                                 ExactDouble(m.test_accuracy), " ", ExactDouble(m.train_seconds),
                                 " ", ExactDouble(m.samples_per_second), " ", m.skipped_steps));
  }
  return absl::StrJoin(lines, "\n");
}

// Reads the progress from a snapshot's metadata; errors start with `path`.
class MetadataReader {
 public:
  MetadataReader(const std::string& path, const std::map<std::string, std::string>& metadata)
      : path_(path), metadata_(metadata) {}

  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": ", what));
  }

  absl::StatusOr<std::string> Text(const char* key) const {
    auto it = metadata_.find(key);
    if (it == metadata_.end()) {
      return Error(absl::StrCat("the metadata has no \"", key, "\": a damaged snapshot"));
    }
    return it->second;
  }

  template <typename Int>
  absl::Status Integer(const char* key, Int* out) const {
    absl::StatusOr<std::string> text = Text(key);
    if (!text.ok()) return text.status();
    if (!absl::SimpleAtoi(*text, out)) {
      return Error(absl::StrCat("metadata \"", key, "\" is \"", *text, "\", not an integer"));
    }
    return absl::OkStatus();
  }

  absl::Status Double(const char* key, double* out) const {
    absl::StatusOr<std::string> text = Text(key);
    if (!text.ok()) return text.status();
    if (!absl::SimpleAtod(*text, out)) {
      return Error(absl::StrCat("metadata \"", key, "\" is \"", *text, "\", not a number"));
    }
    return absl::OkStatus();
  }

  absl::Status History(std::vector<EpochMetrics>* history) const {
    absl::StatusOr<std::string> text = Text(kHistoryKey);
    if (!text.ok()) return text.status();
    int line_number = 0;
    for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
      ++line_number;
      const std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
      EpochMetrics m;
      bool ok = fields.size() == 8 && absl::SimpleAtoi(fields[0], &m.epoch) &&
                absl::SimpleAtod(fields[1], &m.train_loss) &&
                absl::SimpleAtod(fields[2], &m.train_accuracy) &&
                absl::SimpleAtod(fields[3], &m.test_loss) &&
                absl::SimpleAtod(fields[4], &m.test_accuracy) &&
                absl::SimpleAtod(fields[5], &m.train_seconds) &&
                absl::SimpleAtod(fields[6], &m.samples_per_second) &&
                absl::SimpleAtoi(fields[7], &m.skipped_steps);
      if (!ok || m.epoch != line_number) {
        return Error(absl::StrCat("line ", line_number, " of metadata \"", kHistoryKey, "\" is \"",
                                  line, "\", not epoch ", line_number, " and its 7 figures"));
      }
      history->push_back(m);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<TrainingProgress> Progress() const {
    TrainingProgress p;
    for (absl::Status s :
         {Integer(kEpochKey, &p.epoch), Integer(kBatchKey, &p.batch), Integer(kStepKey, &p.step),
          Double(kLossSumKey, &p.loss_sum), Integer(kCorrectKey, &p.correct),
          Integer(kSamplesKey, &p.samples), Integer(kSkippedKey, &p.skipped),
          Double(kSecondsKey, &p.train_seconds), History(&p.history)}) {
      if (!s.ok()) return s;
    }
    if (p.epoch < 1 || p.batch < 0 || p.history.size() != static_cast<size_t>(p.epoch - 1)) {
      return Error(absl::StrCat("the snapshot says epoch ", p.epoch, ", batch ", p.batch, " with ",
                                p.history.size(), " epochs in its history"));
    }
    return p;
  }

 private:
  const std::string& path_;
  const std::map<std::string, std::string>& metadata_;
};

// Checks the format version; the start of every read.
absl::Status CheckFormat(const std::string& path,
                         const std::map<std::string, std::string>& metadata) {
  auto it = metadata.find(kFormatKey);
  if (it == metadata.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a training snapshot (its metadata has no \"", kFormatKey, "\")"));
  }
  if (it->second != kFormatVersion) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": snapshot format version \"", it->second,
                                                   "\"; this build reads \"", kFormatVersion,
                                                   "\""));
  }
  return absl::OkStatus();
}

// Text-format lines, each prefixed with the path of its message
// ("trainer.optimizer.learning_rate: 0.1"), so that a line says on its own
// which field it is.
std::vector<std::string> QualifiedLines(const std::string& text) {
  std::vector<std::string> path;
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    if (line == "}") {
      if (!path.empty()) path.pop_back();
    } else if (absl::EndsWith(line, " {")) {
      path.emplace_back(line.substr(0, line.size() - 2));
    } else {
      lines.push_back(path.empty() ? std::string(line)
                                   : absl::StrCat(absl::StrJoin(path, "."), ".", line));
    }
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::string QuoteLines(const std::vector<std::string>& lines) {
  if (lines.empty()) return "nothing else";
  std::vector<std::string> quoted;
  for (size_t i = 0; i < lines.size() && i < kMaxQuotedLines; ++i) {
    quoted.push_back(absl::StrCat("`", lines[i], "`"));
  }
  std::string text = absl::StrJoin(quoted, ", ");
  if (lines.size() > kMaxQuotedLines) {
    absl::StrAppend(&text, " and ", lines.size() - kMaxQuotedLines, " more");
  }
  return text;
}

absl::Status CheckConfig(const std::string& path, const std::string& snapshot_text,
                         const std::string& run_text) {
  if (snapshot_text == run_text) return absl::OkStatus();
  const std::vector<std::string> theirs = QualifiedLines(snapshot_text);
  const std::vector<std::string> ours = QualifiedLines(run_text);
  std::vector<std::string> only_theirs, only_ours;
  std::set_difference(theirs.begin(), theirs.end(), ours.begin(), ours.end(),
                      std::back_inserter(only_theirs));
  std::set_difference(ours.begin(), ours.end(), theirs.begin(), theirs.end(),
                      std::back_inserter(only_ours));
  return absl::FailedPreconditionError(
      absl::StrCat(path,
                   " was written by another config (a resumed run must train the same model the "
                   "same way; only output settings and trainer.nonfinite may change): the snapshot "
                   "has ",
                   QuoteLines(only_theirs), " where this run has ", QuoteLines(only_ours)));
}

std::string ShapeText(Eigen::Index rows, Eigen::Index cols) {
  return absl::StrCat("[", rows, ", ", cols, "]");
}

}  // namespace

std::string TrainingConfigText(const config::Experiment& experiment) {
  config::Experiment training = experiment;
  training.clear_output();
  training.mutable_trainer()->clear_nonfinite();
  std::string text;
  google::protobuf::TextFormat::PrintToString(training, &text);
  return text;
}

absl::Status WriteSnapshot(const std::string& path, const std::vector<Network*>& networks,
                           Optimizer& optimizer, const TrainingProgress& progress,
                           const std::string& config_text, const SnapshotExtras& extras) {
  for (Network* network : networks) optimizer.CreateState(*network);
  absl::StatusOr<std::map<std::string, Tensor*>> tensors = SnapshotTensors(networks, optimizer);
  if (!tensors.ok()) {
    return absl::Status(tensors.status().code(),
                        absl::StrCat("cannot write ", path, ": ", tensors.status().message()));
  }
  TensorFile file;
  for (const auto& [name, tensor] : *tensors) file.tensors.emplace(name, *tensor);
  for (const auto& [name, tensor] : extras.tensors) {
    file.tensors.emplace(absl::StrCat(kExtraPrefix, name), tensor);
  }
  std::map<std::string, std::string>& metadata = file.metadata;
  for (const auto& [name, text] : extras.metadata) {
    metadata[absl::StrCat(kExtraMetadataPrefix, name)] = text;
  }
  metadata[kFormatKey] = kFormatVersion;
  metadata[kConfigKey] = config_text;
  metadata[kEpochKey] = absl::StrCat(progress.epoch);
  metadata[kBatchKey] = absl::StrCat(progress.batch);
  metadata[kStepKey] = absl::StrCat(progress.step);
  metadata[kLossSumKey] = ExactDouble(progress.loss_sum);
  metadata[kCorrectKey] = absl::StrCat(progress.correct);
  metadata[kSamplesKey] = absl::StrCat(progress.samples);
  metadata[kSkippedKey] = absl::StrCat(progress.skipped);
  metadata[kSecondsKey] = ExactDouble(progress.train_seconds);
  metadata[kHistoryKey] = HistoryText(progress.history);
  metadata[kChecksumKey] = Checksum(file);
  return WriteSafetensors(path, file);
}

absl::StatusOr<RestoredSnapshot> RestoreSnapshot(const std::string& path,
                                                 const std::string& config_text,
                                                 const std::vector<Network*>& networks,
                                                 Optimizer& optimizer) {
  absl::StatusOr<TensorFile> file = ReadSafetensors(path);
  if (!file.ok()) return file.status();
  if (absl::Status s = CheckFormat(path, file->metadata); !s.ok()) return s;
  const MetadataReader metadata(path, file->metadata);
  absl::StatusOr<std::string> stored_checksum = metadata.Text(kChecksumKey);
  if (!stored_checksum.ok()) return stored_checksum.status();
  if (const std::string computed = Checksum(*file); computed != *stored_checksum) {
    return metadata.Error(absl::StrCat("the checksum is ", computed, " but the file says ",
                                       *stored_checksum, ": the snapshot is damaged"));
  }
  absl::StatusOr<std::string> stored_config = metadata.Text(kConfigKey);
  if (!stored_config.ok()) return stored_config.status();
  if (absl::Status s = CheckConfig(path, *stored_config, config_text); !s.ok()) return s;
  absl::StatusOr<TrainingProgress> progress = metadata.Progress();
  if (!progress.ok()) return progress.status();

  for (Network* network : networks) optimizer.CreateState(*network);
  absl::StatusOr<std::map<std::string, Tensor*>> targets = SnapshotTensors(networks, optimizer);
  if (!targets.ok()) {
    return absl::Status(targets.status().code(),
                        absl::StrCat("cannot restore ", path, ": ", targets.status().message()));
  }
  std::vector<std::string> problems;
  for (const auto& [name, target] : *targets) {
    auto it = file->tensors.find(name);
    if (it == file->tensors.end()) {
      problems.push_back(absl::StrCat("tensor \"", name, "\" is missing"));
    } else if (it->second.rows() != target->rows() || it->second.cols() != target->cols()) {
      problems.push_back(absl::StrCat(
          "tensor \"", name, "\" has shape ", ShapeText(it->second.rows(), it->second.cols()),
          " but the run needs ", ShapeText(target->rows(), target->cols())));
    }
  }
  for (const auto& [name, tensor] : file->tensors) {
    if (targets->count(name) == 0 && !absl::StartsWith(name, kExtraPrefix)) {
      problems.push_back(absl::StrCat("tensor \"", name, "\" is not in this run"));
    }
  }
  if (!problems.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " does not match this run's model and optimizer: ", absl::StrJoin(problems, "; ")));
  }

  // Every check passed: nothing below can fail. Copied, not moved, into the
  // parameters, whose buffers a backend may have kept pointers to.
  RestoredSnapshot restored;
  restored.progress = *std::move(progress);
  for (auto& [name, tensor] : file->tensors) {
    if (auto it = targets->find(name); it != targets->end()) {
      *it->second = tensor;
    } else {
      restored.extras.tensors.emplace(name.substr(sizeof(kExtraPrefix) - 1), std::move(tensor));
    }
  }
  for (const auto& [key, text] : file->metadata) {
    if (absl::StartsWith(key, kExtraMetadataPrefix)) {
      restored.extras.metadata.emplace(key.substr(sizeof(kExtraMetadataPrefix) - 1), text);
    }
  }
  for (Network* network : networks) {
    for (int i = 0; i < network->num_layers(); ++i) network->layer(i).MarkParametersUpdated();
  }
  return restored;
}

absl::StatusOr<SnapshotSummary> ReadSnapshotSummary(const std::string& path) {
  absl::StatusOr<SafetensorsReader> reader = SafetensorsReader::Open(path);
  if (!reader.ok()) return reader.status();
  const std::map<std::string, std::string>& metadata = reader->header().metadata;
  if (absl::Status s = CheckFormat(path, metadata); !s.ok()) return s;
  const MetadataReader fields(path, metadata);
  SnapshotSummary summary;
  absl::StatusOr<std::string> config_text = fields.Text(kConfigKey);
  if (!config_text.ok()) return config_text.status();
  summary.config_text = *std::move(config_text);
  absl::StatusOr<TrainingProgress> progress = fields.Progress();
  if (!progress.ok()) return progress.status();
  summary.progress = *std::move(progress);
  return summary;
}

uint64_t SnapshotTensorBytes(const std::vector<Network*>& networks, Optimizer& optimizer) {
  uint64_t bytes = 0;
  for (Network* network : networks) {
    for (int i = 0; i < network->num_layers(); ++i) {
      for (const Parameter& p : network->layer(i).parameters()) bytes += TensorBytes(*p.value);
    }
  }
  for (const auto& [key, tensor] : optimizer.State()) bytes += TensorBytes(*tensor);
  return bytes;
}

}  // namespace mnemo
