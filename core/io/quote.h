#ifndef MNEMO_CORE_IO_QUOTE_H_
#define MNEMO_CORE_IO_QUOTE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace mnemo {

// Quotes a piece of a user's input for a message, so that whatever it holds
// the message stays one readable line: printable ASCII as it is (a quote and
// a backslash escaped), every other byte (a terminal escape, a NUL, a line
// break, UTF-8) as \xNN, and a value longer than 40 bytes cut to its first
// 40 and the count of the rest: "\"0.5x\"", "\"\\x1b[2J\"",
// "\"aaaa...\" (and 99999960 bytes more)".
std::string QuoteValue(absl::string_view value);

}  // namespace mnemo

#endif  // MNEMO_CORE_IO_QUOTE_H_
