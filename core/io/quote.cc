#include "core/io/quote.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

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

}  // namespace mnemo
