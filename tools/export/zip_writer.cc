#include "tools/export/zip_writer.h"

#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace mnemo {
namespace {

constexpr uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr uint32_t kCentralHeaderSignature = 0x02014b50;
constexpr uint32_t kEndOfCentralDirectorySignature = 0x06054b50;
constexpr size_t kLocalHeaderSize = 30;
constexpr size_t kExtraHeaderSize = 4;                  // ID and length of the padding field
constexpr uint16_t kPaddingFieldId = 0x4246;            // "FB", PyTorch's
constexpr uint16_t kVersionNeeded = 20;                 // 2.0: stored entries, directories
constexpr uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01: reproducible bytes
constexpr uint64_t kMaxOffset = std::numeric_limits<uint32_t>::max();

void Put16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>(v >> 8));
}

void Put32(std::string& out, uint32_t v) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

uint32_t Crc32(absl::string_view data) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths: feed it in pieces that fit.
  while (!data.empty()) {
    const size_t piece = std::min<size_t>(data.size(), 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(piece));
    data.remove_prefix(piece);
  }
  return static_cast<uint32_t>(crc);
}

}  // namespace

absl::Status StoredZipWriter::Add(absl::string_view name, absl::string_view data) {
  if (name.empty()) return absl::InvalidArgumentError("a zip entry needs a name");
  if (name.size() > std::numeric_limits<uint16_t>::max()) {
    return absl::InvalidArgumentError(
        absl::StrCat("zip entry name of ", name.size(), " bytes: at most 65535"));
  }
  for (const Entry& entry : entries_) {
    if (entry.name == name) {
      return absl::InvalidArgumentError(absl::StrCat("zip entry \"", name, "\" added twice"));
    }
  }
  if (entries_.size() >= std::numeric_limits<uint16_t>::max()) {
    return absl::InvalidArgumentError("more than 65535 zip entries");
  }
  const uint64_t offset = bytes_.size();
  const uint64_t unpadded = offset + kLocalHeaderSize + name.size() + kExtraHeaderSize;
  const uint64_t padding = (kZipDataAlignment - unpadded % kZipDataAlignment) % kZipDataAlignment;
  const uint64_t end = unpadded + padding + data.size();
  if (end > kMaxOffset) {
    return absl::OutOfRangeError(absl::StrCat("the archive would reach ", end,
                                              " bytes with entry \"", name,
                                              "\": past the 4 GiB of a plain zip file"));
  }
  Entry entry{std::string(name), Crc32(data), static_cast<uint32_t>(data.size()),
              static_cast<uint32_t>(offset)};
  bytes_.reserve(end);
  Put32(bytes_, kLocalHeaderSignature);
  Put16(bytes_, kVersionNeeded);
  Put16(bytes_, 0);  // flags: sizes and CRC in this header, no data descriptor
  Put16(bytes_, 0);  // method: stored
  Put16(bytes_, 0);  // time
  Put16(bytes_, kDosDate);
  Put32(bytes_, entry.crc32);
  Put32(bytes_, entry.size);  // compressed size
  Put32(bytes_, entry.size);  // uncompressed size
  Put16(bytes_, static_cast<uint16_t>(name.size()));
  Put16(bytes_, static_cast<uint16_t>(kExtraHeaderSize + padding));
  bytes_.append(name.data(), name.size());
  Put16(bytes_, kPaddingFieldId);
  Put16(bytes_, static_cast<uint16_t>(padding));
  bytes_.append(padding, 'Z');
  bytes_.append(data.data(), data.size());
  entries_.push_back(std::move(entry));
  return absl::OkStatus();
}

absl::StatusOr<std::string> StoredZipWriter::Finish() {
  const uint64_t directory_offset = bytes_.size();
  std::string out = std::move(bytes_);
  bytes_.clear();
  for (const Entry& entry : entries_) {
    Put32(out, kCentralHeaderSignature);
    Put16(out, kVersionNeeded);  // made by: MS-DOS, 2.0
    Put16(out, kVersionNeeded);
    Put16(out, 0);  // flags
    Put16(out, 0);  // method
    Put16(out, 0);  // time
    Put16(out, kDosDate);
    Put32(out, entry.crc32);
    Put32(out, entry.size);
    Put32(out, entry.size);
    Put16(out, static_cast<uint16_t>(entry.name.size()));
    Put16(out, 0);  // extra field
    Put16(out, 0);  // comment
    Put16(out, 0);  // disk number
    Put16(out, 0);  // internal attributes
    Put32(out, 0);  // external attributes
    Put32(out, entry.header_offset);
    out += entry.name;
  }
  const uint64_t directory_size = out.size() - directory_offset;
  if (out.size() + 22 > kMaxOffset) {
    entries_.clear();
    return absl::OutOfRangeError("the zip's central directory ends past 4 GiB");
  }
  Put32(out, kEndOfCentralDirectorySignature);
  Put16(out, 0);  // this disk
  Put16(out, 0);  // the directory's disk
  Put16(out, static_cast<uint16_t>(entries_.size()));
  Put16(out, static_cast<uint16_t>(entries_.size()));
  Put32(out, static_cast<uint32_t>(directory_size));
  Put32(out, static_cast<uint32_t>(directory_offset));
  Put16(out, 0);  // comment
  entries_.clear();
  return out;
}

}  // namespace mnemo
