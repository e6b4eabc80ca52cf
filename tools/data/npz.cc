// NumPy's .npz archives (np.savez, np.savez_compressed): zip files whose
// entries "<array>.npy" are .npy arrays, stored or deflated. The central
// directory is read from the end of the file (with the zip64 records and
// extra fields of archives and entries past 4 GiB), the entry's local header
// is checked against it, and its array is mapped in place (stored) or
// inflated into memory (deflated, its size and CRC-32 checked).
//
// The input may be anything: every offset and length read from the file is
// checked against the bytes there are before it is used, in a form that
// cannot overflow (a length is compared with what is left, never added to an
// offset first).
//
// The format: PKWARE's APPNOTE.TXT, sections 4.3 (the records) and 4.5 (the
// zip64 extra field).

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <new>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "tools/data/npy.h"

namespace mnemo {
namespace {

constexpr uint32_t kEndSignature = 0x06054b50;           // PK\5\6
constexpr uint32_t kZip64EndSignature = 0x06064b50;      // PK\6\6
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;  // PK\6\7
constexpr uint32_t kCentralSignature = 0x02014b50;       // PK\1\2
constexpr uint32_t kLocalSignature = 0x04034b50;         // PK\3\4

constexpr uint64_t kEndBytes = 22;  // without the comment
constexpr uint64_t kMaxCommentBytes = 0xffff;
constexpr uint64_t kZip64LocatorBytes = 20;
constexpr uint64_t kZip64EndBytes = 56;  // without the extensible data
constexpr uint64_t kCentralBytes = 46;   // without the name, extra field and comment
constexpr uint64_t kLocalBytes = 30;     // without the name and extra field

constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint32_t kSaturated32 = 0xffffffff;  // "in the zip64 extra field"
constexpr uint16_t kSaturated16 = 0xffff;

constexpr int kStored = 0;
constexpr int kDeflated = 8;

constexpr uint16_t kFlagEncrypted = 1 << 0;
constexpr uint16_t kFlagDataDescriptor = 1 << 3;  // CRC and sizes follow the data
constexpr uint16_t kFlagStrongEncryption = 1 << 6;

// Deflate codes at most 258 bytes in 2 bits, so no stream inflates to more
// than 1032 times its size (zlib's FAQ); a directory that says more lies.
constexpr uint64_t kMaxDeflateRatio = 1032;
// And no entry is inflated into more memory than this, whatever it says.
constexpr uint64_t kMaxInflatedBytes = uint64_t{1} << 40;

// zlib counts in uInt: the data is fed and taken in pieces of at most this.
constexpr uint64_t kZlibChunk = std::numeric_limits<uInt>::max();

// A little-endian unsigned integer of `n` bytes at `p`.
uint64_t LittleEndian(const char* p, int n) {
  uint64_t value = 0;
  for (int i = n - 1; i >= 0; --i) value = (value << 8) | static_cast<uint8_t>(p[i]);
  return value;
}

// A name from the archive, quoted, its bytes outside printable ASCII escaped
// (they may be anything).
std::string Quoted(absl::string_view name) {
  return absl::StrCat("\"", absl::CHexEscape(name), "\"");
}

std::string MethodName(int method) {
  switch (method) {
    case 1:
      return "1 (shrunk)";
    case 6:
      return "6 (imploded)";
    case 9:
      return "9 (deflate64)";
    case 12:
      return "12 (bzip2)";
    case 14:
      return "14 (LZMA)";
    case 93:
      return "93 (Zstandard)";
    case 95:
      return "95 (xz)";
    case 99:
      return "99 (AES encryption)";
    default:
      return absl::StrCat(method);
  }
}

// One file of the archive, as its central directory record describes it.
struct ZipEntry {
  std::string name;
  uint64_t record_at = 0;  // its central directory record
  uint16_t flags = 0;
  int method = 0;
  uint32_t crc32 = 0;
  uint64_t compressed_bytes = 0;
  uint64_t uncompressed_bytes = 0;
  uint64_t local_header_at = 0;
};

// The central directory of a zip archive, and where it is.
struct ZipDirectory {
  uint64_t at = 0;
  std::vector<ZipEntry> entries;
};

// The fields of a record that its zip64 extra field may hold (null: the
// record has no such field).
struct Zip64Values {
  uint64_t* uncompressed_bytes = nullptr;
  uint64_t* compressed_bytes = nullptr;
  uint64_t* local_header_at = nullptr;
  uint64_t* disk = nullptr;
};

// An error at a byte of the archive, about the record being read.
using ErrorAt = std::function<absl::Status(uint64_t at, absl::string_view what)>;

// Replaces the values a record saturated (0xffffffff, or 0xffff for the disk)
// with those its zip64 extra field holds, read from `extra` (the record's
// extra fields, at byte `extra_at` of the archive) in the order APPNOTE 4.5.3
// gives. A value saturated with no zip64 field to hold it is an error.
absl::Status ReadZip64Extra(absl::string_view extra, uint64_t extra_at, const Zip64Values& values,
                            const ErrorAt& error) {
  // The fields: a 2-byte id, a 2-byte length, the data. Fewer than 4 bytes
  // left over are padding, which some writers leave.
  absl::string_view zip64;
  uint64_t zip64_at = 0;
  bool found = false;
  for (uint64_t at = 0; extra.size() - at >= 4;) {
    const uint64_t id = LittleEndian(extra.data() + at, 2);
    const uint64_t length = LittleEndian(extra.data() + at + 2, 2);
    if (length > extra.size() - at - 4) {
      return error(extra_at + at,
                   absl::StrFormat("extra field 0x%04x of %d bytes goes beyond the record's %d "
                                   "bytes of extra fields",
                                   id, length, extra.size()));
    }
    if (id == kZip64ExtraId && !found) {
      zip64 = extra.substr(at + 4, length);
      zip64_at = extra_at + at + 4;
      found = true;
    }
    at += 4 + length;
  }
  uint64_t pos = 0;
  for (const auto& [value, what, bytes] :
       {std::tuple{values.uncompressed_bytes, "uncompressed size", 8},
        std::tuple{values.compressed_bytes, "compressed size", 8},
        std::tuple{values.local_header_at, "local header offset", 8},
        std::tuple{values.disk, "disk number", 4}}) {
    const uint64_t saturated = bytes == 8 ? kSaturated32 : kSaturated16;
    if (value == nullptr || *value != saturated) continue;
    if (!found) {
      return error(extra_at, absl::StrCat("the ", what, " is 0x", absl::Hex(saturated),
                                          ", which means it is in a zip64 extra field, but the "
                                          "record has none"));
    }
    if (zip64.size() - pos < static_cast<uint64_t>(bytes)) {
      return error(zip64_at, absl::StrCat("the zip64 extra field (", zip64.size(),
                                          " bytes) ends before the ", what));
    }
    *value = LittleEndian(zip64.data() + pos, bytes);
    pos += static_cast<uint64_t>(bytes);
  }
  return absl::OkStatus();
}

// A zip archive in memory (the file mapped), `path` in every error.
class ZipReader {
 public:
  ZipReader(absl::string_view bytes, std::string path) : bytes_(bytes), path_(std::move(path)) {}

