#include "tools/data/npy.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace mnemo {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicBytes = 6;

// A little-endian unsigned integer of `n` bytes at `p`.
uint64_t LittleEndian(const char* p, int n) {
  uint64_t value = 0;
  for (int i = n - 1; i >= 0; --i) value = (value << 8) | static_cast<uint8_t>(p[i]);
  return value;
}

// The Python literal NumPy writes as the header: a dict of 'descr' (a
// string), 'fortran_order' (True or False) and 'shape' (a tuple of ints),
// parsed strictly. Errors carry the offset of the byte where they are found.
class HeaderParser {
 public:
  HeaderParser(absl::string_view text, uint64_t offset) : text_(text), offset_(offset) {}

  struct Error {
    uint64_t at;
    std::string what;
  };

  // Fills descr, fortran_order and shape; the first error otherwise.
  std::optional<Error> Parse(std::string* descr, bool* fortran_order, std::vector<int64_t>* shape) {
    std::map<std::string, bool> seen;
    SkipSpaces();
    if (!Consume('{')) return Fail("the header is not a dictionary (it does not start with '{')");
    while (true) {
      SkipSpaces();
      if (Consume('}')) break;
      std::string key;
      if (auto error = String(&key)) return error;
      const uint64_t key_at = offset_ + pos_;
      if (seen[key]) return Error{key_at, absl::StrCat("the key '", key, "' appears twice")};
      seen[key] = true;
      SkipSpaces();
      if (!Consume(':')) return Fail(absl::StrCat("expected ':' after the key '", key, "'"));
      SkipSpaces();
      if (key == "descr") {
        if (auto error = String(descr)) return error;
      } else if (key == "fortran_order") {
        if (auto error = Boolean(fortran_order)) return error;
      } else if (key == "shape") {
        if (auto error = Tuple(shape)) return error;
      } else {
        return Error{key_at, absl::StrCat("unknown key '", key,
                                          "' (a NumPy header has descr, fortran_order, shape)")};
      }
      SkipSpaces();
      if (Consume(',')) continue;
      SkipSpaces();
      if (Consume('}')) break;
      return Fail("expected ',' or '}' in the header's dictionary");
    }
    for (const char* key : {"descr", "fortran_order", "shape"}) {
      if (!seen[key]) return Fail(absl::StrCat("the header has no '", key, "'"));
    }
    // Padding: spaces, then one newline at the very end.
    while (pos_ < text_.size() && text_[pos_] == ' ') ++pos_;
    if (pos_ + 1 != text_.size() || text_[pos_] != '\n') {
      return Fail("the header does not end in spaces and a newline after its dictionary");
    }
    return std::nullopt;
  }

 private:
  std::optional<Error> Fail(std::string what) const { return Error{offset_ + pos_, what}; }

  void SkipSpaces() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
  }
  bool Consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  std::optional<Error> String(std::string* out) {
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) {
      return Fail("expected a quoted string");
    }
    const char quote = text_[pos_++];
    const size_t end = text_.find(quote, pos_);
    if (end == absl::string_view::npos) return Fail("a string is not closed");
    *out = std::string(text_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return std::nullopt;
  }

  std::optional<Error> Boolean(bool* out) {
    if (absl::StartsWith(text_.substr(pos_), "True")) {
      *out = true;
      pos_ += 4;
    } else if (absl::StartsWith(text_.substr(pos_), "False")) {
      *out = false;
      pos_ += 5;
    } else {
      return Fail("expected True or False");
    }
    return std::nullopt;
  }

  std::optional<Error> Tuple(std::vector<int64_t>* out) {
    if (!Consume('(')) return Fail("expected a tuple for 'shape'");
    while (true) {
      SkipSpaces();
      if (Consume(')')) return std::nullopt;
      const size_t start = pos_;
      while (pos_ < text_.size() && absl::ascii_isdigit(static_cast<unsigned char>(text_[pos_]))) {
        ++pos_;
      }
      // NumPy writes Python ints, which may carry an L in Python 2's headers.
      int64_t size = 0;
      if (pos_ == start || pos_ - start > 18 ||
          !absl::SimpleAtoi(text_.substr(start, pos_ - start), &size)) {
        pos_ = start;
        return Fail("expected a size (a non-negative integer below 10^18) in 'shape'");
      }
      if (pos_ < text_.size() && text_[pos_] == 'L') ++pos_;
      out->push_back(size);
      SkipSpaces();
      if (Consume(',')) continue;
      SkipSpaces();
      if (Consume(')')) return std::nullopt;
      return Fail("expected ',' or ')' in 'shape'");
    }
  }

  absl::string_view text_;
  uint64_t offset_;  // of text_[0] in the array's bytes
  size_t pos_ = 0;
};

