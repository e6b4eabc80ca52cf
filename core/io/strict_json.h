#ifndef MNEMO_CORE_IO_STRICT_JSON_H_
#define MNEMO_CORE_IO_STRICT_JSON_H_

// A small strict JSON parser for file headers read from untrusted files (the
// safetensors header). It accepts only what such headers need: objects, arrays,
// strings and non-negative integers; anything else (numbers with a sign,
// fraction or exponent, true/false/null, invalid UTF-8, duplicate keys) is
// refused with its byte offset. Internal to core/io.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mnemo {
namespace json {

struct Value {
  enum class Kind { kObject, kArray, kString, kInteger };
  Kind kind = Kind::kObject;
  uint64_t offset = 0;  // where the value starts, in the caller's coordinates
  std::string string;   // kString
  uint64_t integer = 0;  // kInteger
  std::vector<Value> elements;  // kArray
  std::vector<std::pair<std::string, Value>> members;  // kObject, in file order
};

// "an object", "an array", ... for error messages.
const char* KindName(Value::Kind kind);

// Parses `text`, one value optionally surrounded by whitespace. Offsets in
// values and errors are `base_offset` plus the position in `text`, so that they
// can be those of the whole file. Errors read "at byte N: what".
absl::StatusOr<Value> Parse(absl::string_view text, uint64_t base_offset = 0);

// Appends `s` (valid UTF-8) as a JSON string literal, quotes included.
void AppendQuoted(absl::string_view s, std::string* out);

}  // namespace json
}  // namespace mnemo

#endif  // MNEMO_CORE_IO_STRICT_JSON_H_