  // The central directory: found through the end of central directory record
  // (and the zip64 one, when the archive has it), each record checked.
  absl::StatusOr<ZipDirectory> ReadDirectory() const;

  // Where `entry`'s data starts, its local header checked against the
  // directory and its data within the file.
  absl::StatusOr<uint64_t> DataStart(const ZipEntry& entry) const;

  // Inflates `entry`'s deflated data, at `data_at`, into `out` (the
  // directory's uncompressed size), checking the size and the CRC-32.
  absl::Status Inflate(const ZipEntry& entry, uint64_t data_at, char* out) const;

  // An error about the archive: "`path`: at byte `at`: `what`".
  absl::Status Error(uint64_t at, absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": at byte ", at, ": ", what));
  }
  // A message about one entry: "`path`: entry "x.npy": at byte `at`: `what`".
  std::string EntryMessage(const ZipEntry& entry, uint64_t at, absl::string_view what) const {
    return absl::StrCat(path_, ": entry ", Quoted(entry.name), ": at byte ", at, ": ", what);
  }
  absl::Status EntryError(const ZipEntry& entry, uint64_t at, absl::string_view what) const {
    return absl::InvalidArgumentError(EntryMessage(entry, at, what));
  }

 private:
  uint64_t size() const { return bytes_.size(); }
  const char* At(uint64_t at) const { return bytes_.data() + at; }
  uint64_t Read(uint64_t at, int n) const { return LittleEndian(At(at), n); }

