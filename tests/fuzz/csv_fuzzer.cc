// Fuzzes the CSV parser (tools/data/csv.h): any input is a table or an error
// with its place; an accepted table has a cell per column in every row, each
// with a place inside the input.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/fuzz/fuzz_support.h"
#include "tools/data/csv.h"

namespace mnemo::fuzz {
namespace {

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
}

}  // namespace
}  // namespace mnemo::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mnemo::fuzz::TestOneInput(mnemo::fuzz::Bytes(data, size));
  return 0;
}
