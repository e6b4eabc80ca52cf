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
#include "core/config_diff.h"
#include "core/io/quote.h"
#include "core/io/safetensors.h"
#include "core/model_tensors.h"
#include "core/status_macros.h"
#include "google/protobuf/text_format.h"

namespace mnemo {
namespace {

// kParameterPrefix, kBufferPrefix and kStatePrefix: core/model_tensors.h.
constexpr char kOptimizerPrefix[] = "optimizer/";
constexpr char kBestPrefix[] = "best/";

constexpr char kFormatKey[] = "mnemo.snapshot";
constexpr char kFormatVersion[] = "2";
constexpr char kConfigKey[] = "mnemo.config";
constexpr char kEpochKey[] = "mnemo.epoch";
constexpr char kBatchKey[] = "mnemo.batch";
constexpr char kStepKey[] = "mnemo.step";
constexpr char kLossSumKey[] = "mnemo.epoch_loss_sum";
constexpr char kCorrectKey[] = "mnemo.epoch_correct";
constexpr char kSamplesKey[] = "mnemo.epoch_samples";
constexpr char kSkippedKey[] = "mnemo.epoch_skipped";
constexpr char kSecondsKey[] = "mnemo.epoch_seconds";
constexpr char kPartSumsKey[] = "mnemo.epoch_part_sums";
constexpr char kHistoryKey[] = "mnemo.history";
constexpr char kBestKey[] = "mnemo.early_stopping";
constexpr char kChecksumKey[] = "mnemo.checksum";
// The ranks the run was split over (data parallelism); absent: one.
constexpr char kRanksKey[] = "mnemo.ranks";

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

// The tensors a snapshot of `model` and `optimizer` holds, by their names in
// the file; an error for two parameters of one name.
absl::StatusOr<std::map<std::string, Tensor*>> SnapshotTensors(TrainableModel& model,
                                                               Optimizer& optimizer) {
  std::map<std::string, Tensor*> tensors;
  auto add = [&](std::string name, Tensor* tensor) -> absl::Status {
    if (!tensors.emplace(name, tensor).second) {
      return absl::InvalidArgumentError(absl::StrCat("two tensors would be named \"", name,
                                                     "\": a snapshot needs unique layer names"));
    }
    return absl::OkStatus();
  };
  for (const SavedModelTensor& t : SavedModelTensors(model)) {
    MNEMO_RETURN_IF_ERROR(add(t.name, t.value));
  }
  for (const auto& [key, tensor] : optimizer.State()) {
    MNEMO_RETURN_IF_ERROR(add(absl::StrCat(kOptimizerPrefix, key), tensor));
  }
  return tensors;
}

// "name value" lines, in name order.
std::string FiguresText(const Figures& figures, char separator) {
  std::vector<std::string> entries;
  for (const auto& [name, value] : figures) {
    entries.push_back(absl::StrCat(name, std::string(1, separator), ExactDouble(value)));
  }
  return absl::StrJoin(entries, separator == '=' ? " " : "\n");
}

// A line per epoch: its eight figures, then the model's as name=value.
std::string HistoryText(const std::vector<EpochMetrics>& history) {
  std::vector<std::string> lines;
  for (const EpochMetrics& m : history) {
    std::string line = absl::StrCat(
        m.epoch, " ", ExactDouble(m.train_loss), " ", ExactDouble(m.train_accuracy), " ",
        ExactDouble(m.test_loss), " ", ExactDouble(m.test_accuracy), " ",
        ExactDouble(m.train_seconds), " ", ExactDouble(m.samples_per_second), " ", m.skipped_steps);
    if (!m.figures.empty()) absl::StrAppend(&line, " ", FiguresText(m.figures, '='));
    lines.push_back(std::move(line));
  }
  return absl::StrJoin(lines, "\n");
}

// Reads "name<separator>value" entries into `figures`; false on a malformed one.
bool ParseFigures(const std::vector<absl::string_view>& entries, char separator, Figures* figures) {
  for (absl::string_view entry : entries) {
    const size_t at = entry.find(separator);
    double value = 0;
    if (at == absl::string_view::npos || at == 0 ||
        !absl::SimpleAtod(entry.substr(at + 1), &value) ||
        !figures->emplace(std::string(entry.substr(0, at)), value).second) {
      return false;
    }
  }
  return true;
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
    MNEMO_ASSIGN_OR_RETURN(std::string text, Text(key));
    if (!absl::SimpleAtoi(text, out)) {
      return Error(
          absl::StrCat("metadata \"", key, "\" is ", QuoteValue(text), ", not an integer"));
    }
    return absl::OkStatus();
  }

