#include "core/io/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <iterator>
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
#include "absl/types/span.h"
#include "core/bfloat16.h"
#include "core/io/atomic_file.h"
#include "core/io/strict_json.h"
#include "core/io/utf8.h"
#include "core/status_macros.h"
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
#error "safetensors.cc copies tensor data as is and needs a little-endian host"
#endif

constexpr Dtype kDtypes[] = {Dtype::kF32, Dtype::kBF16, Dtype::kI8};

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

// A refusal of the file's contents, named after the file.
absl::Status FileError(const std::string& file, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(file, ": ", what));
}

// One tensor's entry of the header, checked on its own.
struct Entry {
  std::string name;
  Dtype dtype = Dtype::kF32;
  uint64_t begin = 0;  // data_offsets, relative to the data area
  uint64_t end = 0;
  Eigen::Index rows = 0;
  Eigen::Index cols = 0;
};

class HeaderChecker {
 public:
  HeaderChecker(const std::string& file, uint64_t data_bytes)
      : file_(file), data_bytes_(data_bytes) {}

  absl::Status Error(absl::string_view what) const { return FileError(file_, what); }

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
    const Dtype* known = std::find_if(std::begin(kDtypes), std::end(kDtypes),
                                      [&](Dtype d) { return DtypeName(d) == dtype->string; });
    if (known == std::end(kDtypes)) {
      return Error(absl::StrCat(tensor, " has dtype ", Quote(dtype->string),
                                "; only F32, BF16 and I8 are supported"));
    }

    MNEMO_ASSIGN_OR_RETURN(std::vector<uint64_t> dims, Integers(*shape, "shape", tensor));
    const std::string shape_text = absl::StrCat("[", absl::StrJoin(dims, ", "), "]");
    if (dims.size() > 2) {
      return Error(absl::StrCat(tensor, " has shape ", shape_text, " of rank ", dims.size(),
                                "; only ranks 0, 1 and 2 are supported"));
    }
    // Rank 0 is a scalar (1 x 1) and rank 1 a row (1 x n): rows are samples.
    uint64_t rows = dims.size() == 2 ? dims[0] : 1;
    uint64_t cols = dims.empty() ? 1 : dims.back();
    if (rows > kMaxDimension || cols > kMaxDimension) {
      return Error(absl::StrCat(tensor, " has shape ", shape_text,
                                " with a dimension beyond ", kMaxDimension));
    }
    // Cannot overflow: each factor is below 2^31, and an element 4 bytes at most.
    const uint64_t expected_bytes = rows * cols * DtypeBytes(*known);

    MNEMO_ASSIGN_OR_RETURN(std::vector<uint64_t> range, Integers(*offsets, "data_offsets", tensor));
    const std::string range_text = absl::StrCat("[", absl::StrJoin(range, ", "), "]");
    if (range.size() != 2) {
      return Error(absl::StrCat("data_offsets of ", tensor, " at byte ", offsets->offset,
                                " are ", range_text, ", not [begin, end]"));
    }
    const uint64_t begin = range[0];
    const uint64_t end = range[1];
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
                                " bytes of ", DtypeName(*known), ") but data_offsets ", range_text,
                                " hold ", end - begin, " bytes"));
    }
    Entry entry;
    entry.name = name;
    entry.dtype = *known;
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

// The file reader and the in-memory parser check the header with the two
// functions below, so that both refuse the same bytes with the same words.

// The header's length from the file's first bytes (all of them when the file
// is shorter than 8), checked against the file's size before any of the
// header is read.
absl::StatusOr<uint64_t> HeaderLength(absl::string_view first_bytes, uint64_t file_bytes,
                                      const std::string& file) {
  if (file_bytes < kHeaderLengthBytes) {
    return FileError(file, absl::StrCat("the file is ", file_bytes,
                                        " bytes, too short for the 8-byte header length"));
  }
  const uint64_t header_bytes = ReadUint64LittleEndian(first_bytes);
  const uint64_t rest = file_bytes - kHeaderLengthBytes;
  if (header_bytes > rest) {
    return FileError(file, absl::StrCat("the header length (bytes 0 to 7) is ", header_bytes,
                                        " but only ", rest, " bytes follow it"));
  }
  if (header_bytes > kMaxHeaderBytes) {
    return FileError(file, absl::StrCat("the header length is ", header_bytes,
                                        ", beyond the limit of ", kMaxHeaderBytes, " bytes"));
  }
  return header_bytes;
}