  // The end of central directory record: the last signature in the file's
  // last 64 KiB whose comment ends within the file.
  absl::StatusOr<uint64_t> FindEnd() const;
  // The central directory record at `at`, the `index`th, which must end by `end`.
  absl::StatusOr<ZipEntry> ReadRecord(uint64_t at, uint64_t end, uint64_t index) const;

  absl::string_view bytes_;
  std::string path_;
};

absl::StatusOr<uint64_t> ZipReader::FindEnd() const {
  if (size() < kEndBytes) {
    return Error(
        0, absl::StrCat("not a zip archive: the file is ", size(),
                        " bytes, too short for the end of central directory record (", kEndBytes,
                        " bytes); an .npz file is a zip archive, as np.savez "
                        "writes it"));
  }
  const uint64_t last = size() - kEndBytes;
  const uint64_t first = last - std::min(last, kMaxCommentBytes);
  for (uint64_t at = last + 1; at-- > first;) {
    if (Read(at, 4) == kEndSignature && Read(at + 20, 2) <= last - at) return at;
  }
  return Error(first, absl::StrCat("not a zip archive: no end of central directory record "
                                   "(PK\\5\\6) from here to the end of the file at byte ",
                                   size(),
                                   "; an .npz file is a zip archive, as np.savez writes "
                                   "it (is this one cut short?)"));
}

absl::StatusOr<ZipEntry> ZipReader::ReadRecord(uint64_t at, uint64_t end, uint64_t index) const {
  if (end - at < kCentralBytes) {
    return Error(at, absl::StrCat("central directory record ", index + 1,
                                  " is cut off by the end of the directory at byte ", end));
  }
  if (Read(at, 4) != kCentralSignature) {
    return Error(at, absl::StrFormat("expected central directory record %d (PK\\1\\2), found "
                                     "0x%08x: the central directory is damaged",
                                     index + 1, Read(at, 4)));
  }
  const uint64_t name_bytes = Read(at + 28, 2);
  const uint64_t extra_bytes = Read(at + 30, 2);
  const uint64_t comment_bytes = Read(at + 32, 2);
  if (name_bytes + extra_bytes + comment_bytes > end - at - kCentralBytes) {
    return Error(at, absl::StrCat("central directory record ", index + 1, " (",
                                  kCentralBytes + name_bytes + extra_bytes + comment_bytes,
                                  " bytes) goes beyond the end of the directory at byte ", end));
  }
  ZipEntry entry;
  entry.record_at = at;
  entry.name = std::string(At(at + kCentralBytes), name_bytes);
  entry.flags = static_cast<uint16_t>(Read(at + 8, 2));
  entry.method = static_cast<int>(Read(at + 10, 2));
  entry.crc32 = static_cast<uint32_t>(Read(at + 16, 4));
  entry.compressed_bytes = Read(at + 20, 4);
  entry.uncompressed_bytes = Read(at + 24, 4);
  uint64_t disk = Read(at + 34, 2);
  entry.local_header_at = Read(at + 42, 4);
  const uint64_t extra_at = at + kCentralBytes + name_bytes;
  absl::Status zip64 = ReadZip64Extra(
      absl::string_view(At(extra_at), extra_bytes), extra_at,
      {&entry.uncompressed_bytes, &entry.compressed_bytes, &entry.local_header_at, &disk},
      [&](uint64_t where, absl::string_view what) { return EntryError(entry, where, what); });
  if (!zip64.ok()) return zip64;
  if (disk != 0) {
    return EntryError(entry, at + 34,
                      absl::StrCat("the entry starts on disk ", disk,
                                   " of a split archive; join it into one file"));
  }
  return entry;
}

