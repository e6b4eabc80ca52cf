// Serves a trained model's predictions: an example host program of the
// inference API (core/inference/predictor.h).
//
//   ./bazelw run //tools:serve -- --model=out/fashion_mlp/model.safetensors < samples.txt
//   D=/usr/share/datasets/fashion-mnist/t10k
//   ./bazelw run //tools:serve -- --idx=$D-images-idx3-ubyte.gz --labels=$D-labels-idx1-ubyte.gz
//
// Reads samples, one a line (the model's input width of numbers, separated by
// commas and/or spaces; blank lines skipped) from --input or stdin, or the
// images of an IDX file (--idx), and prints one label a line. With --labels
// (an IDX label file, one label per sample in order) it prints the accuracy
// last: "accuracy 0.8450 (8450 of 10000)". A bad line stops it with its line,
// field and column, and exit status 1.
//
// A model with a memory module (memory_module in its config) takes new
// examples while it serves, a class its head has no output for included (up
// to memory_module.num_classes): a line "add LABEL VALUES..." of --input or
// stdin shows the memory one example (answered samples before it are
// printed first; the add prints nothing), and --add_examples=FILE shows it a
// file of "LABEL VALUES..." lines before anything is served. LABEL is a
// class id, or one of the class names of a model trained on a CSV table (a
// new class prints as its id). --save_model=PATH keeps what was added: the
// model is written there when serving ends without an error (an existing
// file only with --overwrite):
//
//   ./bazelw run //tools:serve -- --model=m.safetensors --save_model=m2.safetensors <<EOF
//   add 10 0 0.3 ... 0.9
//   0 0.2 ... 0.8
//   EOF
//
// A model trained on a CSV table also serves one (--csv): rows with a header,
// the model's columns found by name, its answers printed as the original
// labels (or values, for a regression), and checked against the target
// column when the table has it:
//
//   ./bazelw run //tools:serve -- --model=out/cancer_csv/model.safetensors \
//       --csv=configs/data/breast_cancer_test.csv

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <istream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/inference/predictor.h"
#include "core/io/quote.h"
#include "core/io/read_file.h"
#include "core/status_macros.h"
#include "tools/data/csv.h"
#include "tools/data/readers.h"
#include "tools/paths.h"
#include "tools/run_snapshots.h"
#include "tools/sample_line.h"
#include "tools/tool_main.h"

ABSL_FLAG(std::string, model, "out/fashion_mlp/model.safetensors",
          "saved model (.safetensors), as tools/train writes it");
ABSL_FLAG(std::string, config, "", "experiment config; empty = the one stored in the model");
ABSL_FLAG(std::string, input, "", "text file of samples, one a line; empty or - = stdin");
ABSL_FLAG(std::string, idx, "", "IDX image file (raw or .gz) to classify instead of --input");
ABSL_FLAG(std::string, csv, "",
          "CSV table with a header row to serve instead of --input (- = stdin): the model's "
          "feature columns by name; its target column(s), when there, are checked");
ABSL_FLAG(std::string, labels, "", "IDX label file of the samples: print the accuracy at the end");
ABSL_FLAG(int, batch, 1, "samples classified together (answers are printed a batch at a time)");
ABSL_FLAG(std::string, add_examples, "",
          "a model with a memory module: a text file of examples to show its memory before "
          "serving, one a line: a label (class id or name), then the sample's values");
ABSL_FLAG(std::string, save_model, "",
          "write the model, with the examples added to its memory, here when serving ends");
ABSL_FLAG(bool, overwrite, false, "replace --save_model when it exists");

namespace mnemo {
namespace {

constexpr int kMaxBatch = 1 << 16;

// Gathers samples into batches, classifies each batch and prints its labels,
// and counts the answers that match the expected labels when there are some.
class BatchServer {
 public:
  BatchServer(Predictor& predictor, int batch, const std::vector<int32_t>* expected,
              bool flush_each_batch)
      : predictor_(predictor),
        batch_(batch),
        expected_(expected),
        flush_each_batch_(flush_each_batch),
        pending_(static_cast<size_t>(batch) * predictor.input_size()) {}

  // Where the next sample goes: input_size() floats.
  float* Next() { return pending_.data() + static_cast<size_t>(rows_) * predictor_.input_size(); }

  // The sample at Next() is complete.
  absl::Status Commit() {
    ++rows_;
    return rows_ == batch_ ? Flush() : absl::OkStatus();
  }