  absl::Status Double(const char* key, double* out) const {
    MNEMO_ASSIGN_OR_RETURN(std::string text, Text(key));
    if (!absl::SimpleAtod(text, out)) {
      return Error(absl::StrCat("metadata \"", key, "\" is ", QuoteValue(text), ", not a number"));
    }
    return absl::OkStatus();
  }

  absl::Status History(std::vector<EpochMetrics>* history) const {
    MNEMO_ASSIGN_OR_RETURN(std::string text, Text(kHistoryKey));
    int line_number = 0;
    for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
      ++line_number;
      const std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
      EpochMetrics m;
      bool ok = fields.size() >= 8 && absl::SimpleAtoi(fields[0], &m.epoch) &&
                absl::SimpleAtod(fields[1], &m.train_loss) &&
                absl::SimpleAtod(fields[2], &m.train_accuracy) &&
                absl::SimpleAtod(fields[3], &m.test_loss) &&
                absl::SimpleAtod(fields[4], &m.test_accuracy) &&
                absl::SimpleAtod(fields[5], &m.train_seconds) &&
                absl::SimpleAtod(fields[6], &m.samples_per_second) &&
                absl::SimpleAtoi(fields[7], &m.skipped_steps) &&
                ParseFigures({fields.begin() + 8, fields.end()}, '=', &m.figures);
      if (!ok || m.epoch != line_number) {
        return Error(absl::StrCat("line ", line_number, " of metadata \"", kHistoryKey, "\" is \"",
                                  line, "\", not epoch ", line_number,
                                  ", its 7 figures and the model's as name=value"));
      }
      history->push_back(m);
    }
    return absl::OkStatus();
  }