absl::StatusOr<ZipDirectory> ZipReader::ReadDirectory() const {
  absl::StatusOr<uint64_t> end_at = FindEnd();
  if (!end_at.ok()) return end_at.status();
  const uint64_t end = *end_at;
  uint64_t disk = Read(end + 4, 2);
  uint64_t directory_disk = Read(end + 6, 2);
  uint64_t disk_entries = Read(end + 8, 2);
  uint64_t entries = Read(end + 10, 2);
  uint64_t directory_bytes = Read(end + 12, 4);
  uint64_t directory_at = Read(end + 16, 4);
  uint64_t entries_field = end + 10, directory_field = end + 12;
  uint64_t directory_end = end;  // the directory ends where the end records start
  // An archive of zip64 has its locator just before the end record, which
  // gives the zip64 end record, which gives the directory.
  if (end >= kZip64LocatorBytes && Read(end - kZip64LocatorBytes, 4) == kZip64LocatorSignature) {
    const uint64_t locator = end - kZip64LocatorBytes;
    const uint64_t zip64_end = Read(locator + 8, 8);
    if (zip64_end > locator || locator - zip64_end < kZip64EndBytes) {
      return Error(locator + 8,
                   absl::StrCat("the zip64 end of central directory record is said to be at byte ",
                                zip64_end, ", which leaves no room for its ", kZip64EndBytes,
                                " bytes before the zip64 locator at byte ", locator));
    }
    if (Read(zip64_end, 4) != kZip64EndSignature) {
      return Error(zip64_end, absl::StrFormat("expected the zip64 end of central directory record "
                                              "(PK\\6\\6) the locator at byte %d points to, found "
                                              "0x%08x",
                                              locator, Read(zip64_end, 4)));
    }
    if (Read(locator + 16, 4) > 1) {
      return Error(locator + 16, absl::StrCat("the archive is split over ", Read(locator + 16, 4),
                                              " disks; join it into one file"));
    }
    disk = Read(zip64_end + 16, 4);
    directory_disk = Read(zip64_end + 20, 4);
    disk_entries = Read(zip64_end + 24, 8);
    entries = Read(zip64_end + 32, 8);
    directory_bytes = Read(zip64_end + 40, 8);
    directory_at = Read(zip64_end + 48, 8);
    entries_field = zip64_end + 32;
    directory_field = zip64_end + 40;
    directory_end = zip64_end;
  }
  if (disk != 0 || directory_disk != 0 || disk_entries != entries) {
    return Error(end + 4, "the archive is split over several disks; join it into one file");
  }
  if (directory_at > directory_end || directory_bytes > directory_end - directory_at) {
    return Error(directory_field,
                 absl::StrCat("the central directory (", directory_bytes, " bytes at byte ",
                              directory_at, ") goes beyond the end records at byte ", directory_end,
                              ": the archive is damaged or cut short"));
  }
  if (entries > directory_bytes / kCentralBytes) {
    return Error(entries_field,
                 absl::StrCat(entries, " entries cannot fit in a central directory of ",
                              directory_bytes, " bytes (each takes at least ", kCentralBytes, ")"));
  }
  ZipDirectory directory;
  directory.at = directory_at;
  directory.entries.reserve(entries);
  const uint64_t last = directory_at + directory_bytes;
  for (uint64_t i = 0, at = directory_at; i < entries; ++i) {
    absl::StatusOr<ZipEntry> entry = ReadRecord(at, last, i);
    if (!entry.ok()) return entry.status();
    at += kCentralBytes + entry->name.size() + Read(at + 30, 2) + Read(at + 32, 2);
    directory.entries.push_back(*std::move(entry));
  }
  return directory;
}

