#include "tools/data/csv.h"

#include <csv.h>

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/io/read_file.h"
#include "core/status_macros.h"

namespace mnemo {
namespace {

// Collects libcsv's fields and rows with the offset where each field starts.
// libcsv reports a field when it ends; feeding it one byte at a time tells
// where that is, and so where the next one starts.
class Collector {
 public:
  explicit Collector(absl::string_view text) : text_(text) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  // Feeds byte `i`; false when libcsv refuses it.
  bool Feed(csv_parser* parser, size_t i) {
    const char c = text_[i];
    if (!row_open_ && c != '\r' && c != '\n') {
      row_open_ = true;
      field_start_ = i;
    }
    offset_ = i;
    return csv_parse(parser, &text_[i], 1, &OnField, &OnRow, this) == 1;
  }

  bool Finish(csv_parser* parser) {
    offset_ = text_.size();
    return csv_fini(parser, &OnField, &OnRow, this) == 0;
  }

  CsvPosition PositionOf(size_t offset) const {
    const size_t line =
        std::upper_bound(line_starts_.begin(), line_starts_.end(), offset) - line_starts_.begin();
    return {static_cast<int64_t>(line), static_cast<int64_t>(offset - line_starts_[line - 1] + 1)};
  }

  size_t field_start() const { return field_start_; }
  std::vector<std::vector<std::string>>& rows() { return rows_; }
  std::vector<std::vector<CsvPosition>>& positions() { return positions_; }

 private:
  static void OnField(void* field, size_t length, void* self) {
    auto* c = static_cast<Collector*>(self);
    c->cells_.emplace_back(static_cast<const char*>(field), length);
    c->cell_positions_.push_back(c->PositionOf(c->field_start_));
    c->field_start_ = c->offset_ + 1;  // after the comma that ended it
  }

  static void OnRow(int /*terminator*/, void* self) {
    auto* c = static_cast<Collector*>(self);
    c->rows_.push_back(std::move(c->cells_));
    c->positions_.push_back(std::move(c->cell_positions_));
    c->cells_.clear();
    c->cell_positions_.clear();
    c->row_open_ = false;
  }

  absl::string_view text_;
  std::vector<size_t> line_starts_;
  size_t offset_ = 0;       // of the byte being fed
  size_t field_start_ = 0;  // of the field being read
  bool row_open_ = false;
  std::vector<std::string> cells_;
  std::vector<CsvPosition> cell_positions_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<std::vector<CsvPosition>> positions_;
};

std::string At(const std::string& name, const CsvPosition& at) {
  return absl::StrCat(name, ":", at.line, ":", at.column, ": ");
}

}  // namespace

std::string CsvTable::Where(size_t row, size_t column) const {
  return At(name, positions[row][column]);
}

absl::StatusOr<size_t> CsvTable::Column(absl::string_view wanted) const {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == wanted) return i;
  }
  std::vector<std::string> quoted;
  for (const std::string& column : header) quoted.push_back(QuoteValue(column));
  return absl::NotFoundError(absl::StrCat(name, " has no column ", QuoteValue(wanted),
                                          " (its columns: ", absl::StrJoin(quoted, ", "), ")"));
}

absl::StatusOr<CsvTable> ParseCsv(absl::string_view text, const std::string& name) {
  csv_parser parser;
  if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI) != 0) {
    return absl::ResourceExhaustedError(absl::StrCat(name, ": cannot start the CSV parser"));
  }
  Collector collector(text);
  for (size_t i = 0; i < text.size(); ++i) {
    if (!collector.Feed(&parser, i)) {
      const int error = csv_error(&parser);
      csv_free(&parser);
      if (error != CSV_EPARSE) {
        return absl::ResourceExhaustedError(absl::StrCat(name, ": ", csv_strerror(error)));
      }
      return absl::InvalidArgumentError(absl::StrCat(
          At(name, collector.PositionOf(i)),
          "malformed quoting: a quote inside an unquoted field, or text after a closing quote "
          "(RFC 4180: quote the whole field, and write a quote in it as \"\")"));
    }
  }
  if (!collector.Finish(&parser)) {
    csv_free(&parser);
    return absl::InvalidArgumentError(absl::StrCat(
        At(name, collector.PositionOf(collector.field_start())), "a quoted field is never closed"));
  }
  csv_free(&parser);

  std::vector<std::vector<std::string>>& rows = collector.rows();
  std::vector<std::vector<CsvPosition>>& positions = collector.positions();
  if (rows.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name,
                     ":1:1: the file is empty; a CSV file needs a header row naming its "
                     "columns"));
  }
  CsvTable table;
  table.name = name;
  table.header = std::move(rows[0]);
  std::map<std::string, size_t> seen;
  for (size_t c = 0; c < table.header.size(); ++c) {
    const std::string& column = table.header[c];
    if (column.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(At(name, positions[0][c]), "column ", c + 1,
                                                     " of the header row has no name"));
    }
    if (auto [it, added] = seen.emplace(column, c); !added) {
      return absl::InvalidArgumentError(absl::StrCat(
          At(name, positions[0][c]), "column ", QuoteValue(column),
          " is named twice in the header row (columns ", it->second + 1, " and ", c + 1, ")"));
    }
  }
  for (size_t r = 1; r < rows.size(); ++r) {
    if (rows[r].size() != table.header.size()) {
      return absl::InvalidArgumentError(absl::StrCat(At(name, positions[r][0]), "a row of ",
                                                     rows[r].size(), " cells; the header names ",
                                                     table.header.size(), " columns"));
    }
  }
  table.rows.assign(std::make_move_iterator(rows.begin() + 1), std::make_move_iterator(rows.end()));
  table.positions.assign(std::make_move_iterator(positions.begin() + 1),
                         std::make_move_iterator(positions.end()));
  return table;
}

absl::StatusOr<CsvTable> ReadCsv(const std::string& path) {
  MNEMO_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  return ParseCsv(text, path);
}

}  // namespace mnemo
