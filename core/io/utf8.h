#ifndef MNEMO_CORE_IO_UTF8_H_
#define MNEMO_CORE_IO_UTF8_H_

#include <cstddef>

#include "absl/strings/string_view.h"

namespace mnemo {

// Well-formed UTF-8 as the Unicode standard defines it (chapter 3, table
// 3-7): no overlong forms, no surrogates, nothing beyond U+10FFFF.

// The length of the well-formed sequence starting at `s[pos]`, a byte >=
// 0x80; 0 when none starts there.
size_t Utf8SequenceLength(absl::string_view s, size_t pos);

// The offset of the first byte of `s` that is not part of a well-formed
// sequence, or absl::string_view::npos when all of `s` is well-formed.
size_t FindInvalidUtf8(absl::string_view s);

inline bool IsValidUtf8(absl::string_view s) {
  return FindInvalidUtf8(s) == absl::string_view::npos;
}

}  // namespace mnemo

#endif  // MNEMO_CORE_IO_UTF8_H_