  absl::Status Flush() {
    if (rows_ == 0) return absl::OkStatus();
    if (expected_ != nullptr && served_ + rows_ > static_cast<int64_t>(expected_->size())) {
      return absl::InvalidArgumentError(
          absl::StrCat("there are more samples than the ", expected_->size(), " labels"));
    }
    MNEMO_ASSIGN_OR_RETURN(
        Predictions predictions,
        predictor_.Classify(absl::MakeConstSpan(
            pending_.data(), static_cast<size_t>(rows_) * predictor_.input_size())));
    if (predictor_.regression()) {
      // A line of values per sample, comma-separated for several targets.
      const Tensor& values = *predictions.logits;
      for (Eigen::Index r = 0; r < values.rows(); ++r) {
        std::string line;
        for (Eigen::Index c = 0; c < values.cols(); ++c) {
          absl::StrAppendFormat(&line, "%s%.6g", c > 0 ? "," : "", values(r, c));
          if (expected_values_ != nullptr) {
            const double d = values(r, c) - (*expected_values_)(served_, c);
            squared_error_ += d * d;
          }
        }
        std::printf("%s\n", line.c_str());
        ++served_;
      }
    }
    for (int32_t label : predictions.labels) {
      std::printf("%s\n", predictor_.ClassLabel(label).c_str());
      if (expected_ != nullptr && label == (*expected_)[served_]) ++correct_;
      ++served_;
    }
    // A client that waits for each answer must get it now, not when the
    // pipe's buffer fills.
    if (flush_each_batch_) std::fflush(stdout);
    rows_ = 0;
    return absl::OkStatus();
  }

  // The targets of the samples to come, for a regression model: Finish then
  // prints the RMSE.
  void ExpectValues(const Tensor* values) { expected_values_ = values; }

  // After the last Flush: the accuracy line, if there are labels (the RMSE,
  // if there are values).
  absl::Status Finish() {
    if (expected_values_ != nullptr) {
      absl::PrintF(
          "rmse %.6g (%d samples)\n",
          std::sqrt(squared_error_ / std::max<double>(1, served_ * expected_values_->cols())),
          served_);
      return absl::OkStatus();
    }
    if (expected_ == nullptr) return absl::OkStatus();
    if (served_ != static_cast<int64_t>(expected_->size())) {
      return absl::InvalidArgumentError(
          absl::StrCat("there are ", expected_->size(), " labels but ", served_, " samples"));
    }
    absl::PrintF("accuracy %.4f (%d of %d)\n",
                 served_ == 0 ? 0.0 : static_cast<double>(correct_) / served_, correct_, served_);
    return absl::OkStatus();
  }