// The JSON header that follows the length, checked against a file of
// `file_bytes` bytes: every byte of the data area after it must belong to
// exactly one tensor. Offsets in the result count from the file's start.
absl::StatusOr<SafetensorsHeader> ParseHeader(absl::string_view text, uint64_t file_bytes,
                                              const std::string& file) {
  absl::StatusOr<json::Value> header = json::Parse(text, kHeaderLengthBytes);
  if (!header.ok()) {
    return FileError(file, absl::StrCat("bad JSON header ", header.status().message()));
  }
  if (header->kind != json::Value::Kind::kObject) {
    return FileError(
        file, absl::StrCat("the header is ", json::KindName(header->kind), ", not a JSON object"));
  }

  const uint64_t data_start = kHeaderLengthBytes + text.size();
  const HeaderChecker checker(file, file_bytes - data_start);
  SafetensorsHeader result;
  std::vector<Entry> entries;
  for (const auto& [key, value] : header->members) {
    if (key == kMetadataKey) {
      MNEMO_RETURN_IF_ERROR(checker.CheckMetadata(value, &result.metadata));
      continue;
    }
    MNEMO_ASSIGN_OR_RETURN(Entry entry, checker.CheckTensor(key, value));
    entries.push_back(std::move(entry));
  }
  MNEMO_RETURN_IF_ERROR(checker.CheckLayout(&entries));
  for (const Entry& entry : entries) {
    result.tensors[entry.name] =
        TensorInfo{entry.dtype, entry.rows, entry.cols, data_start + entry.begin};
  }
  return result;
}

// Reads bytes [offset, offset + size) of `fd` into `out`, through short reads
// and interruptions. `what` ("<file>: cannot read ...") starts any error.
absl::Status ReadFully(int fd, uint64_t offset, size_t size, char* out, const std::string& what) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, out + done, size - done, static_cast<off_t>(offset + done));
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n == 0) {
      // Open checked every range against the file's size, so the file shrank.
      return absl::DataLossError(absl::StrCat(what, ": the file now ends at byte ", offset + done,
                                              "; it was truncated after it was opened"));
    } else if (errno != EINTR) {
      return absl::ErrnoToStatus(errno, what);
    }
  }
  return absl::OkStatus();
}

// A tensor of either map of a TensorFile, as WriteSafetensors lays it out.
struct TensorToWrite {
  Dtype dtype = Dtype::kF32;
  Eigen::Index rows = 0;
  Eigen::Index cols = 0;
  const char* data = nullptr;
  uint64_t bytes = 0;
};

}  // namespace

NarrowTensor ToI8Tensor(const MatrixS8& values) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(values.data());
  return NarrowTensor{Dtype::kI8, values.rows(), values.cols(),
                      std::vector<uint8_t>(bytes, bytes + values.size())};
}

NarrowTensor ToBf16Tensor(const Tensor& values) {
  NarrowTensor t{Dtype::kBF16, values.rows(), values.cols(),
                 std::vector<uint8_t>(values.size() * sizeof(uint16_t))};
  for (Eigen::Index i = 0; i < values.size(); ++i) {
    const uint16_t bits = FloatToBfloat16(values.data()[i]);
    std::memcpy(t.bytes.data() + i * sizeof bits, &bits, sizeof bits);
  }
  return t;
}

absl::string_view DtypeName(Dtype dtype) {
  switch (dtype) {
    case Dtype::kF32:
      return "F32";
    case Dtype::kBF16:
      return "BF16";
    case Dtype::kI8:
      return "I8";
  }
  return "?";  // not reached: the switch names every Dtype
}

size_t DtypeBytes(Dtype dtype) {
  switch (dtype) {
    case Dtype::kF32:
      return 4;
    case Dtype::kBF16:
      return 2;
    case Dtype::kI8:
      return 1;
  }
  return 0;  // not reached: the switch names every Dtype
}