// The type of a descr NumPy writes: '<f4', '|u1', ...
absl::StatusOr<std::pair<NpyType, int>> TypeOf(const std::string& descr) {
  static const auto* const kTypes = new std::map<std::string, std::pair<NpyType, int>>{
      {"<f4", {NpyType::kFloat32, 4}}, {"<f8", {NpyType::kFloat64, 8}},
      {"|u1", {NpyType::kUint8, 1}},   {"<u1", {NpyType::kUint8, 1}},
      {"<i4", {NpyType::kInt32, 4}},   {"<i8", {NpyType::kInt64, 8}}};
  if (auto it = kTypes->find(descr); it != kTypes->end()) return it->second;
  if (!descr.empty() && descr[0] == '>') {
    return absl::InvalidArgumentError(
        absl::StrCat("big-endian data ('", descr,
                     "') is not read; save it little-endian (a.astype('<", descr.substr(1), "'))"));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "type '", descr,
      "' is not read (float32 '<f4', float64 '<f8', uint8 '|u1', int32 '<i4', int64 '<i8' are)"));
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  if (shape.size() == 1) return absl::StrCat("(", shape[0], ",)");
  return absl::StrCat("(", absl::StrJoin(shape, ", "), ")");
}

template <typename T>
void Convert(const char* data, int64_t elements, float* out) {
  if (elements == 0) return;  // out may be null: a row of no columns
  if constexpr (std::is_same_v<T, float>) {
    std::memcpy(out, data, static_cast<size_t>(elements) * sizeof(float));
  } else {
    for (int64_t i = 0; i < elements; ++i) {
      T value;
      std::memcpy(&value, data + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
      out[i] = static_cast<float>(value);
    }
  }
}

void ConvertElements(NpyType type, const char* data, int64_t elements, float* out) {
  switch (type) {
    case NpyType::kFloat32:
      return Convert<float>(data, elements, out);
    case NpyType::kFloat64:
      return Convert<double>(data, elements, out);
    case NpyType::kUint8:
      return Convert<uint8_t>(data, elements, out);
    case NpyType::kInt32:
      return Convert<int32_t>(data, elements, out);
    case NpyType::kInt64:
      return Convert<int64_t>(data, elements, out);
  }
}

}  // namespace

const char* NpyTypeName(NpyType type) {
  switch (type) {
    case NpyType::kFloat32:
      return "float32";
    case NpyType::kFloat64:
      return "float64";
    case NpyType::kUint8:
      return "uint8";
    case NpyType::kInt32:
      return "int32";
    case NpyType::kInt64:
      return "int64";
  }
  return "?";
}

int64_t NpyHeader::cols() const {
  int64_t cols = 1;
  for (size_t i = 1; i < shape.size(); ++i) cols *= shape[i];
  return cols;
}

absl::StatusOr<NpyHeader> ParseNpyHeader(absl::string_view bytes, uint64_t total_bytes,
                                         const std::string& name) {
  const auto error = [&](uint64_t at, absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": at byte ", at, ": ", what));
  };
  if (bytes.size() < kMagicBytes + 2 || std::memcmp(bytes.data(), kMagic, kMagicBytes) != 0) {
    return error(0, "not a NumPy .npy array (it does not start with \\x93NUMPY)");
  }
  const int major = static_cast<uint8_t>(bytes[6]);
  const int minor = static_cast<uint8_t>(bytes[7]);
  if ((major != 1 && major != 2 && major != 3) || minor != 0) {
    return error(6, absl::StrCat("format version ", major, ".", minor,
                                 "; this reader takes 1.0, 2.0 and 3.0"));
  }
  const int length_bytes = major == 1 ? 2 : 4;
  const uint64_t prefix = kMagicBytes + 2 + length_bytes;
  if (bytes.size() < prefix) return error(8, "the header length is cut off");
  const uint64_t header_bytes = LittleEndian(bytes.data() + 8, length_bytes);
  if (header_bytes > total_bytes - std::min<uint64_t>(prefix, total_bytes) ||
      prefix + header_bytes > bytes.size()) {
    return error(8, absl::StrCat("the header length ", header_bytes, " goes beyond the array's ",
                                 total_bytes, " bytes"));
  }
  const absl::string_view text = bytes.substr(prefix, header_bytes);
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c != '\n' && (c < 0x20 || c >= 0x7f)) {
      return error(prefix + i, absl::StrFormat("byte 0x%02x in the header (it is ASCII text)", c));
    }
  }
  std::string descr;
  bool fortran_order = false;
  NpyHeader header;
  if (auto problem = HeaderParser(text, prefix).Parse(&descr, &fortran_order, &header.shape)) {
    return error(problem->at, problem->what);
  }
  absl::StatusOr<std::pair<NpyType, int>> type = TypeOf(descr);
  if (!type.ok()) return error(prefix, type.status().message());
  header.type = type->first;
  header.item_bytes = type->second;
  if (fortran_order) {
    return error(prefix,
                 "the array is in Fortran order; save a C-order one "
                 "(np.ascontiguousarray)");
  }
  // Columns (the product of every size but the first) within int32, checked
  // as they multiply: with a first size of 0 the element count stays 0
  // whatever they are, and their product could wrap.
  constexpr uint64_t kMaxCount = std::numeric_limits<int32_t>::max();
  uint64_t columns = 1;
  for (size_t i = 1; i < header.shape.size(); ++i) {
    const uint64_t size = static_cast<uint64_t>(header.shape[i]);
    if (size != 0 && columns > kMaxCount / size) {
      return error(prefix, absl::StrCat("the shape ", ShapeText(header.shape),
                                        " has more than 2^31 - 1 rows or columns"));
    }
    columns *= size;
  }
  // Sizes whose product overflows cannot describe the bytes there are.
  uint64_t elements = 1;
  for (int64_t size : header.shape) {
    if (size != 0 && elements > std::numeric_limits<uint64_t>::max() / 8 / size) {
      return error(prefix, absl::StrCat("the shape ", ShapeText(header.shape), " is too large"));
    }
    elements *= static_cast<uint64_t>(size);
  }
  header.data_offset = prefix + header_bytes;
  const uint64_t want = elements * header.item_bytes;
  const uint64_t have = total_bytes - header.data_offset;
  if (want != have) {
    return error(header.data_offset, absl::StrCat("the shape ", ShapeText(header.shape), " of ",
                                                  NpyTypeName(header.type), " needs ", want,
                                                  " bytes of data but the array has ", have));
  }
  if (header.rows() > std::numeric_limits<int32_t>::max() ||
      header.cols() > std::numeric_limits<int32_t>::max()) {
    return error(prefix, absl::StrCat("the shape ", ShapeText(header.shape),
                                      " has more than 2^31 - 1 rows or columns"));
  }
  return header;
}

