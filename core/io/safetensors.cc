#include "core/io/safetensors.h"


#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "core/io/atomic_file.h"
#include "core/io/read_file.h"
#include "core/io/strict_json.h"
#include "core/tensor.h"

namespace mnemo {
namespace {

constexpr char kMetadataKey[] = "__metadata__";
constexpr uint64_t kHeaderLengthBytes = 8;
// Far beyond any real header (a few hundred bytes a tensor), and small enough
// that a corrupt length cannot make the reader parse a whole weight file.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
// Eigen indexes with ptrdiff_t, but no tensor of this framework comes near
// this; a larger dimension is a corrupt file, even with a zero beside it.
constexpr uint64_t kMaxDimension = INT32_MAX;

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.cc copies float data as is and needs a little-endian host"
#endif

std::string Quote(absl::string_view s) {
  std::string out;
  json::AppendQuoted(s, &out);
  return out;
}

void AppendUint64LittleEndian(uint64_t n, std::string* out) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
}

uint64_t ReadUint64LittleEndian(absl::string_view bytes) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes[i]);
  return n;
}

// One tensor's entry of the header, checked on its own.
struct Entry {
  std::string name;
  uint64_t begin = 0;  // data_offsets, relative to the data area
  uint64_t end = 0;
  Eigen::Index rows = 0;
  Eigen::Index cols = 0;
};

