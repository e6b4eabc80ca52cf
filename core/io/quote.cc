#include "core/io/quote.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/io/utf8.h"

namespace mnemo {

std::string QuoteValue(absl::string_view value) {
  constexpr size_t kShown = 40;
  std::string out = "\"";
  for (size_t i = 0; i < value.size() && i < kShown; ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c == '"' || c == '\\') {
      absl::StrAppend(&out, "\\", std::string(1, static_cast<char>(c)));
    } else if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppendFormat(&out, "\\x%02x", c);
    }
  }
  out.push_back('"');
  if (value.size() > kShown) absl::StrAppend(&out, " (and ", value.size() - kShown, " bytes more)");
  return out;
}

std::string TerminalSafe(absl::string_view message) {
  constexpr size_t kLongestLine = 4096;
  std::string out;
  out.reserve(std::min(message.size(), kLongestLine) + 16);
  size_t line_start = 0;  // of the line under way, in `message`
  for (size_t i = 0; i < message.size();) {
    const auto c = static_cast<unsigned char>(message[i]);
    if (c == '\n') {
      out.push_back('\n');
      line_start = ++i;
      continue;
    }
    if (i - line_start >= kLongestLine) {
      const size_t end = std::min(message.find('\n', i), message.size());
      absl::StrAppend(&out, " (and ", end - i, " bytes more)");
      i = end;
      continue;
    }
    if (c >= 0x80) {
      const size_t length = Utf8SequenceLength(message, i);
      // U+0080..U+009F (C2 80..C2 9F): control characters, CSI among them.
      const bool control =
          length == 2 && c == 0xc2 && static_cast<unsigned char>(message[i + 1]) < 0xa0;
      if (length > 0 && !control) {
        out.append(message.data() + i, length);
        i += length;
        continue;
      }
      absl::StrAppendFormat(&out, "\\x%02x", c);
      ++i;
      continue;
    }
    if (c == '\t' || (c >= 0x20 && c < 0x7f)) {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppendFormat(&out, "\\x%02x", c);
    }
    ++i;
  }
  return out;
}

}  // namespace mnemo