absl::Status WriteSafetensors(const std::string& path, const TensorFile& file) {
  const auto error = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("cannot write ", path, ": ", what));
  };
  std::string header = "{";
  if (!file.metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [key, value] : file.metadata) {
      if (!IsValidUtf8(key) || !IsValidUtf8(value)) {
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
  // Both maps merged, checked before anything is written.
  std::map<std::string, TensorToWrite> tensors;
  for (const auto& [name, tensor] : file.tensors) {
    tensors[name] =
        TensorToWrite{Dtype::kF32, tensor.rows(), tensor.cols(),
                      reinterpret_cast<const char*>(tensor.data()), TensorBytes(tensor)};
  }
  for (const auto& [name, tensor] : file.narrow_tensors) {
    const std::string what = absl::StrCat("narrow tensor ", Quote(name));
    if (tensors.count(name) > 0) {
      return error(absl::StrCat("tensor ", Quote(name), " is both an F32 and a narrow tensor"));
    }
    if (tensor.dtype != Dtype::kBF16 && tensor.dtype != Dtype::kI8) {
      return error(absl::StrCat(what, " is ", DtypeName(tensor.dtype),
                                ", not BF16 or I8 (an F32 tensor belongs in `tensors`)"));
    }
    if (tensor.rows < 0 || tensor.cols < 0 || static_cast<uint64_t>(tensor.rows) > kMaxDimension ||
        static_cast<uint64_t>(tensor.cols) > kMaxDimension) {
      return error(absl::StrCat(what, " has shape ", tensor.rows, " x ", tensor.cols,
                                ", not two dimensions from 0 to ", kMaxDimension));
    }
    // Cannot overflow: each factor is below 2^31, and an element 2 bytes at most.
    const uint64_t bytes = static_cast<uint64_t>(tensor.rows) * static_cast<uint64_t>(tensor.cols) *
                           DtypeBytes(tensor.dtype);
    if (tensor.bytes.size() != bytes) {
      return error(absl::StrCat(what, " is ", tensor.rows, " x ", tensor.cols, " of ",
                                DtypeName(tensor.dtype), " (", bytes, " bytes) but holds ",
                                tensor.bytes.size(), " bytes"));
    }
    tensors[name] = TensorToWrite{tensor.dtype, tensor.rows, tensor.cols,
                                  reinterpret_cast<const char*>(tensor.bytes.data()), bytes};
  }

  // Wider elements first, as Python's safetensors orders them: the data area
  // starts 8-byte aligned, so every tensor's data is aligned to its element
  // for readers that map the file. Within a dtype, name order.
  std::vector<std::pair<std::string, TensorToWrite>> ordered(tensors.begin(), tensors.end());
  std::stable_sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
    return DtypeBytes(a.second.dtype) > DtypeBytes(b.second.dtype);
  });

  uint64_t offset = 0;
  for (const auto& [name, tensor] : ordered) {
    if (name == kMetadataKey) return error("a tensor may not be named \"__metadata__\"");
    if (!IsValidUtf8(name)) {
      return error(absl::StrCat("tensor name ", Quote(name), " is not UTF-8"));
    }
    if (header.size() > 1) header += ",";
    json::AppendQuoted(name, &header);
    absl::StrAppend(&header, ":{\"dtype\":\"", DtypeName(tensor.dtype), "\",\"shape\":[",
                    tensor.rows, ",", tensor.cols, "],\"data_offsets\":[", offset, ",",
                    offset + tensor.bytes, "]}");
    offset += tensor.bytes;
  }
  header += "}";
  // Padding keeps the data area 8-byte aligned for readers that map the file.
  header.append((8 - header.size() % 8) % 8, ' ');

  std::string contents;
  contents.reserve(kHeaderLengthBytes + header.size() + offset);
  AppendUint64LittleEndian(header.size(), &contents);
  contents += header;
  for (const auto& [name, tensor] : ordered) {
    if (tensor.bytes > 0) contents.append(tensor.data, tensor.bytes);
  }
  return WriteFileAtomically(path, contents);
}

absl::StatusOr<SafetensorsReader> SafetensorsReader::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat(path, ": cannot open"));
  SafetensorsReader reader(path, fd, {});  // closes fd on every return below
  struct stat info;
  if (::fstat(fd, &info) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat(path, ": cannot stat"));
  }
  // The checks need the file's size before reading; a pipe or device has none.
  if (!S_ISREG(info.st_mode)) {
    return FileError(path, "not a regular file (the reader needs its size and reads at offsets)");
  }
  const uint64_t file_bytes = static_cast<uint64_t>(info.st_size);

  char length[kHeaderLengthBytes];
  const size_t length_bytes = static_cast<size_t>(std::min(file_bytes, kHeaderLengthBytes));
  MNEMO_RETURN_IF_ERROR(ReadFully(fd, 0, length_bytes, length,
                                  absl::StrCat(path, ": cannot read the header length")));
  MNEMO_ASSIGN_OR_RETURN(uint64_t header_bytes,
                         HeaderLength(absl::string_view(length, length_bytes), file_bytes, path));

  std::string text(static_cast<size_t>(header_bytes), '\0');
  if (absl::Status s =
          ReadFully(fd, kHeaderLengthBytes, text.size(), text.data(),
                    absl::StrCat(path, ": cannot read the header (bytes ", kHeaderLengthBytes,
                                 " to ", kHeaderLengthBytes + text.size(), ")"));
      !s.ok()) {
    return s;
  }
  MNEMO_ASSIGN_OR_RETURN(SafetensorsHeader header, ParseHeader(text, file_bytes, path));
  reader.header_ = std::move(header);
  return reader;
}

