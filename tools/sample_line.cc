#include "tools/sample_line.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/io/quote.h"

namespace mnemo {
namespace {

// '\r' too, so that files written on Windows read as they look.
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

absl::Status FieldError(int64_t line_number, int field, size_t offset, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("line ", line_number, ", field ", field, " (column ", offset + 1, "): ", what));
}

// The values of `line` from offset `i` on, as ParseSampleLine reads a whole
// line; the first is field `field` + 1 (fields before it, a label, were
// read by the caller).
absl::Status ParseValues(absl::string_view line, size_t i, int field, int64_t line_number,
                         int width, float* out) {
  const size_t n = line.size();
  const int first = field;
  auto skip_spaces = [&] {
    while (i < n && IsSpace(line[i])) ++i;
  };
  skip_spaces();
  while (i < n) {
    const size_t start = i;
    while (i < n && line[i] != ',' && !IsSpace(line[i])) ++i;
    ++field;
    const absl::string_view token = line.substr(start, i - start);
    if (token.empty()) {
      return FieldError(line_number, field, start, "empty (two commas with nothing between)");
    }
    if (field - first > width) {
      return FieldError(line_number, field, start,
                        absl::StrCat("more than the ", width, " values a sample has"));
    }
    float value = 0;
    if (!absl::SimpleAtof(token, &value)) {
      return FieldError(line_number, field, start,
                        absl::StrCat(QuoteValue(token), " is not a number"));
    }
    if (!std::isfinite(value)) {
      // Also a number too large for a float ("1e39").
      return FieldError(line_number, field, start,
                        absl::StrCat(QuoteValue(token), " is not finite"));
    }
    out[field - first - 1] = value;
    skip_spaces();
    if (i < n && line[i] == ',') {
      ++i;
      skip_spaces();
      if (i == n) {
        return FieldError(line_number, field + 1, i, "empty (the line ends with a comma)");
      }
    }
  }
  if (field - first < width) {
    return absl::InvalidArgumentError(absl::StrCat("line ", line_number, ": ", field - first,
                                                   " values, but a sample has ", width));
  }
  return absl::OkStatus();
}

}  // namespace

bool IsBlankLine(absl::string_view line) {
  for (char c : line) {
    if (!IsSpace(c)) return false;
  }
  return true;
}

absl::StatusOr<ExampleLines> ParseExampleLines(
    absl::string_view text, absl::string_view name, int width,
    absl::FunctionRef<absl::StatusOr<int32_t>(absl::string_view)> label) {
  ExampleLines examples;
  std::vector<float> row(static_cast<size_t>(width));
  int64_t number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    if (IsBlankLine(line)) continue;
    int32_t id = 0;
    if (absl::Status s = ParseExampleLine(line, 0, number, width, label, &id, row.data());
        !s.ok()) {
      return absl::Status(s.code(), absl::StrCat(name, ": ", s.message()));
    }
    examples.labels.push_back(id);
    examples.values.insert(examples.values.end(), row.begin(), row.end());
  }
  return examples;
}

bool IsAddLine(absl::string_view line, size_t* after) {
  size_t i = 0;
  while (i < line.size() && IsSpace(line[i])) ++i;
  constexpr absl::string_view kAdd = "add";
  if (line.substr(i, kAdd.size()) != kAdd) return false;
  i += kAdd.size();
  if (i < line.size() && !IsSpace(line[i])) return false;
  *after = i;
  return true;
}

absl::Status ParseSampleLine(absl::string_view line, int64_t line_number, int width, float* out) {
  return ParseValues(line, 0, 0, line_number, width, out);
}

absl::Status ParseExampleLine(absl::string_view line, size_t start, int64_t line_number, int width,
                              absl::FunctionRef<absl::StatusOr<int32_t>(absl::string_view)> label,
                              int32_t* label_out, float* out) {
  size_t i = std::min(start, line.size());
  const size_t n = line.size();
  while (i < n && IsSpace(line[i])) ++i;
  const size_t label_start = i;
  while (i < n && line[i] != ',' && !IsSpace(line[i])) ++i;
  const absl::string_view token = line.substr(label_start, i - label_start);
  if (token.empty()) {
    return FieldError(line_number, 1, label_start,
                      i < n ? "empty (a label, then the sample's values)"
                            : "no label (a label, then the sample's values)");
  }
  absl::StatusOr<int32_t> id = label(token);
  if (!id.ok()) return FieldError(line_number, 1, label_start, id.status().message());
  *label_out = *id;
  while (i < n && IsSpace(line[i])) ++i;
  if (i < n && line[i] == ',') ++i;
  return ParseValues(line, i, 1, line_number, width, out);
}

}  // namespace mnemo