 private:
  Predictor& predictor_;
  const int batch_;
  const std::vector<int32_t>* expected_;
  const bool flush_each_batch_;
  std::vector<float> pending_;  // batch_ samples
  int rows_ = 0;                // of pending_ filled
  int64_t served_ = 0;
  int64_t correct_ = 0;
  const Tensor* expected_values_ = nullptr;
  double squared_error_ = 0;
};

// A CSV table with a header row (RFC 4180), served by column name: the
// columns the model was trained on (its DataNames), in any order, others
// ignored. When the table also has the target column(s), the answers are
// checked against them (accuracy, or RMSE for a regression). A value that is
// missing or not a number stops it with file:line:column.
absl::Status ServeCsv(const std::string& text, const std::string& name, Predictor& predictor,
                      int batch) {
  const config::DataNames& names = predictor.names();
  if (names.feature_size() == 0) {
    return absl::FailedPreconditionError(
        "--csv serves by column name, but the model holds no column names (it was not trained "
        "on a CSV table); give samples one a line with --input");
  }
  if (names.feature_size() != predictor.input_size()) {
    return absl::DataLossError(absl::StrCat("the model names ", names.feature_size(),
                                            " columns but takes ", predictor.input_size(),
                                            " features"));
  }
  MNEMO_ASSIGN_OR_RETURN(CsvTable table, ParseCsv(text, name));
  std::vector<size_t> columns;
  for (const std::string& feature : names.feature()) {
    MNEMO_ASSIGN_OR_RETURN(size_t column, table.Column(feature));
    columns.push_back(column);
  }
  // The targets, when the table has them all.
  std::vector<size_t> targets;
  for (const std::string& target : names.target()) {
    absl::StatusOr<size_t> column = table.Column(target);
    if (column.ok()) targets.push_back(*column);
  }
  const bool checked =
      !targets.empty() && targets.size() == static_cast<size_t>(names.target_size());
  std::vector<int32_t> labels;
  Tensor values;
  if (checked && predictor.regression()) values.resize(table.rows.size(), targets.size());
  std::map<std::string, int32_t> ids;
  for (int i = 0; i < names.class_label_size(); ++i) ids[names.class_label(i)] = i;
  for (size_t r = 0; checked && r < table.rows.size(); ++r) {
    const std::string& cell = table.rows[r][targets[0]];
    if (predictor.regression()) {
      for (size_t t = 0; t < targets.size(); ++t) {
        float value;
        if (!absl::SimpleAtof(table.rows[r][targets[t]], &value) || !std::isfinite(value)) {
          return absl::InvalidArgumentError(absl::StrCat(
              table.Where(r, targets[t]), QuoteValue(table.rows[r][targets[t]]),
              " in the target column \"", table.header[targets[t]], "\" is not a number"));
        }
        values(r, t) = value;
      }
      continue;
    }
    auto it = ids.find(std::string(absl::StripAsciiWhitespace(cell)));
    if (it == ids.end()) {
      return absl::InvalidArgumentError(absl::StrCat(table.Where(r, targets[0]), "label ",
                                                     QuoteValue(cell),
                                                     " is not one of the "
                                                     "model's ",
                                                     ids.size(), " classes"));
    }
    labels.push_back(it->second);
  }
  BatchServer server(predictor, batch, checked && !predictor.regression() ? &labels : nullptr,
                     /*flush_each_batch=*/false);
  if (checked && predictor.regression()) server.ExpectValues(&values);
  for (size_t r = 0; r < table.rows.size(); ++r) {
    float* sample = server.Next();
    for (size_t j = 0; j < columns.size(); ++j) {
      const std::string& cell = table.rows[r][columns[j]];
      if (!absl::SimpleAtof(absl::StripAsciiWhitespace(cell), &sample[j]) ||
          !std::isfinite(sample[j])) {
        return absl::InvalidArgumentError(absl::StrCat(table.Where(r, columns[j]), QuoteValue(cell),
                                                       " in column \"", table.header[columns[j]],
                                                       "\" is not a finite number"));
      }
    }
    MNEMO_RETURN_IF_ERROR(server.Commit());
  }
  MNEMO_RETURN_IF_ERROR(server.Flush());
  return server.Finish();
}

// The class id of an example's label as a user writes it: one of the
// model's class names (a CSV table's), else an id; either a class the memory
// holds.
absl::StatusOr<int32_t> ExampleClass(const Predictor& predictor, absl::string_view text) {
  const config::DataNames& names = predictor.names();
  for (int i = 0; i < names.class_label_size(); ++i) {
    if (names.class_label(i) == text) return i;
  }
  int32_t id = 0;
  if (!absl::SimpleAtoi(text, &id) || id < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(QuoteValue(text), " is neither a class id (an integer >= 0) nor ",
                     names.class_label_size() > 0 ? "one of the model's class names"
                                                  : "a class name (the model names none)"));
  }
  const int classes = predictor.memory_num_classes();
  if (id >= classes) {
    return absl::InvalidArgumentError(absl::StrCat("class ", id, " is not one the memory holds (",
                                                   classes, " classes, 0 to ", classes - 1,
                                                   ": memory_module.num_classes)"));
  }
  return id;
}

// Reads one example of `line` (from offset `start`) into *label and
// `values`; errors name `name` and the line.
absl::Status ParseExample(const std::string& name, absl::string_view line, size_t start,
                          int64_t number, const Predictor& predictor, int32_t* label,
                          float* values) {
  return WithPrefix(
      ParseExampleLine(
          line, start, number, predictor.input_size(),
          [&predictor](absl::string_view text) { return ExampleClass(predictor, text); }, label,
          values),
      name);
}

absl::Status RequireMemory(const Predictor& predictor, absl::string_view what) {
  if (predictor.has_memory()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat(what,
                   " shows examples to a model's memory, but this model has no memory module "
                   "(memory_module.type in its config)"));
}

// --add_examples: every example of the file, shown to the memory at once
// (none of them replaces another: MemoryModule::Write).
absl::Status AddExamplesFromFile(const std::string& path, Predictor& predictor) {
  MNEMO_RETURN_IF_ERROR(RequireMemory(predictor, "--add_examples"));
  MNEMO_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  MNEMO_ASSIGN_OR_RETURN(
      ExampleLines examples,
      ParseExampleLines(text, path, predictor.input_size(), [&predictor](absl::string_view label) {
        return ExampleClass(predictor, label);
      }));
  if (examples.labels.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, " holds no example"));
  }
  const Tensor samples = Eigen::Map<const Tensor>(examples.values.data(),
                                                  static_cast<Eigen::Index>(examples.labels.size()),
                                                  predictor.input_size());
  return WithPrefix(predictor.AddExamples(samples, examples.labels), path);
}

