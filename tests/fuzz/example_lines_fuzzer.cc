// Fuzzes the readers of labelled examples tools/serve takes while it serves a
// model with a memory (tools/sample_line.h): ParseExampleLines on the whole
// input as an --add_examples file, and each line as the text stream reads it
// (an add line by ParseExampleLine, any other by ParseSampleLine). Accepted:
// a label the resolver gave and kExampleWidth finite values per example.
// Refused: an error naming the file (for the file) and a line of the input,
// and, when it names a column, one within that line (or just past its end).

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/fuzz/example_lines_input.h"
#include "tests/fuzz/fuzz_support.h"
#include "tools/sample_line.h"

namespace mnemo::fuzz {
namespace {

// The number after `key` in `message` ("line 3" -> 3), or -1.
int64_t NumberAfter(absl::string_view message, absl::string_view key) {
  const size_t at = message.find(key);
  if (at == absl::string_view::npos) return -1;
  absl::string_view rest = message.substr(at + key.size());
  size_t digits = 0;
  while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
  int64_t n = -1;
  if (!absl::SimpleAtoi(rest.substr(0, digits), &n)) return -1;
  return n;
}

// An error of line `line` (1-based) of `lines`, starting with `prefix`.
void CheckError(absl::string_view message, absl::string_view prefix,
                const std::vector<absl::string_view>& lines) {
  if (!absl::StartsWith(message, prefix)) {
    Fail(absl::StrCat("an error without its place: ", message));
  }
  const int64_t line = NumberAfter(message, "line ");
  if (line < 1 || line > static_cast<int64_t>(lines.size())) {
    Fail(absl::StrCat("an error naming a line the input lacks: ", message));
  }
  const int64_t column = NumberAfter(message, "(column ");
  if (column != -1 && (column < 1 || column > static_cast<int64_t>(lines[line - 1].size()) + 1)) {
    Fail(absl::StrCat("an error naming a column outside its line: ", message));
  }
}

void CheckValues(const float* values, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(values[i])) Fail("an accepted value that is not finite");
  }
}

void TestOneInput(absl::string_view bytes) {
  const std::vector<absl::string_view> lines = absl::StrSplit(bytes, '\n');
  const absl::StatusOr<ExampleLines> file =
      ParseExampleLines(bytes, "input.txt", kExampleWidth, &ExampleLabel);
  if (!file.ok()) {
    CheckError(file.status().message(), "input.txt: line ", lines);
  } else {
    if (file->values.size() != file->labels.size() * kExampleWidth) {
      Fail("examples whose values are not kExampleWidth a label");
    }
    for (int32_t label : file->labels) {
      if (label < 0 || label >= kExampleClasses) Fail(absl::StrCat("label ", label));
    }
    CheckValues(file->values.data(), file->values.size());
  }
  std::vector<float> values(kExampleWidth);
  for (size_t i = 0; i < lines.size(); ++i) {
    const absl::string_view line = lines[i];
    const int64_t number = static_cast<int64_t>(i) + 1;
    if (IsBlankLine(line)) continue;
    std::fill(values.begin(), values.end(), NAN);
    size_t after = 0;
    absl::Status status;
    int32_t label = -1;
    const bool add = IsAddLine(line, &after);
    if (add) {
      if (after > line.size()) Fail("an add line's word past its end");
      status = ParseExampleLine(line, after, number, kExampleWidth, &ExampleLabel, &label,
                                values.data());
    } else {
      status = ParseSampleLine(line, number, kExampleWidth, values.data());
    }
    if (!status.ok()) {
      CheckError(status.message(), absl::StrCat("line ", number), lines);
      continue;
    }
    if (add && (label < 0 || label >= kExampleClasses)) Fail(absl::StrCat("label ", label));
    CheckValues(values.data(), values.size());  // every one written, all finite
  }
}

}  // namespace
}  // namespace mnemo::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mnemo::fuzz::TestOneInput(mnemo::fuzz::Bytes(data, size));
  return 0;
}
