// CSV tables: RFC 4180's quoting (commas, line breaks and "" inside quotes),
// LF and CRLF line ends, a header row of unique names, and the line and
// column of every cell; malformed files refused with file:line:column.

#include "tools/data/csv.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mnemo {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

CsvTable Parse(const std::string& text) {
  absl::StatusOr<CsvTable> table = ParseCsv(text, "t.csv");
  EXPECT_TRUE(table.ok()) << table.status();
  return table.ok() ? *std::move(table) : CsvTable();
}

std::string Refusal(const std::string& text) {
  absl::StatusOr<CsvTable> table = ParseCsv(text, "t.csv");
  EXPECT_FALSE(table.ok());
  return std::string(table.status().message());
}

TEST(CsvTest, ReadsRfc4180Quoting) {
  const CsvTable table = Parse(
      "name,note,price\n"
      "plain,\"a, b\",1.5\n"
      "\"quoted\",\"two\nlines\",2\n"
      "x,\"say \"\"hi\"\"\",-3e-2\n");
  EXPECT_THAT(table.header, ElementsAre("name", "note", "price"));
  ASSERT_EQ(table.rows.size(), 3u);
  EXPECT_THAT(table.rows[0], ElementsAre("plain", "a, b", "1.5"));
  EXPECT_THAT(table.rows[1], ElementsAre("quoted", "two\nlines", "2"));
  EXPECT_THAT(table.rows[2], ElementsAre("x", "say \"hi\"", "-3e-2"));
  // Every cell knows where it starts, across the quoted line break too.
  EXPECT_EQ(table.Where(0, 2), "t.csv:2:14: ");
  EXPECT_EQ(table.Where(1, 1), "t.csv:3:10: ");
  EXPECT_EQ(table.Where(1, 2), "t.csv:4:8: ");
  EXPECT_EQ(table.Where(2, 0), "t.csv:5:1: ");
}

TEST(CsvTest, ReadsCrlfEmptyCellsAndNoFinalNewline) {
  const CsvTable table = Parse("a,b,c\r\n1,,3\r\n\r\n,5,\r\n7,8,9");
  ASSERT_EQ(table.rows.size(), 3u);
  EXPECT_THAT(table.rows[0], ElementsAre("1", "", "3"));
  EXPECT_THAT(table.rows[1], ElementsAre("", "5", ""));
  EXPECT_THAT(table.rows[2], ElementsAre("7", "8", "9"));
  EXPECT_EQ(table.Where(0, 1), "t.csv:2:3: ");  // an empty cell: where it would be
  EXPECT_EQ(table.Where(2, 2), "t.csv:5:5: ");
  ASSERT_TRUE(table.Column("c").ok());
  EXPECT_EQ(*table.Column("c"), 2u);
  EXPECT_EQ(table.Column("d").status().message(),
            "t.csv has no column \"d\" (its columns: \"a\", \"b\", \"c\")");
}

TEST(CsvTest, RefusesMalformedFilesWithTheirPlace) {
  EXPECT_THAT(Refusal("a,b\n1,x\"y\n"), HasSubstr("t.csv:2:4: malformed quoting"));
  EXPECT_THAT(Refusal("a,b\n1,\"xy\"z\n"), HasSubstr("t.csv:2:7: malformed quoting"));
  EXPECT_EQ(Refusal("a,b\n1,\"never closed\n2,3\n"), "t.csv:2:3: a quoted field is never closed");
  EXPECT_EQ(Refusal("a,b\n1,2,3\n"), "t.csv:2:1: a row of 3 cells; the header names 2 columns");
  EXPECT_EQ(Refusal("a,b\n1\n"), "t.csv:2:1: a row of 1 cells; the header names 2 columns");
  EXPECT_EQ(Refusal("a,,c\n"), "t.csv:1:3: column 2 of the header row has no name");
  EXPECT_EQ(Refusal("a,b,a\n"),
            "t.csv:1:5: column \"a\" is named twice in the header row (columns 1 and 3)");
  EXPECT_EQ(Refusal(""),
            "t.csv:1:1: the file is empty; a CSV file needs a header row naming its columns");
}

TEST(CsvTest, QuotesValuesSafelyForMessages) {
  EXPECT_EQ(QuoteValue("plain"), "\"plain\"");
  EXPECT_EQ(QuoteValue(std::string("nul\0\x1b[31m", 9)), "\"nul\\x00\\x1b[31m\"");
  EXPECT_EQ(QuoteValue(std::string(100, 'z')),
            "\"" + std::string(40, 'z') + "\" (and 60 bytes more)");
}

TEST(CsvTest, MessagesAreMadeSafeForATerminalWhole) {
  // Lines and tabs kept; UTF-8 kept; control bytes, C1 controls and
  // ill-formed bytes escaped; a NUL does not end the message.
  EXPECT_EQ(TerminalSafe("a.csv:2:3: bad\n\tnext line"), "a.csv:2:3: bad\n\tnext line");
  EXPECT_EQ(TerminalSafe("caf\xc3\xa9 \xe2\x82\xac"), "caf\xc3\xa9 \xe2\x82\xac");
  EXPECT_EQ(TerminalSafe(std::string("/tmp/x\x1b[2J\0y\xc2\x9b\xff", 15)),
            "/tmp/x\\x1b[2J\\x00y\\xc2\\x9b\\xff");
  // A line past 4096 bytes is cut, each line on its own.
  const std::string long_line(5000, 'p');
  EXPECT_EQ(TerminalSafe(long_line + "\nshort"),
            std::string(4096, 'p') + " (and 904 bytes more)\nshort");
}

}  // namespace
}  // namespace mnemo
