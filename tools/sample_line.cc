#include "tools/sample_line.h"

#include <cmath>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/io/quote.h"

namespace mnemo {
namespace {

// '\r' too, so that files written on Windows read as they look.
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

absl::Status FieldError(int64_t line_number, int field, size_t offset, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("line ", line_number, ", field ", field, " (column ", offset + 1, "): ", what));
}

}  // namespace

bool IsBlankLine(absl::string_view line) {
  for (char c : line) {
    if (!IsSpace(c)) return false;
  }
  return true;
}

absl::Status ParseSampleLine(absl::string_view line, int64_t line_number, int width, float* out) {
  size_t i = 0;
  const size_t n = line.size();
  auto skip_spaces = [&] {
    while (i < n && IsSpace(line[i])) ++i;
  };
  int field = 0;
  skip_spaces();
  while (i < n) {
    const size_t start = i;
    while (i < n && line[i] != ',' && !IsSpace(line[i])) ++i;
    ++field;
    const absl::string_view token = line.substr(start, i - start);
    if (token.empty()) {
      return FieldError(line_number, field, start, "empty (two commas with nothing between)");
    }
    if (field > width) {
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
    out[field - 1] = value;
    skip_spaces();
    if (i < n && line[i] == ',') {
      ++i;
      skip_spaces();
      if (i == n) {
        return FieldError(line_number, field + 1, i, "empty (the line ends with a comma)");
      }
    }
  }
  if (field < width) {
    return absl::InvalidArgumentError(
        absl::StrCat("line ", line_number, ": ", field, " values, but a sample has ", width));
  }
  return absl::OkStatus();
}

}  // namespace mnemo