absl::Status ServeText(std::istream& in, const std::string& name, Predictor& predictor,
                       BatchServer& server) {
  std::string line;
  Tensor example(1, predictor.input_size());
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (IsBlankLine(line)) continue;
    if (size_t after = 0; IsAddLine(line, &after)) {
      const std::string where = absl::StrCat(name, ": line ", number);
      MNEMO_RETURN_IF_ERROR(RequireMemory(predictor, where + ": an add line"));
      // The samples before it are answered by the memory as it was.
      MNEMO_RETURN_IF_ERROR(server.Flush());
      int32_t label = 0;
      MNEMO_RETURN_IF_ERROR(
          ParseExample(name, line, after, number, predictor, &label, example.data()));
      MNEMO_RETURN_IF_ERROR(WithPrefix(predictor.AddExamples(example, {label}), where));
      continue;
    }
    MNEMO_RETURN_IF_ERROR(
        WithPrefix(ParseSampleLine(line, number, predictor.input_size(), server.Next()), name));
    MNEMO_RETURN_IF_ERROR(server.Commit());
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat("error reading ", name));
  return server.Flush();
}

absl::Status ServeImages(const Tensor& images, const std::string& name, Predictor& predictor,
                         BatchServer& server) {
  if (images.cols() != predictor.input_size()) {
    return absl::InvalidArgumentError(absl::StrCat(name, " has images of ", images.cols(),
                                                   " pixels, but the model takes ",
                                                   predictor.input_size(), " features"));
  }
  for (Eigen::Index r = 0; r < images.rows(); ++r) {
    Eigen::Map<Vector>(server.Next(), images.cols()) = images.row(r);
    MNEMO_RETURN_IF_ERROR(server.Commit());
  }
  return server.Flush();
}

absl::StatusOr<std::string> OptionalInputFile(const std::string& flag) {
  if (flag.empty()) return std::string();
  return FindInputFile(flag);
}

// Serves the samples of --input (or stdin), --idx or --csv.
absl::Status Serve(Predictor& predictor_ref, int batch, const std::string& input_flag,
                   const std::string& idx, const std::string& csv_flag,
                   const std::string& labels_path) {
  Predictor* predictor = &predictor_ref;

  if (predictor->regression() && !labels_path.empty()) {
    return absl::InvalidArgumentError(
        "--labels are class labels, but this model is a regression (model.loss " +
        config::Model::Loss_Name(predictor->config().experiment().model().loss()) +
        "): it answers values");
  }
  if (!csv_flag.empty()) {
    if (!labels_path.empty()) {
      return absl::InvalidArgumentError(
          "--labels goes with --idx or --input; a --csv table with the target column is checked "
          "against it");
    }
    std::string text;
    std::string name = "stdin";
    if (csv_flag == "-") {
      text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
      if (std::cin.bad()) return absl::DataLossError("error reading stdin");
    } else {
      MNEMO_ASSIGN_OR_RETURN(name, FindInputFile(csv_flag));
      MNEMO_ASSIGN_OR_RETURN(text, ReadFileToString(name));
    }
    return ServeCsv(text, name, *predictor, batch);
  }

  // The samples' labels, when given; read before any answer is printed.
  std::optional<Dataset> labelled;  // --idx with --labels: read together, counts checked
  std::vector<int32_t> labels;
  if (!idx.empty() && !labels_path.empty()) {
    MNEMO_ASSIGN_OR_RETURN(Dataset data, ReadIdx(idx, labels_path));
    labelled = std::move(data);
  } else if (!labels_path.empty()) {
    MNEMO_ASSIGN_OR_RETURN(std::vector<int32_t> read, ReadIdxLabels(labels_path));
    labels = std::move(read);
  }
  const std::vector<int32_t>* expected = labelled              ? &labelled->labels
                                         : labels_path.empty() ? nullptr
                                                               : &labels;

  if (!idx.empty()) {
    BatchServer server(*predictor, batch, expected, /*flush_each_batch=*/false);
    if (labelled) {
      MNEMO_RETURN_IF_ERROR(ServeImages(labelled->features, idx, *predictor, server));
    } else {
      MNEMO_ASSIGN_OR_RETURN(Tensor images, ReadIdxImages(idx));
      MNEMO_RETURN_IF_ERROR(ServeImages(images, idx, *predictor, server));
    }
    return server.Finish();
  }

  const bool from_stdin = input_flag.empty() || input_flag == "-";
  BatchServer server(*predictor, batch, expected, /*flush_each_batch=*/from_stdin);
  absl::Status served;
  if (from_stdin) {
    served = ServeText(std::cin, "stdin", *predictor, server);
  } else {
    MNEMO_ASSIGN_OR_RETURN(std::string path, FindInputFile(input_flag));
    std::ifstream in(path);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
    served = ServeText(in, path, *predictor, server);
  }
  if (!served.ok()) return served;
  return server.Finish();
}