SafetensorsReader::SafetensorsReader(SafetensorsReader&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(std::exchange(other.fd_, -1)),
      header_(std::move(other.header_)) {}

SafetensorsReader& SafetensorsReader::operator=(SafetensorsReader&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    header_ = std::move(other.header_);
  }
  return *this;
}

SafetensorsReader::~SafetensorsReader() {
  if (fd_ >= 0) ::close(fd_);
}

absl::StatusOr<const TensorInfo*> SafetensorsReader::Find(const std::string& name) const {
  auto it = header_.tensors.find(name);
  if (it == header_.tensors.end()) {
    return FileError(path_, absl::StrCat("there is no tensor ", Quote(name)));
  }
  return &it->second;
}

absl::Status SafetensorsReader::ReadData(const std::string& name, const TensorInfo& info,
                                         char* destination) const {
  return ReadFully(fd_, info.offset, info.bytes(), destination,
                   absl::StrCat(path_, ": cannot read tensor ", Quote(name), " (bytes ",
                                info.offset, " to ", info.offset + info.bytes(), ")"));
}

absl::Status SafetensorsReader::ReadTensor(const std::string& name,
                                           absl::Span<float> destination) const {
  MNEMO_ASSIGN_OR_RETURN(const TensorInfo* info, Find(name));
  if (info->dtype != Dtype::kF32) {
    return FileError(
        path_, absl::StrCat("tensor ", Quote(name), " is ", DtypeName(info->dtype), ", not F32"));
  }
  if (destination.size() != static_cast<size_t>(info->rows * info->cols)) {
    return FileError(path_,
                     absl::StrCat("tensor ", Quote(name), " has ", info->rows, " x ", info->cols,
                                  " values but the destination holds ", destination.size()));
  }
  return ReadData(name, *info, reinterpret_cast<char*>(destination.data()));
}

absl::Status SafetensorsReader::ReadTensorBytes(const std::string& name,
                                                absl::Span<uint8_t> destination) const {
  MNEMO_ASSIGN_OR_RETURN(const TensorInfo* info, Find(name));
  if (destination.size() != info->bytes()) {
    return FileError(
        path_, absl::StrCat("tensor ", Quote(name), " has ", info->rows, " x ", info->cols,
                            " values of ", DtypeName(info->dtype), " (", info->bytes(),
                            " bytes) but the destination holds ", destination.size(), " bytes"));
  }
  return ReadData(name, *info, reinterpret_cast<char*>(destination.data()));
}

absl::StatusOr<TensorFile> ReadSafetensors(const std::string& path) {
  MNEMO_ASSIGN_OR_RETURN(SafetensorsReader reader, SafetensorsReader::Open(path));
  TensorFile file;
  file.metadata = reader.header().metadata;
  for (const auto& [name, info] : reader.header().tensors) {
    if (info.dtype == Dtype::kF32) {
      Tensor tensor(info.rows, info.cols);
      MNEMO_RETURN_IF_ERROR(reader.ReadTensor(name, absl::MakeSpan(tensor.data(), tensor.size())));
      file.tensors.emplace(name, std::move(tensor));
    } else {
      NarrowTensor tensor{info.dtype, info.rows, info.cols, std::vector<uint8_t>(info.bytes())};
      MNEMO_RETURN_IF_ERROR(reader.ReadTensorBytes(name, absl::MakeSpan(tensor.bytes)));
      file.narrow_tensors.emplace(name, std::move(tensor));
    }
  }
  return file;
}

absl::StatusOr<TensorFile> ParseSafetensors(absl::string_view bytes,
                                            const std::string& name_for_errors) {
  MNEMO_ASSIGN_OR_RETURN(uint64_t header_bytes, HeaderLength(bytes.substr(0, kHeaderLengthBytes),
                                                             bytes.size(), name_for_errors));
  MNEMO_ASSIGN_OR_RETURN(
      SafetensorsHeader header,
      ParseHeader(bytes.substr(kHeaderLengthBytes, header_bytes), bytes.size(), name_for_errors));

  TensorFile file;
  file.metadata = std::move(header.metadata);
  for (const auto& [name, info] : header.tensors) {
    const char* data = bytes.data() + info.offset;
    if (info.dtype == Dtype::kF32) {
      Tensor tensor(info.rows, info.cols);
      if (info.bytes() > 0) std::memcpy(tensor.data(), data, info.bytes());
      file.tensors.emplace(name, std::move(tensor));
    } else {
      file.narrow_tensors.emplace(name,
                                  NarrowTensor{info.dtype, info.rows, info.cols,
                                               std::vector<uint8_t>(data, data + info.bytes())});
    }
  }
  return file;
}

}  // namespace mnemo