class HeaderChecker {
 public:
  HeaderChecker(const std::string& file, uint64_t data_bytes)
      : file_(file), data_bytes_(data_bytes) {}

  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(file_, ": ", what));
  }

  absl::Status CheckMetadata(const json::Value& value,
                             std::map<std::string, std::string>* metadata) const {
    if (value.kind != json::Value::Kind::kObject) {
      return Error(absl::StrCat("\"__metadata__\" at byte ", value.offset, " is ",
                                json::KindName(value.kind), ", not an object"));
    }
    for (const auto& [key, member] : value.members) {
      if (member.kind != json::Value::Kind::kString) {
        return Error(absl::StrCat("metadata value of key ", Quote(key), " at byte ",
                                  member.offset, " is ", json::KindName(member.kind),
                                  ", not a string"));
      }
      (*metadata)[key] = member.string;
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Entry> CheckTensor(const std::string& name, const json::Value& value) const {
    const std::string tensor = absl::StrCat("tensor ", Quote(name));
    if (value.kind != json::Value::Kind::kObject) {
      return Error(absl::StrCat(tensor, " at byte ", value.offset, " is ",
                                json::KindName(value.kind), ", not an object"));
    }
    const json::Value* dtype = nullptr;
    const json::Value* shape = nullptr;
    const json::Value* offsets = nullptr;
    for (const auto& [key, member] : value.members) {
      if (key == "dtype") {
        dtype = &member;
      } else if (key == "shape") {
        shape = &member;
      } else if (key == "data_offsets") {
        offsets = &member;
      } else {
        return Error(absl::StrCat(tensor, " has an unknown key ", Quote(key),
                                  " (at byte ", member.offset, ")"));
      }
    }
    for (const auto& [field, key] : {std::pair{dtype, "dtype"}, std::pair{shape, "shape"},
                                     std::pair{offsets, "data_offsets"}}) {
      if (field == nullptr) {
        return Error(absl::StrCat(tensor, " at byte ", value.offset, " has no \"", key, "\""));
      }
    }

    if (dtype->kind != json::Value::Kind::kString) {
      return Error(absl::StrCat("dtype of ", tensor, " at byte ", dtype->offset, " is ",
                                json::KindName(dtype->kind), ", not a string"));
    }
    if (dtype->string != "F32") {
      return Error(absl::StrCat(tensor, " has dtype ", Quote(dtype->string),
                                "; only F32 is supported"));
    }

    absl::StatusOr<std::vector<uint64_t>> dims = Integers(*shape, "shape", tensor);
    if (!dims.ok()) return dims.status();
    const std::string shape_text = absl::StrCat("[", absl::StrJoin(*dims, ", "), "]");
    if (dims->size() > 2) {
      return Error(absl::StrCat(tensor, " has shape ", shape_text, " of rank ", dims->size(),
                                "; only ranks 0, 1 and 2 are supported"));
    }
    // Rank 0 is a scalar (1 x 1) and rank 1 a row (1 x n): rows are samples.
    uint64_t rows = dims->size() == 2 ? (*dims)[0] : 1;
    uint64_t cols = dims->empty() ? 1 : dims->back();
    if (rows > kMaxDimension || cols > kMaxDimension) {
      return Error(absl::StrCat(tensor, " has shape ", shape_text,
                                " with a dimension beyond ", kMaxDimension));
    }
    // Cannot overflow: each factor is below 2^31.
    const uint64_t expected_bytes = rows * cols * sizeof(float);

    absl::StatusOr<std::vector<uint64_t>> range = Integers(*offsets, "data_offsets", tensor);
    if (!range.ok()) return range.status();
    const std::string range_text = absl::StrCat("[", absl::StrJoin(*range, ", "), "]");
    if (range->size() != 2) {
      return Error(absl::StrCat("data_offsets of ", tensor, " at byte ", offsets->offset,
                                " are ", range_text, ", not [begin, end]"));
    }
    const uint64_t begin = (*range)[0];
    const uint64_t end = (*range)[1];
    if (begin > end) {
      return Error(absl::StrCat("data_offsets ", range_text, " of ", tensor,
                                " end before they begin"));
    }
    if (end > data_bytes_) {
      return Error(absl::StrCat("data_offsets ", range_text, " of ", tensor,
                                " go beyond the data area of ", data_bytes_, " bytes"));
    }
    if (end - begin != expected_bytes) {
      return Error(absl::StrCat(tensor, " has shape ", shape_text, " (", expected_bytes,
                                " bytes of F32) but data_offsets ", range_text, " hold ",
                                end - begin, " bytes"));
    }
    Entry entry;
    entry.name = name;
    entry.begin = begin;
    entry.end = end;
    entry.rows = static_cast<Eigen::Index>(rows);
    entry.cols = static_cast<Eigen::Index>(cols);
    return entry;
  }

  // Tensors must tile the data area: in order, without overlap or holes (the
  // safetensors specification forbids holes so that no byte goes unchecked).
  absl::Status CheckLayout(std::vector<Entry>* entries) const {
    std::sort(entries->begin(), entries->end(), [](const Entry& a, const Entry& b) {
      return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
    });
    uint64_t covered = 0;
    const Entry* previous = nullptr;
    for (const Entry& entry : *entries) {
      if (entry.begin < covered) {
        return Error(absl::StrCat("tensor ", Quote(entry.name), " (data bytes ", entry.begin,
                                  " to ", entry.end, ") overlaps tensor ",
                                  Quote(previous->name), " (data bytes ", previous->begin,
                                  " to ", previous->end, ")"));
      }
      if (entry.begin > covered) {
        return Error(absl::StrCat("data bytes ", covered, " to ", entry.begin,
                                  " belong to no tensor (a hole before tensor ",
                                  Quote(entry.name), ")"));
      }
      covered = entry.end;
      previous = &entry;
    }
    if (covered != data_bytes_) {
      return Error(absl::StrCat("data bytes ", covered, " to ", data_bytes_,
                                " belong to no tensor (", data_bytes_ - covered,
                                " extra bytes after the last tensor)"));
    }
    return absl::OkStatus();
  }

 private:
  absl::StatusOr<std::vector<uint64_t>> Integers(const json::Value& value,
                                                 absl::string_view field,
                                                 const std::string& tensor) const {
    if (value.kind != json::Value::Kind::kArray) {
      return Error(absl::StrCat(field, " of ", tensor, " at byte ", value.offset, " is ",
                                json::KindName(value.kind), ", not an array"));
    }
    std::vector<uint64_t> numbers;
    for (const json::Value& element : value.elements) {
      if (element.kind != json::Value::Kind::kInteger) {
        return Error(absl::StrCat(field, " of ", tensor, " has ", json::KindName(element.kind),
                                  " at byte ", element.offset, ", not an integer"));
      }
      numbers.push_back(element.integer);
    }
    return numbers;
  }

  const std::string& file_;
  uint64_t data_bytes_;
};

}  // namespace

