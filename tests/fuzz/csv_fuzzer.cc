// Fuzzes the CSV parser (tools/data/csv.h): any input is a table or an error
// with its place; an accepted table has a cell per column in every row, each
// with a place inside the input. An accepted table of two columns or more is
// then read by the "csv" data format (tools/data/csv_format.cc) as a
// classifier's or a regression's data, its last column the target, with one
// of the missing-value policies: an error names the file; a data set has as many
// labels (or target rows) as feature rows, finite features, and labels below
// its class count.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/config.pb.h"
#include "core/data_format.h"
#include "tests/fuzz/fuzz_support.h"
#include "tools/data/csv.h"
#include "tools/data/formats.h"

namespace mnemo::fuzz {
namespace {

void CheckSet(const Dataset& set, bool regression) {
  if (set.features.rows() != set.size() || !set.features.allFinite()) {
    Fail("a set whose features do not match its answers, or are not finite");
  }
  if (regression) {
    if (!set.labels.empty() || !set.targets.allFinite()) Fail("a regression set with labels");
    return;
  }
  for (int32_t label : set.labels) {
    if (label < 0 || label >= set.num_classes) Fail(absl::StrCat("label ", label, " out of range"));
  }
}

// One reading per input, its task and missing-value policy drawn from the
// input's size: mutations reach every combination, at the cost of one.
void ReadAsData(const CsvTable& table, absl::string_view bytes) {
  static ScratchFile* file = new ScratchFile("input.csv");
  file->Write(bytes);
  const bool regression = bytes.size() % 2 == 1;
  static constexpr config::Data::Missing kPolicies[] = {config::Data::ERROR, config::Data::DROP_ROW,
                                                        config::Data::MEAN, config::Data::ZERO};
  config::Data data;
  data.set_format("csv");
  data.set_train_file(file->path());
  data.set_test_file(file->path());
  data.add_target(table.header.back());
  data.set_missing(kPolicies[(bytes.size() / 2) % 4]);
  const absl::StatusOr<TrainTestData> read = MakeCsvFormat(DataFormatArgs{regression})->Load(data);
  if (!read.ok()) {
    if (!absl::StrContains(read.status().message(), file->path())) {
      Fail(absl::StrCat("an error that names no file: ", read.status().ToString()));
    }
    return;
  }
  CheckSet(read->train, regression);
  CheckSet(read->test, regression);
}

void TestOneInput(absl::string_view bytes) {
  const absl::StatusOr<CsvTable> table = ParseCsv(bytes, "input.csv");
  if (!table.ok()) {
    if (!absl::StartsWith(table.status().message(), "input.csv:")) {
      Fail(absl::StrCat("an error without its place: ", table.status().ToString()));
    }
    return;
  }
  int64_t lines = 1;
  for (char c : bytes) lines += c == '\n';
  for (size_t r = 0; r < table->rows.size(); ++r) {
    if (table->rows[r].size() != table->header.size() ||
        table->positions[r].size() != table->header.size()) {
      Fail(absl::StrCat("row ", r, " has another number of cells than the header"));
    }
    for (const CsvPosition& at : table->positions[r]) {
      if (at.line < 1 || at.line > lines || at.column < 1 ||
          at.column > static_cast<int64_t>(bytes.size()) + 1) {
        Fail(absl::StrCat("a cell of row ", r, " is placed outside the input: ", at.line, ":",
                          at.column));
      }
    }
  }
  if (table->header.size() >= 2) ReadAsData(*table, bytes);
}

}  // namespace
}  // namespace mnemo::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mnemo::fuzz::TestOneInput(mnemo::fuzz::Bytes(data, size));
  return 0;
}