absl::Status Run() {
  const int batch = absl::GetFlag(FLAGS_batch);
  if (batch <= 0) return absl::InvalidArgumentError("--batch must be > 0");
  // Its buffer is allocated up front: a typo must not exhaust memory.
  if (batch > kMaxBatch) {
    return absl::InvalidArgumentError(absl::StrCat("--batch must be at most ", kMaxBatch));
  }
  const std::string input_flag = absl::GetFlag(FLAGS_input);
  const std::string idx_flag = absl::GetFlag(FLAGS_idx);
  const std::string csv_flag = absl::GetFlag(FLAGS_csv);
  if (!input_flag.empty() + !idx_flag.empty() + !csv_flag.empty() > 1) {
    return absl::InvalidArgumentError("give one of --input, --idx and --csv");
  }
  MNEMO_ASSIGN_OR_RETURN(std::string model, FindInputFile(absl::GetFlag(FLAGS_model)));
  MNEMO_ASSIGN_OR_RETURN(std::string config, OptionalInputFile(absl::GetFlag(FLAGS_config)));
  MNEMO_ASSIGN_OR_RETURN(std::string idx, OptionalInputFile(idx_flag));
  MNEMO_ASSIGN_OR_RETURN(std::string labels_path, OptionalInputFile(absl::GetFlag(FLAGS_labels)));

  // A file that would be replaced is refused before anything is served.
  const std::string save_path = absl::GetFlag(FLAGS_save_model);
  const bool overwrite = absl::GetFlag(FLAGS_overwrite);
  if (!save_path.empty() && !overwrite && FileExists(save_path)) {
    return absl::AlreadyExistsError(absl::StrCat(
        "--save_model=", save_path, " exists: give another path, or --overwrite to replace it"));
  }
  MNEMO_ASSIGN_OR_RETURN(std::string add_path,
                         OptionalInputFile(absl::GetFlag(FLAGS_add_examples)));

  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Predictor> predictor, Predictor::Load(config, model));
  if (!add_path.empty()) MNEMO_RETURN_IF_ERROR(AddExamplesFromFile(add_path, *predictor));
  MNEMO_RETURN_IF_ERROR(Serve(*predictor, batch, input_flag, idx, csv_flag, labels_path));
  if (save_path.empty()) return absl::OkStatus();
  return predictor->Save(save_path, overwrite);
}

}  // namespace
}  // namespace mnemo

int main(int argc, char** argv) {
  return mnemo::RunTool(argc, argv, "serve",
                        "Prints a saved model's label for each sample, one a line.\n"
                        "  bazel run //tools:serve -- --model=FILE [--config=FILE] "
                        "[--input=FILE | --idx=FILE | --csv=FILE] [--labels=FILE] [--batch=N]\n"
                        "      [--add_examples=FILE] [--save_model=FILE [--overwrite]]\n"
                        "A model with a memory module also takes examples while it serves: a\n"
                        "line \"add LABEL VALUES...\" of --input or stdin shows its memory one\n"
                        "(LABEL: a class id, even one the head lacks, or a class name), and\n"
                        "--add_examples a file of \"LABEL VALUES...\" lines; --save_model keeps\n"
                        "them in a model file.",
                        &mnemo::Run);
}
