#ifndef MNEMO_TESTS_TESTING_CONFIG_TEXT_H_
#define MNEMO_TESTS_TESTING_CONFIG_TEXT_H_

// Where a config loader's message should point, counted independently of the
// loader.

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace mnemo::testing {

// "PATH:LINE:COLUMN: " of the first `needle` in `text` (1-based; the texts
// have no tabs).
inline std::string ConfigAt(const std::string& path, const std::string& text,
                            const std::string& needle) {
  const size_t offset = text.find(needle);
  EXPECT_NE(offset, std::string::npos) << needle;
  int line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return absl::StrCat(path, ":", line, ":", offset - line_start + 1, ": ");
}

}  // namespace mnemo::testing

#endif  // MNEMO_TESTS_TESTING_CONFIG_TEXT_H_
