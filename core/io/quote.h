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

// A whole message as a terminal may show it, whatever input it carries
// unquoted (a path, a line of a file): line breaks and tabs kept, well-formed
// UTF-8 kept but for its control characters (U+0080 to U+009F), every other
// control byte, a NUL included, and every byte of ill-formed UTF-8 as \xNN;
// a line longer than 4096 bytes cut to its first 4096 and the count of the
// rest. The tools print every error through it.
std::string TerminalSafe(absl::string_view message);

}  // namespace mnemo

#endif  // MNEMO_CORE_IO_QUOTE_H_