absl::StatusOr<uint64_t> ZipReader::DataStart(const ZipEntry& entry) const {
  const uint64_t at = entry.local_header_at;
  if (at > size() || size() - at < kLocalBytes) {
    return EntryError(entry, entry.record_at + 42,
                      absl::StrCat("the local header at byte ", at,
                                   " goes beyond the end of the file at byte ", size()));
  }
  if (Read(at, 4) != kLocalSignature) {
    return EntryError(entry, at,
                      absl::StrFormat("expected a local file header (PK\\3\\4), found "
                                      "0x%08x: the archive is damaged",
                                      Read(at, 4)));
  }
  const uint16_t flags = static_cast<uint16_t>(Read(at + 6, 2));
  const int method = static_cast<int>(Read(at + 8, 2));
  const uint32_t crc32 = static_cast<uint32_t>(Read(at + 14, 4));
  uint64_t compressed_bytes = Read(at + 18, 4);
  uint64_t uncompressed_bytes = Read(at + 22, 4);
  const uint64_t name_bytes = Read(at + 26, 2);
  const uint64_t extra_bytes = Read(at + 28, 2);
  if (name_bytes + extra_bytes > size() - at - kLocalBytes) {
    return EntryError(
        entry, at + 26,
        absl::StrCat("the local header's name and extra field (", name_bytes, " and ", extra_bytes,
                     " bytes) go beyond the end of the file at byte ", size()));
  }
  const absl::string_view name(At(at + kLocalBytes), name_bytes);
  if (name != entry.name) {
    return EntryError(
        entry, at + kLocalBytes,
        absl::StrCat("the local header names the entry ", Quoted(name), ", the central directory ",
                     Quoted(entry.name), ": the archive is damaged"));
  }
  if ((flags & (kFlagEncrypted | kFlagStrongEncryption)) != 0) {
    return EntryError(entry, at + 6,
                      "the entry is encrypted; an .npz archive is read "
                      "unencrypted, as np.savez writes it");
  }
  if (method != entry.method) {
    return EntryError(entry, at + 8,
                      absl::StrCat("the local header's compression method ", MethodName(method),
                                   " is not the central directory's ", MethodName(entry.method),
                                   ": the archive is damaged"));
  }
  // A writer that streamed the entry gives its CRC and sizes after the data
  // (and the directory has them); others give them here too, and they agree.
  if ((flags & kFlagDataDescriptor) == 0) {
    const uint64_t extra_at = at + kLocalBytes + name_bytes;
    absl::Status zip64 = ReadZip64Extra(
        absl::string_view(At(extra_at), extra_bytes), extra_at,
        {&uncompressed_bytes, &compressed_bytes, nullptr, nullptr},
        [&](uint64_t where, absl::string_view what) { return EntryError(entry, where, what); });
    if (!zip64.ok()) return zip64;
    if (crc32 != entry.crc32 || compressed_bytes != entry.compressed_bytes ||
        uncompressed_bytes != entry.uncompressed_bytes) {
      return EntryError(
          entry, at + 14,
          absl::StrFormat("the local header's CRC-32 0x%08x and sizes (%d bytes compressed, %d "
                          "uncompressed) are not the central directory's (0x%08x, %d, %d): the "
                          "archive is damaged",
                          crc32, compressed_bytes, uncompressed_bytes, entry.crc32,
                          entry.compressed_bytes, entry.uncompressed_bytes));
    }
  }
  const uint64_t data_at = at + kLocalBytes + name_bytes + extra_bytes;
  if (entry.compressed_bytes > size() - data_at) {
    return EntryError(entry, data_at,
                      absl::StrCat("the entry's ", entry.compressed_bytes,
                                   " bytes of data go beyond the end of the file at byte ", size(),
                                   ": the archive is cut short or damaged"));
  }
  return data_at;
}