absl::Status WriteSafetensors(const std::string& path, const TensorFile& file) {
  const auto error = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("cannot write ", path, ": ", what));
  };
  std::string header = "{";
  if (!file.metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [key, value] : file.metadata) {
      if (!json::IsValidUtf8(key) || !json::IsValidUtf8(value)) {
        return error(absl::StrCat("metadata key ", Quote(key), " or its value is not UTF-8"));
      }
      if (!first) header += ",";
      first = false;
      json::AppendQuoted(key, &header);
      header += ":";
      json::AppendQuoted(value, &header);
    }
    header += "}";
  }
  uint64_t offset = 0;
  for (const auto& [name, tensor] : file.tensors) {
    if (name == kMetadataKey) return error("a tensor may not be named \"__metadata__\"");
    if (!json::IsValidUtf8(name)) {
      return error(absl::StrCat("tensor name ", Quote(name), " is not UTF-8"));
    }
    const uint64_t bytes = TensorBytes(tensor);
    if (header.size() > 1) header += ",";
    json::AppendQuoted(name, &header);
    absl::StrAppend(&header, ":{\"dtype\":\"F32\",\"shape\":[", tensor.rows(), ",",
                    tensor.cols(), "],\"data_offsets\":[", offset, ",", offset + bytes, "]}");
    offset += bytes;
  }
  header += "}";
  // Padding keeps the data area 8-byte aligned for readers that map the file.
  header.append((8 - header.size() % 8) % 8, ' ');

  std::string contents;
  contents.reserve(kHeaderLengthBytes + header.size() + offset);
  AppendUint64LittleEndian(header.size(), &contents);
  contents += header;
  for (const auto& [name, tensor] : file.tensors) {
    if (tensor.size() > 0) {
      contents.append(reinterpret_cast<const char*>(tensor.data()), TensorBytes(tensor));
    }
  }
  return WriteFileAtomically(path, contents);
}

absl::StatusOr<TensorFile> ParseSafetensors(absl::string_view bytes,
                                            const std::string& name_for_errors) {
  const auto error = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(name_for_errors, ": ", what));
  };
  if (bytes.size() < kHeaderLengthBytes) {
    return error(absl::StrCat("the file is ", bytes.size(),
                              " bytes, too short for the 8-byte header length"));
  }
  const uint64_t header_bytes = ReadUint64LittleEndian(bytes);
  const uint64_t rest = bytes.size() - kHeaderLengthBytes;
  if (header_bytes > rest) {
    return error(absl::StrCat("the header length (bytes 0 to 7) is ", header_bytes,
                              " but only ", rest, " bytes follow it"));
  }
  if (header_bytes > kMaxHeaderBytes) {
    return error(absl::StrCat("the header length is ", header_bytes, ", beyond the limit of ",
                              kMaxHeaderBytes, " bytes"));
  }
  absl::StatusOr<json::Value> header =
      json::Parse(bytes.substr(kHeaderLengthBytes, header_bytes), kHeaderLengthBytes);
  if (!header.ok()) return error(absl::StrCat("bad JSON header ", header.status().message()));
  if (header->kind != json::Value::Kind::kObject) {
    return error(absl::StrCat("the header is ", json::KindName(header->kind),
                              ", not a JSON object"));
  }

  const uint64_t data_start = kHeaderLengthBytes + header_bytes;
  const HeaderChecker checker(name_for_errors, bytes.size() - data_start);
  TensorFile file;
  std::vector<Entry> entries;
  for (const auto& [key, value] : header->members) {
    if (key == kMetadataKey) {
      if (absl::Status s = checker.CheckMetadata(value, &file.metadata); !s.ok()) return s;
      continue;
    }
    absl::StatusOr<Entry> entry = checker.CheckTensor(key, value);
    if (!entry.ok()) return entry.status();
    entries.push_back(*std::move(entry));
  }
  if (absl::Status s = checker.CheckLayout(&entries); !s.ok()) return s;

  for (const Entry& entry : entries) {
    Tensor tensor(entry.rows, entry.cols);
    if (entry.end > entry.begin) {
      std::memcpy(tensor.data(), bytes.data() + data_start + entry.begin,
                  entry.end - entry.begin);
    }
    file.tensors.emplace(entry.name, std::move(tensor));
  }
  return file;
}

absl::StatusOr<TensorFile> ReadSafetensors(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadFileToString(path);
  if (!bytes.ok()) return bytes.status();
  return ParseSafetensors(*bytes, path);
}

}  // namespace mnemo
