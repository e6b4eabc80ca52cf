// ParseSampleLine (tools/sample_line.h): the values of a sample line, and
// errors that point at the field.
#include "tools/sample_line.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mnemo {
namespace {

using ::testing::ElementsAre;

std::vector<float> Parse(absl::string_view line, int width) {
  std::vector<float> out(width, -99.0f);
  const absl::Status status = ParseSampleLine(line, 1, width, out.data());
  EXPECT_TRUE(status.ok()) << status;
  return out;
}

std::string Error(absl::string_view line, int width) {
  std::vector<float> out(width);
  return std::string(ParseSampleLine(line, 7, width, out.data()).message());
}

TEST(SampleLineTest, ReadsCommasSpacesAndBoth) {
  EXPECT_THAT(Parse("1,2.5,-3", 3), ElementsAre(1.0f, 2.5f, -3.0f));
  EXPECT_THAT(Parse("1 2.5\t-3", 3), ElementsAre(1.0f, 2.5f, -3.0f));
  EXPECT_THAT(Parse("  1 , 2.5 ,-3  \r", 3), ElementsAre(1.0f, 2.5f, -3.0f));
  EXPECT_THAT(Parse("+1e-3,0.0,1E2", 3), ElementsAre(1e-3f, 0.0f, 100.0f));
}

TEST(SampleLineTest, NamesLineFieldAndColumn) {
  EXPECT_EQ(Error("1,2,3", 2), "line 7, field 3 (column 5): more than the 2 values a sample has");
  EXPECT_EQ(Error("1", 2), "line 7: 1 values, but a sample has 2");
  EXPECT_EQ(Error("", 2), "line 7: 0 values, but a sample has 2");
  EXPECT_EQ(Error("1, 1.2.3", 2), "line 7, field 2 (column 4): \"1.2.3\" is not a number");
  EXPECT_EQ(Error("1e39 1", 2), "line 7, field 1 (column 1): \"1e39\" is not finite");
  EXPECT_EQ(Error("-inf 1", 2), "line 7, field 1 (column 1): \"-inf\" is not finite");
  EXPECT_EQ(Error(",1", 2), "line 7, field 1 (column 1): empty (two commas with nothing between)");
  EXPECT_EQ(Error("1 ,", 2), "line 7, field 2 (column 4): empty (the line ends with a comma)");
}

TEST(SampleLineTest, AQuotedTokenIsEscapedAndShortened) {
  // A terminal escape, a NUL (which would cut a C string short), a quote, a
  // byte of UTF-8, and a token of 100 MB: the message stays one short line.
  EXPECT_EQ(Error("1,\x1b[2J", 2), "line 7, field 2 (column 3): \"\\x1b[2J\" is not a number");
  EXPECT_EQ(Error(std::string("1,a\0b", 5), 2),
            "line 7, field 2 (column 3): \"a\\x00b\" is not a number");
  EXPECT_EQ(Error("1,\"x\xc3\xa9", 2),
            "line 7, field 2 (column 3): \"\\\"x\\xc3\\xa9\" is not a number");
  const std::string huge = "1," + std::string(100 << 20, '7') + "x";
  EXPECT_EQ(Error(huge, 2),
            "line 7, field 2 (column 3): \"7777777777777777777777777777777777777777\" (and "
            "104857561 bytes more) is not a number");
}

TEST(SampleLineTest, BlankLines) {
  EXPECT_TRUE(IsBlankLine(""));
  EXPECT_TRUE(IsBlankLine(" \t\r"));
  EXPECT_FALSE(IsBlankLine(" 0"));
}

}  // namespace
}  // namespace mnemo