absl::Status ZipReader::Inflate(const ZipEntry& entry, uint64_t data_at, char* out) const {
  const absl::string_view in(At(data_at), entry.compressed_bytes);
  const uint64_t want = entry.uncompressed_bytes;
  z_stream stream = {};
  if (inflateInit2(&stream, -MAX_WBITS) != Z_OK) {  // raw deflate: no zlib or gzip wrapper
    return absl::ResourceExhaustedError(
        EntryMessage(entry, data_at, "not enough memory to start zlib's inflate"));
  }
  // Past `want` bytes the output goes to `spare`: a stream that still has
  // output there is longer than the directory says.
  char spare[1];
  uint64_t in_at = 0;
  uint64_t out_at = 0;
  absl::Status status;
  while (true) {
    const bool full = out_at == want;
    const uInt in_chunk = static_cast<uInt>(std::min(in.size() - in_at, kZlibChunk));
    const uInt out_chunk = full ? 1 : static_cast<uInt>(std::min(want - out_at, kZlibChunk));
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + in_at));
    stream.avail_in = in_chunk;
    stream.next_out = reinterpret_cast<Bytef*>(full ? spare : out + out_at);
    stream.avail_out = out_chunk;
    const int result = inflate(&stream, Z_NO_FLUSH);
    const uint64_t consumed = in_chunk - stream.avail_in;
    const uint64_t produced = out_chunk - stream.avail_out;
    in_at += consumed;
    if (full && produced > 0) {
      status = EntryError(entry, data_at + in_at,
                          absl::StrCat("the entry inflates to more than the ", want,
                                       " bytes the central directory gives it"));
      break;
    }
    out_at += produced;
    if (result == Z_STREAM_END) {
      if (out_at != want) {
        status = EntryError(entry, data_at + in_at,
                            absl::StrCat("the entry inflates to ", out_at,
                                         " bytes; the central directory gives it ", want));
      }
      break;
    }
    if (result == Z_DATA_ERROR) {
      status = EntryError(entry, data_at + in_at,
                          absl::StrCat("the deflated data is corrupt (zlib: ",
                                       stream.msg != nullptr ? stream.msg : "invalid data", ")"));
      break;
    }
    if (result == Z_MEM_ERROR) {
      status = absl::ResourceExhaustedError(
          EntryMessage(entry, data_at + in_at, "out of memory inflating the entry"));
      break;
    }
    if (result != Z_OK && result != Z_BUF_ERROR) {
      status = EntryError(entry, data_at + in_at,
                          absl::StrCat("zlib's inflate failed (error ", result, ")"));
      break;
    }
    if (consumed == 0 && produced == 0) {  // all the input in, and no end to the stream
      status = EntryError(
          entry, data_at + in_at,
          absl::StrCat("the deflated data ends (after ", entry.compressed_bytes, " bytes, ", out_at,
                       " of ", want, " inflated) before the deflate stream does"));
      break;
    }
  }
  inflateEnd(&stream);
  if (!status.ok()) return status;
  uLong crc = crc32_z(0, nullptr, 0);
  crc = crc32_z(crc, reinterpret_cast<const Bytef*>(out), static_cast<z_size_t>(want));
  if (crc != entry.crc32) {
    return EntryError(entry, entry.record_at + 16,
                      absl::StrFormat("the CRC-32 of the inflated entry is 0x%08x; the central "
                                      "directory gives 0x%08x: the archive is damaged",
                                      crc, entry.crc32));
  }
  return absl::OkStatus();
}

constexpr absl::string_view kNpySuffix = ".npy";

