// NumPy .npz archives: the arrays of archives NumPy wrote (np.savez,
// np.savez_compressed, and one of zip64: tests/data/testdata, made by
// make_npz.py there) read back exactly, a stored array read on demand from
// the mapping, and archives built here (a small zip writer: stored and
// deflated entries, zip64 records, data descriptors) damaged in each way the
// reader refuses, with the file and the byte offset in the message.

#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_files.h"
#include "tools/data/npy.h"

namespace mnemo {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kTestdata[] = "tests/data/testdata/";

// An .npy file as numpy.save writes it (version 1.0).
std::string NpyBytes(const std::string& descr, const std::string& shape, const std::string& data,
                     const std::string& fortran = "False") {
  std::string dict = absl::StrCat("{'descr': '", descr, "', 'fortran_order': ", fortran,
                                  ", 'shape': ", shape, ", }");
  const size_t padded = (10 + dict.size() + 1 + 63) / 64 * 64;
  dict.append(padded - 10 - dict.size() - 1, ' ');
  dict.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back(1);
  out.push_back(0);
  out.push_back(static_cast<char>(dict.size() & 0xff));
  out.push_back(static_cast<char>(dict.size() >> 8));
  return out + dict + data;
}

template <typename T>
std::string Bytes(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

// A zip archive written as the spec (APPNOTE.TXT) says, with the offsets of
// its records, so that a test can damage one field.
struct Member {
  std::string name;
  std::string data;
  bool deflate = false;
};

struct ZipOptions {
  bool zip64 = false;            // zip64 extra fields, all sizes and offsets saturated,
                                 // and the zip64 end records
  bool data_descriptor = false;  // the CRC and sizes after the data, as a streaming writer
};

constexpr ZipOptions kZip64 = {/*zip64=*/true, /*data_descriptor=*/false};

struct Zip {
  std::string bytes;
  std::vector<size_t> local_at;    // each member's local header
  std::vector<size_t> central_at;  // each member's central directory record
};

void Put(uint64_t value, int n, std::string* out) {
  for (int i = 0; i < n; ++i) out->push_back(static_cast<char>(value >> (8 * i)));
}

void PutAt(uint64_t value, int n, size_t at, std::string* out) {
  for (int i = 0; i < n; ++i) (*out)[at + i] = static_cast<char>(value >> (8 * i));
}

std::string RawDeflate(const std::string& data) {
  z_stream stream = {};
  EXPECT_EQ(deflateInit2(&stream, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&stream, data.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

Zip MakeZip(const std::vector<Member>& members, ZipOptions options = {}) {
  Zip zip;
  std::string& out = zip.bytes;
  struct Written {
    uint32_t crc;
    std::string data;
  };
  std::vector<Written> written;
  const uint64_t saturated = 0xffffffff;
  for (const Member& m : members) {
    const uint32_t crc =
        crc32(0, reinterpret_cast<const Bytef*>(m.data.data()), static_cast<uInt>(m.data.size()));
    const std::string data = m.deflate ? RawDeflate(m.data) : m.data;
    written.push_back({crc, data});
    zip.local_at.push_back(out.size());
    const bool dd = options.data_descriptor;
    Put(0x04034b50, 4, &out);
    Put(options.zip64 ? 45 : 20, 2, &out);
    Put(dd ? 8 : 0, 2, &out);
    Put(m.deflate ? 8 : 0, 2, &out);
    Put(0, 2, &out);     // time
    Put(0x21, 2, &out);  // date: 1980-01-01
    Put(dd ? 0 : crc, 4, &out);
    Put(dd ? 0 : options.zip64 ? saturated : data.size(), 4, &out);
    Put(dd ? 0 : options.zip64 ? saturated : m.data.size(), 4, &out);
    Put(m.name.size(), 2, &out);
    Put(options.zip64 ? 20 : 0, 2, &out);
    out += m.name;
    if (options.zip64) {
      Put(1, 2, &out);
      Put(16, 2, &out);
      Put(dd ? 0 : m.data.size(), 8, &out);
      Put(dd ? 0 : data.size(), 8, &out);
    }
    out += data;
    if (dd) {
      Put(0x08074b50, 4, &out);
      Put(crc, 4, &out);
      Put(data.size(), options.zip64 ? 8 : 4, &out);
      Put(m.data.size(), options.zip64 ? 8 : 4, &out);
    }
  }
  const size_t directory_at = out.size();
  for (size_t i = 0; i < members.size(); ++i) {
    const Member& m = members[i];
    zip.central_at.push_back(out.size());
    Put(0x02014b50, 4, &out);
    Put(options.zip64 ? 45 : 20, 2, &out);  // made by
    Put(options.zip64 ? 45 : 20, 2, &out);  // needed
    Put(options.data_descriptor ? 8 : 0, 2, &out);
    Put(m.deflate ? 8 : 0, 2, &out);
    Put(0, 2, &out);
    Put(0x21, 2, &out);
    Put(written[i].crc, 4, &out);
    Put(options.zip64 ? saturated : written[i].data.size(), 4, &out);
    Put(options.zip64 ? saturated : m.data.size(), 4, &out);
    Put(m.name.size(), 2, &out);
    Put(options.zip64 ? 28 : 0, 2, &out);
    Put(0, 2, &out);  // comment
    Put(0, 2, &out);  // disk
    Put(0, 2, &out);  // internal attributes
    Put(0, 4, &out);  // external attributes
    Put(options.zip64 ? saturated : zip.local_at[i], 4, &out);
    out += m.name;
    if (options.zip64) {
      Put(1, 2, &out);
      Put(24, 2, &out);
      Put(m.data.size(), 8, &out);
      Put(written[i].data.size(), 8, &out);
      Put(zip.local_at[i], 8, &out);
    }
  }
  const size_t directory_bytes = out.size() - directory_at;
  if (options.zip64) {
    const size_t zip64_end_at = out.size();
    Put(0x06064b50, 4, &out);
    Put(44, 8, &out);  // the size of the rest of the record
    Put(45, 2, &out);
    Put(45, 2, &out);
    Put(0, 4, &out);
    Put(0, 4, &out);
    Put(members.size(), 8, &out);
    Put(members.size(), 8, &out);
    Put(directory_bytes, 8, &out);
    Put(directory_at, 8, &out);
    Put(0x07064b50, 4, &out);  // the locator
    Put(0, 4, &out);
    Put(zip64_end_at, 8, &out);
    Put(1, 4, &out);
  }
  Put(0x06054b50, 4, &out);
  Put(0, 2, &out);
  Put(0, 2, &out);
  Put(options.zip64 ? 0xffff : members.size(), 2, &out);
  Put(options.zip64 ? 0xffff : members.size(), 2, &out);
  Put(options.zip64 ? saturated : directory_bytes, 4, &out);
  Put(options.zip64 ? saturated : directory_at, 4, &out);
  Put(0, 2, &out);
  return zip;
}

// The arrays the archives built here hold.
const std::string& SixFloats() {
  static const std::string* const npy =
      new std::string(NpyBytes("<f4", "(2, 3)", Bytes(std::vector<float>{1, 2, 3, 4, 5, 6})));
  return *npy;
}
const std::string& FourLabels() {
  static const std::string* const npy =
      new std::string(NpyBytes("<i8", "(4,)", Bytes(std::vector<int64_t>{3, 1, 4, 1})));
  return *npy;
}

std::string WriteArchive(const std::string& bytes, const std::string& name = "a.npz") {
  const std::string path = TestDir() + "/" + name;
  WriteFile(path, bytes);
  return path;
}

std::vector<float> AllRows(const NpyFile& file) {
  std::vector<float> out(file.rows() * file.cols());
  file.ReadRows(0, file.rows(), out.data());
  return out;
}

// The array's rows, or a failed test.
std::vector<float> ReadArray(const std::string& path, const std::string& array) {
  absl::StatusOr<std::unique_ptr<NpyFile>> file = NpyFile::OpenInArchive(path, array);
  EXPECT_TRUE(file.ok()) << file.status();
  if (!file.ok()) return {};
  return AllRows(**file);
}

// The message OpenInArchive gives for `array` of `bytes`, which it must refuse.
std::string Refusal(const std::string& bytes, const std::string& array = "x") {
  const std::string path = WriteArchive(bytes, "bad.npz");
  absl::StatusOr<std::unique_ptr<NpyFile>> file = NpyFile::OpenInArchive(path, array);
  EXPECT_FALSE(file.ok());
  if (file.ok()) return "";
  EXPECT_THAT(std::string(file.status().message()), StartsWith(path));
  EXPECT_THAT(std::string(file.status().message()), HasSubstr("byte"));
  // The rest, with the path as "bad.npz".
  return absl::StrCat("bad.npz", file.status().message().substr(path.size()));
}

TEST(NpzTest, ReadsEveryTypeExactlyFromSavezAndSavezCompressed) {
  for (const char* name : {"savez.npz", "savez_compressed.npz"}) {
    SCOPED_TRACE(name);
    const std::string path = absl::StrCat(kTestdata, name);
    absl::StatusOr<std::unique_ptr<NpyFile>> f32 = NpyFile::OpenInArchive(path, "f32");
    ASSERT_TRUE(f32.ok()) << f32.status();
    EXPECT_EQ((*f32)->header().type, NpyType::kFloat32);
    EXPECT_EQ((*f32)->rows(), 2);
    EXPECT_EQ((*f32)->cols(), 3);
    EXPECT_EQ((*f32)->path(), absl::StrCat(path, " (array \"f32\")"));
    EXPECT_THAT(AllRows(**f32), ElementsAre(0, 1.5f, -2.25f, 1e6f, -7, 0.1f));

    absl::StatusOr<std::unique_ptr<NpyFile>> f64 = NpyFile::OpenInArchive(path, "f64");
    ASSERT_TRUE(f64.ok()) << f64.status();
    EXPECT_EQ((*f64)->header().type, NpyType::kFloat64);
    EXPECT_THAT(AllRows(**f64), ElementsAre(0.1f, -2.5f, 3e10f));

    absl::StatusOr<std::unique_ptr<NpyFile>> u8 = NpyFile::OpenInArchive(path, "u8");
    ASSERT_TRUE(u8.ok()) << u8.status();
    EXPECT_EQ((*u8)->header().type, NpyType::kUint8);
    EXPECT_EQ((*u8)->rows(), 2);
    EXPECT_EQ((*u8)->cols(), 4);
    EXPECT_THAT(AllRows(**u8), ElementsAre(0, 1, 2, 3, 128, 200, 254, 255));

    absl::StatusOr<std::unique_ptr<NpyFile>> i32 = NpyFile::OpenInArchive(path, "i32");
    ASSERT_TRUE(i32.ok()) << i32.status();
    EXPECT_EQ((*i32)->header().type, NpyType::kInt32);
    EXPECT_THAT(AllRows(**i32), ElementsAre(0, -5, 7, static_cast<float>(2147483647)));

    absl::StatusOr<std::unique_ptr<NpyFile>> i64 = NpyFile::OpenInArchive(path, "i64");
    ASSERT_TRUE(i64.ok()) << i64.status();
    EXPECT_EQ((*i64)->header().type, NpyType::kInt64);
    EXPECT_THAT(AllRows(**i64), ElementsAre(static_cast<float>(-(int64_t{1} << 40)), 3, 9,
                                            static_cast<float>(int64_t{1} << 53)));
  }
}

TEST(NpzTest, ListsTheArraysInDirectoryOrder) {
  for (const char* name : {"savez.npz", "savez_compressed.npz"}) {
    absl::StatusOr<std::vector<std::string>> arrays =
        NpyFile::ArchiveArrays(absl::StrCat(kTestdata, name));
    ASSERT_TRUE(arrays.ok()) << arrays.status();
    EXPECT_THAT(*arrays, ElementsAre("f32", "f64", "u8", "i32", "i64", "rows")) << name;
  }
  // Entries that are not .npy arrays are not listed; a name given twice
  // (zipfile's mode "a" writes such archives) is listed once, and reads as
  // the last entry, as np.load reads it.
  const std::string path = WriteArchive(MakeZip({{"x.npy", FourLabels()},
                                                 {"notes.txt", "hello"},
                                                 {"y.npy", SixFloats(), true},
                                                 {"x.npy", SixFloats()}})
                                            .bytes);
  absl::StatusOr<std::vector<std::string>> arrays = NpyFile::ArchiveArrays(path);
  ASSERT_TRUE(arrays.ok()) << arrays.status();
  EXPECT_THAT(*arrays, ElementsAre("x", "y"));
  EXPECT_THAT(ReadArray(path, "x"), ElementsAre(1, 2, 3, 4, 5, 6));
  // An archive of no arrays (np.savez(f)) is an archive.
  arrays = NpyFile::ArchiveArrays(WriteArchive(MakeZip({}).bytes, "empty.npz"));
  ASSERT_TRUE(arrays.ok()) << arrays.status();
  EXPECT_TRUE(arrays->empty());
}

TEST(NpzTest, ReadsZip64Archives) {
  // NumPy's own, with zipfile's zip64 limit lowered: zip64 central records
  // (sizes, and the second entry's offset) and end records.
  const std::string numpy_zip64 = absl::StrCat(kTestdata, "zip64.npz");
  absl::StatusOr<std::vector<std::string>> arrays = NpyFile::ArchiveArrays(numpy_zip64);
  ASSERT_TRUE(arrays.ok()) << arrays.status();
  EXPECT_THAT(*arrays, ElementsAre("x", "y"));
  std::vector<float> fifteen(15);
  for (int i = 0; i < 15; ++i) fifteen[i] = static_cast<float>(i);
  EXPECT_THAT(ReadArray(numpy_zip64, "x"), ElementsAreArray(fifteen));
  EXPECT_THAT(ReadArray(numpy_zip64, "y"), ElementsAre(0, 1, 2, 3, 4));

  // Everything saturated: the end record's counts and offsets, each record's
  // sizes and offset, the local headers' sizes; stored and deflated.
  const std::string path =
      WriteArchive(MakeZip({{"x.npy", SixFloats()}, {"y.npy", FourLabels(), true}}, kZip64).bytes);
  EXPECT_THAT(ReadArray(path, "x"), ElementsAre(1, 2, 3, 4, 5, 6));
  EXPECT_THAT(ReadArray(path, "y"), ElementsAre(3, 1, 4, 1));
}

TEST(NpzTest, ReadsEntriesWithDataDescriptors) {
  // A streaming writer (zipfile writing to a pipe) leaves the local header's
  // CRC and sizes zero and writes them after the data.
  for (const bool zip64 : {false, true}) {
    const std::string path =
        WriteArchive(MakeZip({{"x.npy", SixFloats()}, {"y.npy", FourLabels(), true}},
                             ZipOptions{zip64, /*data_descriptor=*/true})
                         .bytes);
    EXPECT_THAT(ReadArray(path, "x"), ElementsAre(1, 2, 3, 4, 5, 6)) << zip64;
    EXPECT_THAT(ReadArray(path, "y"), ElementsAre(3, 1, 4, 1)) << zip64;
  }
}

TEST(NpzTest, StoredEntryIsReadOnDemandAndReleasesItsPages) {
  for (const char* name : {"savez.npz", "savez_compressed.npz"}) {
    SCOPED_TRACE(name);
    absl::StatusOr<std::unique_ptr<NpyFile>> file =
        NpyFile::OpenInArchive(absl::StrCat(kTestdata, name), "rows");
    ASSERT_TRUE(file.ok()) << file.status();
    const NpyFile& rows = **file;
    ASSERT_EQ(rows.rows(), 5);
    ASSERT_EQ(rows.cols(), 3);
    const int32_t order[] = {4, 0, 2};
    std::vector<float> out(9);
    rows.GatherRows(order, 3, out.data());
    EXPECT_THAT(out, ElementsAre(12, 13, 14, 0, 1, 2, 6, 7, 8));
    rows.ReleasePages();
    std::vector<float> two(6);
    rows.ReadRows(1, 2, two.data());  // from the page cache again (stored), or memory
    EXPECT_THAT(two, ElementsAre(3, 4, 5, 6, 7, 8));
  }
}

TEST(NpzTest, MissingArrayListsTheArraysThereAre) {
  const std::string path = absl::StrCat(kTestdata, "savez.npz");
  absl::StatusOr<std::unique_ptr<NpyFile>> file = NpyFile::OpenInArchive(path, "x");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(file.status().message(),
            path +
                ": at byte 1274: the central directory has no entry \"x.npy\" (array \"x\"); "
                "its arrays are \"f32\", \"f64\", \"u8\", \"i32\", \"i64\", \"rows\"");
  EXPECT_EQ(Refusal(MakeZip({}).bytes),
            "bad.npz: at byte 0: the central directory has no entry \"x.npy\" (array \"x\"); the "
            "archive has no arrays");
  // Names are bytes: those outside printable ASCII are escaped in messages.
  EXPECT_THAT(Refusal(MakeZip({{"\xff\"\n.npy", SixFloats()}}).bytes, "\x01"),
              HasSubstr("no entry \"\\x01.npy\" (array \"\\x01\"); its arrays are "
                        "\"\\xff\\\"\\n\""));
}

TEST(NpzTest, RefusesWhatIsNotAZipArchive) {
  EXPECT_EQ(Refusal(""),
            "bad.npz: at byte 0: not a zip archive: the file is 0 bytes, too short for the end "
            "of central directory record (22 bytes); an .npz file is a zip archive, as np.savez "
            "writes it");
  EXPECT_EQ(Refusal(SixFloats()),
            "bad.npz: at byte 0: not a zip archive: no end of central directory record (PK\\5\\6) "
            "from here to the end of the file at byte 152; an .npz file is a zip archive, as "
            "np.savez writes it (is this one cut short?)");
  const std::string missing = TestDir() + "/missing.npz";
  absl::StatusOr<std::unique_ptr<NpyFile>> file = NpyFile::OpenInArchive(missing, "x");
  ASSERT_FALSE(file.ok());
  EXPECT_THAT(std::string(file.status().message()), HasSubstr(missing));
  absl::StatusOr<std::vector<std::string>> arrays = NpyFile::ArchiveArrays(missing);
  ASSERT_FALSE(arrays.ok());
  EXPECT_THAT(std::string(arrays.status().message()), HasSubstr(missing));
}

TEST(NpzTest, RefusesEveryTruncationOfNumpysArchives) {
  for (const char* name : {"savez.npz", "savez_compressed.npz", "zip64.npz"}) {
    const std::string whole = ReadBytes(absl::StrCat(kTestdata, name));
    ASSERT_FALSE(whole.empty()) << name;
    for (size_t size = 0; size < whole.size(); ++size) {
      SCOPED_TRACE(absl::StrCat(name, " cut to ", size, " bytes"));
      const std::string path = WriteArchive(whole.substr(0, size), "cut.npz");
      absl::StatusOr<std::vector<std::string>> arrays = NpyFile::ArchiveArrays(path);
      ASSERT_FALSE(arrays.ok());
      EXPECT_THAT(std::string(arrays.status().message()), StartsWith(path + ": at byte "));
      absl::StatusOr<std::unique_ptr<NpyFile>> file = NpyFile::OpenInArchive(path, "rows");
      ASSERT_FALSE(file.ok());
      EXPECT_THAT(std::string(file.status().message()), StartsWith(path + ": at byte "));
    }
  }
  // With the end records intact but the data cut out from under them.
  const std::string whole = ReadBytes(absl::StrCat(kTestdata, "savez.npz"));
  EXPECT_THAT(Refusal(whole.substr(0, 100) + whole.substr(whole.size() - 22), "f32"),
              HasSubstr("at byte 112: the central directory (318 bytes at byte 1274) goes "
                        "beyond the end records at byte 100"));
}

TEST(NpzTest, RefusesACorruptedCrc) {
  Zip zip = MakeZip({{"x.npy", SixFloats(), true}});
  const uint32_t crc = crc32(0, reinterpret_cast<const Bytef*>(SixFloats().data()),
                             static_cast<uInt>(SixFloats().size()));
  PutAt(crc ^ 1, 4, zip.local_at[0] + 14, &zip.bytes);
  PutAt(crc ^ 1, 4, zip.central_at[0] + 16, &zip.bytes);
  EXPECT_EQ(Refusal(zip.bytes),
            absl::StrFormat("bad.npz: entry \"x.npy\": at byte %d: the CRC-32 of the inflated "
                            "entry is 0x%08x; the central directory gives 0x%08x: the archive is "
                            "damaged",
                            zip.central_at[0] + 16, crc, crc ^ 1));
  // Damaged deflated data.
  zip = MakeZip({{"x.npy", SixFloats(), true}});
  zip.bytes[zip.local_at[0] + 30 + 5] ^= 0x55;
  EXPECT_THAT(Refusal(zip.bytes), HasSubstr("bad.npz: entry \"x.npy\": at byte"));
}

TEST(NpzTest, RefusesABadLocalHeader) {
  Zip zip = MakeZip({{"x.npy", SixFloats()}});
  zip.bytes[zip.local_at[0]] = 'Q';
  EXPECT_EQ(Refusal(zip.bytes),
            "bad.npz: entry \"x.npy\": at byte 0: expected a local file header (PK\\3\\4), found "
            "0x04034b51: the archive is damaged");
  // Its name, method or sizes not the directory's.
  zip = MakeZip({{"x.npy", SixFloats()}});
  zip.bytes[zip.local_at[0] + 30] = 'z';
  EXPECT_EQ(Refusal(zip.bytes),
            "bad.npz: entry \"x.npy\": at byte 30: the local header names the entry \"z.npy\", "
            "the central directory \"x.npy\": the archive is damaged");
  zip = MakeZip({{"x.npy", SixFloats()}});
  PutAt(8, 2, zip.local_at[0] + 8, &zip.bytes);
  EXPECT_EQ(Refusal(zip.bytes),
            "bad.npz: entry \"x.npy\": at byte 8: the local header's compression method 8 is not "
            "the central directory's 0: the archive is damaged");
  zip = MakeZip({{"x.npy", SixFloats()}});
  PutAt(SixFloats().size() - 1, 4, zip.local_at[0] + 18, &zip.bytes);
  EXPECT_THAT(Refusal(zip.bytes), HasSubstr("at byte 14: the local header's CRC-32 0x"));
  // Its offset beyond the file.
  zip = MakeZip({{"x.npy", SixFloats()}});
  PutAt(1 << 30, 4, zip.central_at[0] + 42, &zip.bytes);
  EXPECT_EQ(Refusal(zip.bytes),
            absl::StrCat("bad.npz: entry \"x.npy\": at byte ", zip.central_at[0] + 42,
                         ": the local header at byte 1073741824 goes beyond the end of the file "
                         "at byte ",
                         zip.bytes.size()));
  // Its data beyond the file: a zip64 size near 2^64 must not wrap around.
  zip = MakeZip({{"x.npy", SixFloats()}}, kZip64);
  const size_t sizes = zip.central_at[0] + 46 + 5 + 4;
  PutAt(~uint64_t{0} - 8, 8, sizes, &zip.bytes);
  PutAt(~uint64_t{0} - 8, 8, sizes + 8, &zip.bytes);
  PutAt(~uint64_t{0} - 8, 8, zip.local_at[0] + 30 + 5 + 4, &zip.bytes);
  PutAt(~uint64_t{0} - 8, 8, zip.local_at[0] + 30 + 5 + 12, &zip.bytes);
  EXPECT_THAT(Refusal(zip.bytes),
              HasSubstr("the entry's 18446744073709551607 bytes of data go beyond the end of the "
                        "file"));
}

TEST(NpzTest, RefusesOtherCompressionsAndEncryption) {
  Zip zip = MakeZip({{"x.npy", SixFloats()}});
  PutAt(12, 2, zip.central_at[0] + 10, &zip.bytes);
  PutAt(12, 2, zip.local_at[0] + 8, &zip.bytes);
  EXPECT_EQ(Refusal(zip.bytes),
            absl::StrCat("bad.npz: entry \"x.npy\": at byte ", zip.central_at[0] + 10,
                         ": compression method 12 (bzip2); an .npz entry is stored (0) or "
                         "deflated (8), as np.savez and np.savez_compressed write them"));
  zip = MakeZip({{"x.npy", SixFloats()}});
  PutAt(1, 2, zip.central_at[0] + 8, &zip.bytes);
  EXPECT_EQ(Refusal(zip.bytes),
            absl::StrCat("bad.npz: entry \"x.npy\": at byte ", zip.central_at[0] + 8,
                         ": the entry is encrypted; an .npz archive is read unencrypted, as "
                         "np.savez writes it"));
  zip = MakeZip({{"x.npy", SixFloats()}});
  PutAt(1, 2, zip.local_at[0] + 6, &zip.bytes);
  EXPECT_THAT(Refusal(zip.bytes), HasSubstr("at byte 6: the entry is encrypted"));
}

TEST(NpzTest, RefusesSizesThatDisagree) {
  // Stored: the two sizes differ.
  Zip zip = MakeZip({{"x.npy", SixFloats()}});
  PutAt(SixFloats().size() + 1, 4, zip.central_at[0] + 24, &zip.bytes);
  EXPECT_THAT(Refusal(zip.bytes),
              HasSubstr("at byte 14: the local header's CRC-32"));  // checked first
  PutAt(SixFloats().size() + 1, 4, zip.local_at[0] + 22, &zip.bytes);
  EXPECT_EQ(Refusal(zip.bytes),
            absl::StrCat("bad.npz: entry \"x.npy\": at byte ", zip.central_at[0] + 20,
                         ": the entry is stored in 152 bytes, but its uncompressed size is 153"));
  // Deflated: more, or fewer, bytes than the directory says.
  for (const int delta : {-1, 1}) {
    zip = MakeZip({{"x.npy", SixFloats(), true}});
    PutAt(SixFloats().size() + delta, 4, zip.central_at[0] + 24, &zip.bytes);
    PutAt(SixFloats().size() + delta, 4, zip.local_at[0] + 22, &zip.bytes);
    EXPECT_THAT(Refusal(zip.bytes),
                HasSubstr(delta < 0 ? "the entry inflates to more than the 151 bytes the central "
                                      "directory gives it"
                                    : "the entry inflates to 152 bytes; the central directory "
                                      "gives it 153"));
  }
  // Absurd: more than the data could inflate to, or than is ever allocated.
  for (const uint64_t size : {uint64_t{1} << 39, uint64_t{1} << 50}) {
    zip = MakeZip({{"x.npy", SixFloats(), true}}, kZip64);
    PutAt(size, 8, zip.central_at[0] + 46 + 5 + 4, &zip.bytes);
    PutAt(size, 8, zip.local_at[0] + 30 + 5 + 4, &zip.bytes);
    EXPECT_THAT(Refusal(zip.bytes),
                HasSubstr(absl::StrCat("the central directory gives the entry ", size,
                                       " bytes uncompressed, more than")));
  }
}

TEST(NpzTest, RefusesADamagedDirectory) {
  Zip zip = MakeZip({{"x.npy", SixFloats()}, {"y.npy", FourLabels()}});
  zip.bytes[zip.central_at[1]] = 'Q';
  EXPECT_EQ(Refusal(zip.bytes),
            absl::StrCat("bad.npz: at byte ", zip.central_at[1],
                         ": expected central directory record 2 (PK\\1\\2), found 0x02014b51: "
                         "the central directory is damaged"));
  // More entries than the directory can hold.
  zip = MakeZip({{"x.npy", SixFloats()}});
  PutAt(1000, 2, zip.bytes.size() - 12, &zip.bytes);
  PutAt(1000, 2, zip.bytes.size() - 14, &zip.bytes);
  EXPECT_THAT(Refusal(zip.bytes), HasSubstr("1000 entries cannot fit in a central directory of 51 "
                                            "bytes"));
  // A name that runs past the directory.
  zip = MakeZip({{"x.npy", SixFloats()}});
  PutAt(0xffff, 2, zip.central_at[0] + 28, &zip.bytes);
  EXPECT_THAT(Refusal(zip.bytes), HasSubstr("goes beyond the end of the directory"));
  // A saturated size with no zip64 field for it.
  zip = MakeZip({{"x.npy", SixFloats()}});
  PutAt(0xffffffff, 4, zip.central_at[0] + 24, &zip.bytes);
  EXPECT_THAT(Refusal(zip.bytes),
              HasSubstr("the uncompressed size is 0xffffffff, which means it is in a zip64 extra "
                        "field, but the record has none"));
  // A zip64 locator that points nowhere.
  zip = MakeZip({{"x.npy", SixFloats()}}, kZip64);
  PutAt(3, 8, zip.bytes.size() - 22 - 20 + 8, &zip.bytes);
  EXPECT_THAT(Refusal(zip.bytes), HasSubstr("expected the zip64 end of central directory record"));
  PutAt(~uint64_t{0}, 8, zip.bytes.size() - 22 - 20 + 8, &zip.bytes);
  EXPECT_THAT(Refusal(zip.bytes), HasSubstr("the zip64 end of central directory record is said "
                                            "to be at byte 18446744073709551615"));
}

TEST(NpzTest, NpyErrorsNameTheArchiveAndTheArray) {
  for (const bool deflate : {false, true}) {
    const std::string fortran =
        NpyBytes("<f4", "(2, 3)", Bytes(std::vector<float>{1, 2, 3, 4, 5, 6}), "True");
    EXPECT_EQ(Refusal(MakeZip({{"x.npy", fortran, deflate}}).bytes),
              "bad.npz (array \"x\"): at byte 10: the array is in Fortran order; save a C-order "
              "one (np.ascontiguousarray)");
    EXPECT_EQ(Refusal(MakeZip({{"x.npy", "not an array", deflate}}).bytes),
              "bad.npz (array \"x\"): at byte 0: not a NumPy .npy array (it does not start with "
              "\\x93NUMPY)");
  }
}

// Any byte of NumPy's archives damaged: an array or an error naming the
// file, never a crash (under the sanitizers, no bad read either).
TEST(NpzTest, SurvivesEveryByteFlipped) {
  for (const char* name : {"savez_compressed.npz", "zip64.npz"}) {
    const std::string whole = ReadBytes(absl::StrCat(kTestdata, name));
    for (size_t at = 0; at < whole.size(); ++at) {
      std::string bytes = whole;
      bytes[at] ^= static_cast<char>(0x80 | (at & 0x7f));
      const std::string path = WriteArchive(bytes, "flipped.npz");
      absl::StatusOr<std::vector<std::string>> arrays = NpyFile::ArchiveArrays(path);
      if (!arrays.ok()) {
        EXPECT_THAT(std::string(arrays.status().message()), StartsWith(path)) << at;
        continue;
      }
      for (const std::string& array : *arrays) {
        absl::StatusOr<std::unique_ptr<NpyFile>> file = NpyFile::OpenInArchive(path, array);
        if (!file.ok()) {
          EXPECT_THAT(std::string(file.status().message()), StartsWith(path)) << at;
          continue;
        }
        AllRows(**file);
      }
    }
  }
}

}  // namespace
}  // namespace mnemo
