#include "core/io/strict_json.h"

#include <cstdint>
#include <set>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "core/io/utf8.h"
#include "core/status_macros.h"

namespace mnemo {
namespace json {
namespace {

// Deep enough for any header; shallow enough that a hostile file cannot
// overflow the stack of this recursive parser.
constexpr int kMaxDepth = 64;

void AppendUtf8(uint32_t code_point, std::string* out) {
  if (code_point < 0x80) {
    out->push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

// How a byte is shown in an error: 'x' when printable, else its hex value.
std::string Describe(char c) {
  const auto byte = static_cast<uint8_t>(c);
  if (byte >= 0x20 && byte < 0x7F) return absl::StrCat("'", absl::string_view(&c, 1), "'");
  return absl::StrFormat("byte 0x%02x", byte);
}

class Parser {
 public:
  Parser(absl::string_view text, uint64_t base_offset)
      : text_(text), base_offset_(base_offset) {}

  absl::StatusOr<Value> ParseDocument() {
    SkipWhitespace();
    absl::StatusOr<Value> value = ParseValue(0);
    if (!value.ok()) return value;
    SkipWhitespace();
    if (pos_ != text_.size()) {
      return Error(absl::StrCat("unexpected ", Describe(text_[pos_]), " after the JSON value"));
    }
    return value;
  }

 private:
  absl::Status Error(absl::string_view what) const { return ErrorAt(pos_, what); }
  absl::Status ErrorAt(size_t pos, absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat("at byte ", base_offset_ + pos, ": ", what));
  }

  bool AtEnd() const { return pos_ >= text_.size(); }

  void SkipWhitespace() {
    while (!AtEnd()) {
      const char c = text_[pos_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
      ++pos_;
    }
  }

  // Consumes `c` after optional whitespace, or fails saying what was expected.
  absl::Status Expect(char c, absl::string_view context) {
    SkipWhitespace();
    if (AtEnd()) {
      return Error(absl::StrCat("expected '", absl::string_view(&c, 1), "' ", context,
                                ", found the end of the JSON text"));
    }
    if (text_[pos_] != c) {
      return Error(absl::StrCat("expected '", absl::string_view(&c, 1), "' ", context,
                                ", found ", Describe(text_[pos_])));
    }
    ++pos_;
    return absl::OkStatus();
  }

  absl::StatusOr<Value> ParseValue(int depth) {
    if (AtEnd()) return Error("expected a JSON value, found the end of the JSON text");
    const char c = text_[pos_];
    if (c == '{' || c == '[') {
      if (depth >= kMaxDepth) {
        return Error(absl::StrCat("JSON nested more than ", kMaxDepth, " levels deep"));
      }
      return c == '{' ? ParseObject(depth + 1) : ParseArray(depth + 1);
    }
    if (c == '"') {
      Value value;
      value.kind = Value::Kind::kString;
      value.offset = base_offset_ + pos_;
      MNEMO_RETURN_IF_ERROR(ParseString(&value.string));
      return value;
    }
    if (c >= '0' && c <= '9') return ParseInteger();
    if (c == '-') return Error("negative numbers are not supported here");
    if (c == 't' || c == 'f' || c == 'n') {
      return Error("true, false and null are not supported here");
    }
    return Error(absl::StrCat("expected a JSON value, found ", Describe(c)));
  }

  absl::StatusOr<Value> ParseObject(int depth) {
    Value value;
    value.kind = Value::Kind::kObject;
    value.offset = base_offset_ + pos_;
    ++pos_;  // '{'
    SkipWhitespace();
    if (!AtEnd() && text_[pos_] == '}') {
      ++pos_;
      return value;
    }
    std::set<std::string> keys;
    while (true) {
      SkipWhitespace();
      if (AtEnd() || text_[pos_] != '"') {
        return Error(absl::StrCat("expected a string key in the object, found ",
                                  AtEnd() ? "the end of the JSON text" : Describe(text_[pos_])));
      }
      const size_t key_pos = pos_;
      std::string key;
      MNEMO_RETURN_IF_ERROR(ParseString(&key));
      if (!keys.insert(key).second) {
        std::string quoted;
        AppendQuoted(key, &quoted);
        return ErrorAt(key_pos, absl::StrCat("duplicate key ", quoted));
      }
      MNEMO_RETURN_IF_ERROR(Expect(':', "after the key"));
      SkipWhitespace();
      MNEMO_ASSIGN_OR_RETURN(Value member, ParseValue(depth));
      value.members.emplace_back(std::move(key), std::move(member));
      SkipWhitespace();
      if (!AtEnd() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (absl::Status s = Expect('}', "or ',' in the object"); !s.ok()) return s;
      return value;
    }
  }

  absl::StatusOr<Value> ParseArray(int depth) {
    Value value;
    value.kind = Value::Kind::kArray;
    value.offset = base_offset_ + pos_;
    ++pos_;  // '['
    SkipWhitespace();
    if (!AtEnd() && text_[pos_] == ']') {
      ++pos_;
      return value;
    }
    while (true) {
      SkipWhitespace();
      MNEMO_ASSIGN_OR_RETURN(Value element, ParseValue(depth));
      value.elements.push_back(std::move(element));
      SkipWhitespace();
      if (!AtEnd() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      MNEMO_RETURN_IF_ERROR(Expect(']', "or ',' in the array"));
      return value;
    }
  }

  absl::StatusOr<Value> ParseInteger() {
    Value value;
    value.kind = Value::Kind::kInteger;
    value.offset = base_offset_ + pos_;
    const size_t start = pos_;
    if (text_[pos_] == '0' && pos_ + 1 < text_.size() && text_[pos_ + 1] >= '0' &&
        text_[pos_ + 1] <= '9') {
      return Error("numbers may not have leading zeros");
    }
    uint64_t n = 0;
    while (!AtEnd() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const uint64_t digit = static_cast<uint64_t>(text_[pos_] - '0');
      if (n > (UINT64_MAX - digit) / 10) {
        return ErrorAt(start, "integer too large for 64 bits");
      }
      n = n * 10 + digit;
      ++pos_;
    }
    if (!AtEnd() && (text_[pos_] == '.' || text_[pos_] == 'e' || text_[pos_] == 'E')) {
      return ErrorAt(start, "only integers are supported here");
    }
    value.integer = n;
    return value;
  }

  // At a '"': reads the string literal into `out`, decoding escapes.
  absl::Status ParseString(std::string* out) {
    const size_t start = pos_;
    ++pos_;  // '"'
    while (true) {
      if (AtEnd()) return ErrorAt(start, "unterminated string");
      const char c = text_[pos_];
      const auto byte = static_cast<uint8_t>(c);
      if (c == '"') {
        ++pos_;
        return absl::OkStatus();
      }
      if (byte < 0x20) return Error("control character in a string (must be escaped)");
      if (byte >= 0x80) {
        const size_t length = Utf8SequenceLength(text_, pos_);
        if (length == 0) return Error("invalid UTF-8");
        out->append(text_.data() + pos_, length);
        pos_ += length;
        continue;
      }
      if (c != '\\') {
        out->push_back(c);
        ++pos_;
        continue;
      }
      MNEMO_RETURN_IF_ERROR(ParseEscape(out));
    }
  }

  // At a '\\' inside a string.
  absl::Status ParseEscape(std::string* out) {
    const size_t start = pos_;
    ++pos_;
    if (AtEnd()) return ErrorAt(start, "unterminated escape sequence");
    const char c = text_[pos_++];
    switch (c) {
      case '"': out->push_back('"'); return absl::OkStatus();
      case '\\': out->push_back('\\'); return absl::OkStatus();
      case '/': out->push_back('/'); return absl::OkStatus();
      case 'b': out->push_back('\b'); return absl::OkStatus();
      case 'f': out->push_back('\f'); return absl::OkStatus();
      case 'n': out->push_back('\n'); return absl::OkStatus();
      case 'r': out->push_back('\r'); return absl::OkStatus();
      case 't': out->push_back('\t'); return absl::OkStatus();
      case 'u': break;
      default:
        return ErrorAt(start, absl::StrCat("invalid escape sequence \\", Describe(c)));
    }
    MNEMO_ASSIGN_OR_RETURN(uint32_t unit, ParseHex4(start));
    uint32_t code_point = unit;
    if (code_point >= 0xDC00 && code_point <= 0xDFFF) {
      return ErrorAt(start, "unpaired low surrogate in \\u escape");
    }
    if (code_point >= 0xD800 && code_point <= 0xDBFF) {
      if (text_.substr(pos_, 2) != "\\u") {
        return ErrorAt(start, "high surrogate in \\u escape without a low surrogate");
      }
      const size_t low_start = pos_;
      pos_ += 2;
      MNEMO_ASSIGN_OR_RETURN(uint32_t low, ParseHex4(low_start));
      if (low < 0xDC00 || low > 0xDFFF) {
        return ErrorAt(start, "high surrogate in \\u escape without a low surrogate");
      }
      code_point = 0x10000 + ((code_point - 0xD800) << 10) + (low - 0xDC00);
    }
    AppendUtf8(code_point, out);
    return absl::OkStatus();
  }

  // Reads the four hex digits of a \u escape starting at `escape_start`.
  absl::StatusOr<uint32_t> ParseHex4(size_t escape_start) {
    if (text_.size() - pos_ < 4) return ErrorAt(escape_start, "truncated \\u escape");
    uint32_t unit = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_ + i];
      uint32_t digit;
      if (c >= '0' && c <= '9') {
        digit = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        digit = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        digit = c - 'A' + 10;
      } else {
        return ErrorAt(escape_start, "\\u escape needs four hex digits");
      }
      unit = unit * 16 + digit;
    }
    pos_ += 4;
    return unit;
  }

  absl::string_view text_;
  uint64_t base_offset_;
  size_t pos_ = 0;
};

}  // namespace

const char* KindName(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::kObject: return "an object";
    case Value::Kind::kArray: return "an array";
    case Value::Kind::kString: return "a string";
    case Value::Kind::kInteger: return "an integer";
  }
  return "a value";
}

absl::StatusOr<Value> Parse(absl::string_view text, uint64_t base_offset) {
  return Parser(text, base_offset).ParseDocument();
}

void AppendQuoted(absl::string_view s, std::string* out) {
  out->push_back('"');
  for (const char c : s) {
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (static_cast<uint8_t>(c) < 0x20) {
          absl::StrAppendFormat(out, "\\u%04x", static_cast<uint8_t>(c));
        } else {
          out->push_back(c);  // UTF-8 goes through unchanged
        }
    }
  }
  out->push_back('"');
}

}  // namespace json
}  // namespace mnemo