// The entries' arrays: the names that end in ".npy", without it, each once.
std::vector<std::string> ArraysOf(const ZipDirectory& directory) {
  std::vector<std::string> arrays;
  std::set<std::string> seen;
  for (const ZipEntry& entry : directory.entries) {
    if (!absl::EndsWith(entry.name, kNpySuffix)) continue;
    std::string array = entry.name.substr(0, entry.name.size() - kNpySuffix.size());
    if (seen.insert(array).second) arrays.push_back(std::move(array));
  }
  return arrays;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> NpyFile::ArchiveArrays(const std::string& path) {
  absl::StatusOr<std::unique_ptr<Mapping>> mapping = Mapping::Map(path);
  if (!mapping.ok()) return mapping.status();
  absl::StatusOr<ZipDirectory> directory = ZipReader((*mapping)->bytes(), path).ReadDirectory();
  if (!directory.ok()) return directory.status();
  return ArraysOf(*directory);
}

absl::StatusOr<std::unique_ptr<NpyFile>> NpyFile::OpenInArchive(const std::string& path,
                                                                const std::string& array) {
  absl::StatusOr<std::unique_ptr<Mapping>> mapping = Mapping::Map(path);
  if (!mapping.ok()) return mapping.status();
  const absl::string_view bytes = (*mapping)->bytes();
  const ZipReader zip(bytes, path);
  absl::StatusOr<ZipDirectory> directory = zip.ReadDirectory();
  if (!directory.ok()) return directory.status();

  const std::string entry_name = absl::StrCat(array, kNpySuffix);
  const ZipEntry* found = nullptr;
  for (const ZipEntry& entry : directory->entries) {
    if (entry.name == entry_name) found = &entry;  // the last, as np.load reads
  }
  if (found == nullptr) {
    const std::vector<std::string> arrays = ArraysOf(*directory);
    return absl::NotFoundError(absl::StrCat(
        path, ": at byte ", directory->at, ": the central directory has no entry ",
        Quoted(entry_name), " (array ", Quoted(array), "); ",
        arrays.empty()
            ? "the archive has no arrays"
            : absl::StrCat("its arrays are ",
                           absl::StrJoin(arrays, ", ", [](std::string* out, const std::string& a) {
                             absl::StrAppend(out, Quoted(a));
                           }))));
  }
  const ZipEntry& entry = *found;
  if ((entry.flags & (kFlagEncrypted | kFlagStrongEncryption)) != 0) {
    return zip.EntryError(entry, entry.record_at + 8,
                          "the entry is encrypted; an .npz archive is read unencrypted, as "
                          "np.savez writes it");
  }
  if (entry.method != kStored && entry.method != kDeflated) {
    return zip.EntryError(
        entry, entry.record_at + 10,
        absl::StrCat("compression method ", MethodName(entry.method),
                     "; an .npz entry is stored (0) or deflated (8), as np.savez and "
                     "np.savez_compressed write them"));
  }
  absl::StatusOr<uint64_t> data_at = zip.DataStart(entry);
  if (!data_at.ok()) return data_at.status();
  const std::string name = absl::StrCat(path, " (array ", Quoted(array), ")");

  if (entry.method == kStored) {
    if (entry.compressed_bytes != entry.uncompressed_bytes) {
      return zip.EntryError(
          entry, entry.record_at + 20,
          absl::StrCat("the entry is stored in ", entry.compressed_bytes,
                       " bytes, but its uncompressed size is ", entry.uncompressed_bytes));
    }
    const absl::string_view entry_bytes = bytes.substr(*data_at, entry.compressed_bytes);
    absl::StatusOr<NpyHeader> header = ParseNpyHeader(entry_bytes, entry_bytes.size(), name);
    if (!header.ok()) return header.status();
    return std::unique_ptr<NpyFile>(
        new NpyFile(name, *std::move(header), entry_bytes.data(), *std::move(mapping), nullptr));
  }

  const uint64_t want = entry.uncompressed_bytes;
  if (want > kMaxInflatedBytes ||
      want / kMaxDeflateRatio > entry.compressed_bytes) {  // want > 1032 x compressed, rounded
    return zip.EntryError(
        entry, entry.record_at + 24,
        absl::StrCat("the central directory gives the entry ", want, " bytes uncompressed, ",
                     want > kMaxInflatedBytes
                         ? absl::StrCat("more than the ", kMaxInflatedBytes,
                                        " bytes an entry is inflated to")
                         : absl::StrCat("more than its ", entry.compressed_bytes,
                                        " bytes of deflated data can hold"),
                     ": the archive is damaged"));
  }
  std::unique_ptr<char[]> inflated(new (std::nothrow) char[std::max<uint64_t>(want, 1)]);
  if (inflated == nullptr) {
    return absl::ResourceExhaustedError(zip.EntryMessage(
        entry, *data_at,
        absl::StrCat("not enough memory to inflate the entry's ", want, " bytes")));
  }
  absl::Status inflate = zip.Inflate(entry, *data_at, inflated.get());
  if (!inflate.ok()) return inflate;
  mapping->reset();  // the array is all in memory now
  absl::StatusOr<NpyHeader> header =
      ParseNpyHeader(absl::string_view(inflated.get(), want), want, name);
  if (!header.ok()) return header.status();
  const char* array_bytes = inflated.get();
  return std::unique_ptr<NpyFile>(
      new NpyFile(name, *std::move(header), array_bytes, nullptr, std::move(inflated)));
}

}  // namespace mnemo