void ConvertRows(const NpyHeader& header, const char* data, int64_t first, int64_t count,
                 float* out) {
  const int64_t row_bytes = header.cols() * header.item_bytes;
  ConvertElements(header.type, data + first * row_bytes, count * header.cols(), out);
}

absl::StatusOr<std::unique_ptr<NpyFile::Mapping>> NpyFile::Mapping::Map(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("cannot open ", path));
  struct stat info;
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a regular file"));
  }
  const uint64_t size = static_cast<uint64_t>(info.st_size);
  if (size == 0) {  // mmap maps no empty range
    ::close(fd);
    return std::unique_ptr<Mapping>(new Mapping(nullptr, 0));
  }
  void* mapped = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int map_error = errno;
  ::close(fd);  // the mapping keeps the file
  if (mapped == MAP_FAILED) {
    return absl::ErrnoToStatus(map_error, absl::StrCat("cannot map ", path));
  }
  return std::unique_ptr<Mapping>(new Mapping(static_cast<const char*>(mapped), size));
}

NpyFile::Mapping::~Mapping() {
  if (base_ != nullptr) ::munmap(const_cast<char*>(base_), size_);
}

void NpyFile::Mapping::ReleasePages() const {
  if (base_ != nullptr) ::madvise(const_cast<char*>(base_), size_, MADV_DONTNEED);
}

absl::StatusOr<std::unique_ptr<NpyFile>> NpyFile::Open(const std::string& path) {
  absl::StatusOr<std::unique_ptr<Mapping>> mapping = Mapping::Map(path);
  if (!mapping.ok()) return mapping.status();
  const absl::string_view bytes = (*mapping)->bytes();
  absl::StatusOr<NpyHeader> header = ParseNpyHeader(bytes, bytes.size(), path);
  if (!header.ok()) return header.status();
  return std::unique_ptr<NpyFile>(
      new NpyFile(path, *std::move(header), bytes.data(), *std::move(mapping), nullptr));
}

NpyFile::~NpyFile() = default;

void NpyFile::ReadRows(int64_t first, int64_t count, float* out) const {
  ConvertRows(header_, array_ + header_.data_offset, first, count, out);
}

namespace {

// A mapping no larger than this is never released: it may stay resident
// whole. A larger one is released every few rows a gather reads, so that at
// most about this much of it is resident at once, however many rows a batch
// has: the kernel may map a row's whole 2 MiB page-cache block (a large
// folio) into the process when the row is read, so 256 random rows of 4 KiB
// can pin 512 MiB.
constexpr uint64_t kResidentBound = 64ull << 20;
constexpr uint64_t kLargestBlock = 2ull << 20;

}  // namespace

void NpyFile::GatherRows(const int32_t* indices, int count, float* out) const {
  const int64_t cols = header_.cols();
  const bool bounded = mapping_ != nullptr && header_.data_bytes() > kResidentBound;
  const uint64_t row_bytes = static_cast<uint64_t>(cols) * header_.item_bytes;
  const int rows_per_release =
      static_cast<int>(std::max<uint64_t>(1, kResidentBound / std::max(row_bytes, kLargestBlock)));
  for (int i = 0; i < count; ++i) {
    ReadRows(indices[i], 1, out + i * cols);
    if (bounded && (i + 1) % rows_per_release == 0) mapping_->ReleasePages();
  }
}

void NpyFile::ReleasePages() const {
  if (mapping_ != nullptr && header_.data_bytes() > kResidentBound) mapping_->ReleasePages();
}

}  // namespace mnemo
