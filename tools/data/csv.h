#ifndef MNEMO_TOOLS_DATA_CSV_H_
#define MNEMO_TOOLS_DATA_CSV_H_

// CSV tables (RFC 4180: fields in double quotes may hold commas, line breaks
// and "" for a quote; lines end in LF or CRLF), parsed by Debian's libcsv in
// strict mode, with a header row that names the columns. Every cell keeps
// where it starts in the file, so that an error about a value can name the
// file, the line and the column.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/io/quote.h"

namespace mnemo {

struct CsvPosition {
  int64_t line = 0;    // 1-based
  int64_t column = 0;  // 1-based, in bytes
};

struct CsvTable {
  std::string name;                 // the file, for messages
  std::vector<std::string> header;  // the column names
  // The data rows, each with a cell per column: its text (quotes removed)
  // and where it starts.
  std::vector<std::vector<std::string>> rows;
  std::vector<std::vector<CsvPosition>> positions;

  // "file.csv:12:7: " for the cell of data row `row`, column `column`.
  std::string Where(size_t row, size_t column) const;
  // The index of the column named `name`; NotFound lists the columns.
  absl::StatusOr<size_t> Column(absl::string_view name) const;
};

// Parses `text`, the contents of the file `name`. Refuses, with name:line:col:
// malformed quoting (a quote inside an unquoted field, text after a closing
// quote, a quote never closed), a header that is empty, has an empty or
// repeated name, and a data row with another number of cells than the
// header has names. Blank lines (nothing between two line ends) are skipped.
absl::StatusOr<CsvTable> ParseCsv(absl::string_view text, const std::string& name);

// Reads and parses the file at `path`.
absl::StatusOr<CsvTable> ReadCsv(const std::string& path);

}  // namespace mnemo

#endif  // MNEMO_TOOLS_DATA_CSV_H_
