#include "core/config_diff.h"

#include <algorithm>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace mnemo {
namespace {

// At most this many differing config lines are quoted on each side.
constexpr size_t kMaxQuotedLines = 6;

// Text-format lines, each prefixed with the path of its message
// ("trainer.optimizer.learning_rate: 0.1"), so that a line says on its own
// which field it is.
std::vector<std::string> QualifiedLines(const std::string& text) {
  std::vector<std::string> path;
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    if (line == "}") {
      if (!path.empty()) path.pop_back();
    } else if (absl::EndsWith(line, " {")) {
      path.emplace_back(line.substr(0, line.size() - 2));
    } else {
      lines.push_back(path.empty() ? std::string(line)
                                   : absl::StrCat(absl::StrJoin(path, "."), ".", line));
    }
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::string QuoteLines(const std::vector<std::string>& lines) {
  if (lines.empty()) return "nothing else";
  std::vector<std::string> quoted;
  for (size_t i = 0; i < lines.size() && i < kMaxQuotedLines; ++i) {
    quoted.push_back(absl::StrCat("`", lines[i], "`"));
  }
  std::string text = absl::StrJoin(quoted, ", ");
  if (lines.size() > kMaxQuotedLines) {
    absl::StrAppend(&text, " and ", lines.size() - kMaxQuotedLines, " more");
  }
  return text;
}

}  // namespace

ConfigDifference DiffConfigText(const std::string& first, const std::string& second) {
  ConfigDifference difference;
  if (first == second) return difference;
  const std::vector<std::string> a = QualifiedLines(first);
  const std::vector<std::string> b = QualifiedLines(second);
  std::vector<std::string> only_a, only_b;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(only_a));
  std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(only_b));
  if (only_a.empty() && only_b.empty()) return difference;
  difference.same = false;
  difference.only_first = QuoteLines(only_a);
  difference.only_second = QuoteLines(only_b);
  return difference;
}

}  // namespace mnemo