  absl::Status PartSums(Figures* sums) const {
    MNEMO_ASSIGN_OR_RETURN(std::string text, Text(kPartSumsKey));
    if (!ParseFigures(absl::StrSplit(text, '\n', absl::SkipEmpty()), ' ', sums)) {
      return Error(absl::StrCat("metadata \"", kPartSumsKey, "\" is \"", text,
                                "\", not a \"name value\" line per part of the loss"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<TrainingProgress> Progress() const {
    TrainingProgress p;
    for (absl::Status s :
         {Integer(kEpochKey, &p.epoch), Integer(kBatchKey, &p.batch), Integer(kStepKey, &p.step),
          Double(kLossSumKey, &p.loss_sum), Integer(kCorrectKey, &p.correct),
          Integer(kSamplesKey, &p.samples), Integer(kSkippedKey, &p.skipped),
          Double(kSecondsKey, &p.train_seconds), PartSums(&p.part_sums), History(&p.history)}) {
      if (!s.ok()) return s;
    }
    if (metadata_.count(kRanksKey) > 0) {
      MNEMO_RETURN_IF_ERROR(Integer(kRanksKey, &p.ranks));
      if (p.ranks < 1) return Error(absl::StrCat("metadata \"", kRanksKey, "\" is ", p.ranks));
    }
    // Early stopping's "best epoch, its value, stopped (0/1)"; absent without it.
    if (metadata_.count(kBestKey) > 0) {
      MNEMO_ASSIGN_OR_RETURN(std::string text, Text(kBestKey));
      const std::vector<absl::string_view> fields = absl::StrSplit(text, ' ');
      int stopped = 0;
      if (fields.size() != 3 || !absl::SimpleAtoi(fields[0], &p.best_epoch) ||
          !absl::SimpleAtod(fields[1], &p.best_value) || !absl::SimpleAtoi(fields[2], &stopped) ||
          p.best_epoch < 0 || p.best_epoch >= p.epoch || (stopped != 0 && stopped != 1)) {
        return Error(absl::StrCat("metadata \"", kBestKey, "\" is \"", text,
                                  "\", not \"best-epoch value stopped\""));
      }
      p.stopped_early = stopped == 1;
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

absl::Status CheckConfig(const std::string& path, const std::string& snapshot_text,
                         const std::string& run_text) {
  const ConfigDifference difference = DiffConfigText(snapshot_text, run_text);
  if (difference.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat(path,
                   " was written by another config (a resumed run must train the same model the "
                   "same way; only output settings and trainer.nonfinite may change): the snapshot "
                   "has ",
                   difference.only_first, " where this run has ", difference.only_second));
}

std::string ShapeText(Eigen::Index rows, Eigen::Index cols) {
  return absl::StrCat("[", rows, ", ", cols, "]");
}

}  // namespace

std::string TrainingConfigText(const config::Experiment& experiment) {
  config::Experiment training = experiment;
  training.clear_output();
  training.mutable_trainer()->clear_nonfinite();
  // How many ranks and how they talk: the snapshot's ranks (TrainingProgress)
  // say what a resume must match.
  training.mutable_trainer()->clear_distributed();
  std::string text;
  google::protobuf::TextFormat::PrintToString(training, &text);
  return text;
}

absl::Status WriteSnapshot(const std::string& path, TrainableModel& model, Optimizer& optimizer,
                           const TrainingProgress& progress, const std::string& config_text) {
  optimizer.CreateState(model.TrainableParameters());
  absl::StatusOr<std::map<std::string, Tensor*>> tensors = SnapshotTensors(model, optimizer);
  if (!tensors.ok()) return WithPrefix(tensors.status(), absl::StrCat("cannot write ", path));
  TensorFile file;
  for (const auto& [name, tensor] : *tensors) file.tensors.emplace(name, *tensor);
  for (auto& [name, tensor] : model.ExportState()) {
    file.tensors.emplace(absl::StrCat(kStatePrefix, name), std::move(tensor));
  }
  std::map<std::string, std::string>& metadata = file.metadata;
  metadata[kFormatKey] = kFormatVersion;
  metadata[kConfigKey] = config_text;
  metadata[kEpochKey] = absl::StrCat(progress.epoch);
  metadata[kBatchKey] = absl::StrCat(progress.batch);
  metadata[kStepKey] = absl::StrCat(progress.step);
  metadata[kLossSumKey] = ExactDouble(progress.loss_sum);
  metadata[kCorrectKey] = absl::StrCat(progress.correct);
  metadata[kSamplesKey] = absl::StrCat(progress.samples);
  metadata[kSkippedKey] = absl::StrCat(progress.skipped);
  if (progress.ranks != 1) metadata[kRanksKey] = absl::StrCat(progress.ranks);
  metadata[kSecondsKey] = ExactDouble(progress.train_seconds);
  metadata[kPartSumsKey] = FiguresText(progress.part_sums, ' ');
  metadata[kHistoryKey] = HistoryText(progress.history);
  if (progress.best_epoch > 0) {
    metadata[kBestKey] = absl::StrCat(progress.best_epoch, " ", ExactDouble(progress.best_value),
                                      " ", progress.stopped_early ? 1 : 0);
    for (const auto& [name, tensor] : progress.best_model) {
      file.tensors.emplace(absl::StrCat(kBestPrefix, name), tensor);
    }
  }
  metadata[kChecksumKey] = Checksum(file);
  return WriteSafetensors(path, file);
}

absl::StatusOr<RestoredSnapshot> RestoreSnapshot(const std::string& path,
                                                 const std::string& config_text,
                                                 TrainableModel& model, Optimizer& optimizer) {
  MNEMO_ASSIGN_OR_RETURN(TensorFile file, ReadSafetensors(path));
  MNEMO_RETURN_IF_ERROR(CheckFormat(path, file.metadata));
  const MetadataReader metadata(path, file.metadata);
  MNEMO_ASSIGN_OR_RETURN(std::string stored_checksum, metadata.Text(kChecksumKey));
  if (const std::string computed = Checksum(file); computed != stored_checksum) {
    return metadata.Error(absl::StrCat("the checksum is ", computed, " but the file says ",
                                       stored_checksum, ": the snapshot is damaged"));
  }
  MNEMO_ASSIGN_OR_RETURN(std::string stored_config, metadata.Text(kConfigKey));
  MNEMO_RETURN_IF_ERROR(CheckConfig(path, stored_config, config_text));
  MNEMO_ASSIGN_OR_RETURN(TrainingProgress progress, metadata.Progress());

  optimizer.CreateState(model.TrainableParameters());
  absl::StatusOr<std::map<std::string, Tensor*>> targets = SnapshotTensors(model, optimizer);
  if (!targets.ok()) return WithPrefix(targets.status(), absl::StrCat("cannot restore ", path));
  std::vector<std::string> problems;
  for (const auto& [name, target] : *targets) {
    auto it = file.tensors.find(name);
    if (it == file.tensors.end()) {
      problems.push_back(absl::StrCat("tensor \"", name, "\" is missing"));
    } else if (it->second.rows() != target->rows() || it->second.cols() != target->cols()) {
      problems.push_back(absl::StrCat(
          "tensor \"", name, "\" has shape ", ShapeText(it->second.rows(), it->second.cols()),
          " but the run needs ", ShapeText(target->rows(), target->cols())));
    }
  }
  // A snapshot holds F32 tensors only (the checksum covers nothing else).
  for (const auto& [name, tensor] : file.narrow_tensors) {
    problems.push_back(
        absl::StrCat("tensor ", QuoteValue(name), " is ", DtypeName(tensor.dtype), ", not F32"));
  }
  std::map<std::string, Tensor> state;
  for (auto& [name, tensor] : file.tensors) {
    if (absl::StartsWith(name, kStatePrefix)) {
      state.emplace(name.substr(sizeof(kStatePrefix) - 1), std::move(tensor));
    } else if (absl::StartsWith(name, kBestPrefix) && progress.best_epoch > 0) {
      progress.best_model.emplace(name.substr(sizeof(kBestPrefix) - 1), tensor);
    } else if (targets->count(name) == 0) {
      problems.push_back(absl::StrCat("tensor ", QuoteValue(name), " is not in this run"));
    }
  }
  if (!problems.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " does not match this run's model and optimizer: ", absl::StrJoin(problems, "; ")));
  }
  // The model takes its state back all or nothing, before anything else is
  // changed; after it nothing can fail.
  MNEMO_RETURN_IF_ERROR(WithPrefix(model.ImportState(state),
                                   absl::StrCat(path, ": the model refuses the state it holds")));
  // Copied, not moved, into the parameters, whose buffers a backend may have
  // kept pointers to.
  for (const auto& [name, target] : *targets) *target = file.tensors.at(name);
  for (const SavedModelTensor& t : SavedModelTensors(model)) {
    if (t.layer != nullptr) t.layer->MarkParametersUpdated();
  }
  return RestoredSnapshot{std::move(progress)};
}

absl::StatusOr<SnapshotSummary> ReadSnapshotSummary(const std::string& path) {
  MNEMO_ASSIGN_OR_RETURN(SafetensorsReader reader, SafetensorsReader::Open(path));
  const std::map<std::string, std::string>& metadata = reader.header().metadata;
  MNEMO_RETURN_IF_ERROR(CheckFormat(path, metadata));
  const MetadataReader fields(path, metadata);
  SnapshotSummary summary;
  MNEMO_ASSIGN_OR_RETURN(std::string config_text, fields.Text(kConfigKey));
  summary.config_text = std::move(config_text);
  MNEMO_ASSIGN_OR_RETURN(TrainingProgress progress, fields.Progress());
  summary.progress = std::move(progress);
  return summary;
}

uint64_t SnapshotTensorBytes(TrainableModel& model, Optimizer& optimizer) {
  uint64_t bytes = 0;
  for (const SavedModelTensor& t : SavedModelTensors(model)) bytes += TensorBytes(*t.value);
  for (const auto& [key, tensor] : optimizer.State()) bytes += TensorBytes(*tensor);
  return bytes;
}

}  // namespace mnemo
