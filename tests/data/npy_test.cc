// NumPy .npy arrays: every type and format version read back exactly (the
// files written byte for byte as NumPy writes them), rows converted to float
// one batch at a time from the mapping, and malformed headers refused with
// the file and the byte offset.

#include "tools/data/npy.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_files.h"

namespace mnemo {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// An .npy file as numpy.save writes it: the magic string, the version, the
// header length, the dictionary padded with spaces to a multiple of 64 bytes
// and a newline, then the data.
std::string NpyBytes(const std::string& descr, const std::string& shape, const std::string& data,
                     int major = 1, const std::string& fortran = "False") {
  std::string dict = absl::StrCat("{'descr': '", descr, "', 'fortran_order': ", fortran,
                                  ", 'shape': ", shape, ", }");
  const size_t prefix = major == 1 ? 10 : 12;
  const size_t padded = (prefix + dict.size() + 1 + 63) / 64 * 64;
  dict.append(padded - prefix - dict.size() - 1, ' ');
  dict.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back(static_cast<char>(major));
  out.push_back(0);
  for (size_t i = 0; i < prefix - 8; ++i) out.push_back(static_cast<char>(dict.size() >> (8 * i)));
  return out + dict + data;
}

template <typename T>
std::string Bytes(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

std::unique_ptr<NpyFile> OpenBytes(const std::string& bytes, const std::string& name = "a.npy") {
  const std::string path = TestDir() + "/" + name;
  WriteFile(path, bytes);
  absl::StatusOr<std::unique_ptr<NpyFile>> file = NpyFile::Open(path);
  EXPECT_TRUE(file.ok()) << file.status();
  return file.ok() ? *std::move(file) : nullptr;
}

std::vector<float> AllRows(const NpyFile& file) {
  std::vector<float> out(file.rows() * file.cols());
  file.ReadRows(0, file.rows(), out.data());
  return out;
}

TEST(NpyTest, ReadsEveryTypeAsFloatExactly) {
  const std::vector<float> want = {0, 1, -2.5f, 255, 7, 1e6f};
  auto check = [&](const std::string& descr, const std::string& data, std::vector<float> expect) {
    SCOPED_TRACE(descr);
    std::unique_ptr<NpyFile> file = OpenBytes(NpyBytes(descr, "(2, 3)", data));
    ASSERT_NE(file, nullptr);
    EXPECT_EQ(file->rows(), 2);
    EXPECT_EQ(file->cols(), 3);
    EXPECT_EQ(AllRows(*file), expect);
  };
  check("<f4", Bytes(want), want);
  check("<f8", Bytes(std::vector<double>{0, 1, -2.5, 255, 7, 1e6}), want);
  check("<i4", Bytes(std::vector<int32_t>{0, 1, -2, 255, 7, 1000000}), {0, 1, -2, 255, 7, 1e6f});
  check("<i8", Bytes(std::vector<int64_t>{0, 1, -2, 255, 7, 1000000}), {0, 1, -2, 255, 7, 1e6f});
  check("|u1", Bytes(std::vector<uint8_t>{0, 1, 2, 255, 7, 100}), {0, 1, 2, 255, 7, 100});
}

TEST(NpyTest, ReadsEveryVersionAndRank) {
  const std::vector<float> six = {1, 2, 3, 4, 5, 6};
  for (int major : {1, 2, 3}) {
    std::unique_ptr<NpyFile> file = OpenBytes(NpyBytes("<f4", "(6,)", Bytes(six), major));
    ASSERT_NE(file, nullptr) << major;
    EXPECT_EQ(file->rows(), 6);
    EXPECT_EQ(file->cols(), 1);
  }
  // Images (n, h, w): a row per image of h x w features, in C order.
  std::unique_ptr<NpyFile> images = OpenBytes(NpyBytes("<f4", "(1, 2, 3)", Bytes(six)));
  ASSERT_NE(images, nullptr);
  EXPECT_EQ(images->rows(), 1);
  EXPECT_EQ(images->cols(), 6);
  EXPECT_EQ(AllRows(*images), six);
  // An empty data set is an array too.
  std::unique_ptr<NpyFile> empty = OpenBytes(NpyBytes("<f4", "(0, 784)", ""));
  ASSERT_NE(empty, nullptr);
  EXPECT_EQ(empty->rows(), 0);
}

TEST(NpyTest, GathersRowsInTheOrderAskedAndReleasesItsPages) {
  std::vector<int32_t> values(12);
  for (int i = 0; i < 12; ++i) values[i] = i;
  std::unique_ptr<NpyFile> file = OpenBytes(NpyBytes("<i4", "(4, 3)", Bytes(values)));
  ASSERT_NE(file, nullptr);
  const int32_t order[] = {3, 0, 2};
  std::vector<float> out(9);
  file->GatherRows(order, 3, out.data());
  EXPECT_THAT(out, ElementsAre(9, 10, 11, 0, 1, 2, 6, 7, 8));
  file->ReleasePages();
  std::vector<float> again(3);
  file->ReadRows(1, 1, again.data());  // read back from the page cache
  EXPECT_THAT(again, ElementsAre(3, 4, 5));
}

// The message for `bytes`, which must be refused.
std::string Refusal(const std::string& bytes) {
  absl::StatusOr<NpyHeader> header = ParseNpyHeader(bytes, bytes.size(), "x.npy");
  EXPECT_FALSE(header.ok());
  return std::string(header.status().message());
}

TEST(NpyTest, RefusesMalformedArraysNamingTheByte) {
  const std::string six = Bytes(std::vector<float>{1, 2, 3, 4, 5, 6});
  EXPECT_EQ(Refusal("PK\x03\x04 not an npy"),
            "x.npy: at byte 0: not a NumPy .npy array (it does not start with \\x93NUMPY)");
  std::string version = NpyBytes("<f4", "(6,)", six);
  version[6] = 4;
  EXPECT_EQ(Refusal(version),
            "x.npy: at byte 6: format version 4.0; this reader takes 1.0, 2.0 and 3.0");
  std::string long_header = NpyBytes("<f4", "(6,)", six);
  long_header[8] = '\xff';
  long_header[9] = '\x7f';
  EXPECT_THAT(Refusal(long_header), HasSubstr("at byte 8: the header length 32767 goes beyond"));
  EXPECT_THAT(Refusal(NpyBytes(">f4", "(6,)", six)),
              HasSubstr("at byte 10: big-endian data ('>f4') is not read"));
  EXPECT_THAT(Refusal(NpyBytes("<c8", "(6,)", six)), HasSubstr("type '<c8' is not read"));
  EXPECT_THAT(Refusal(NpyBytes("<f4", "(6,)", six, 1, "True")),
              HasSubstr("at byte 10: the array is in Fortran order"));
  EXPECT_EQ(Refusal(NpyBytes("<f4", "(2, 4)", six)),
            "x.npy: at byte 128: the shape (2, 4) of float32 needs 32 bytes of data but the array "
            "has 24");
  EXPECT_THAT(Refusal(NpyBytes("<f4", "(-6,)", six)),
              HasSubstr("expected a size (a non-negative integer below 10^18) in 'shape'"));
  EXPECT_THAT(Refusal(NpyBytes("<f4", "(999999999999999999, 100)", six)),
              HasSubstr("the shape (999999999999999999, 100) is too large"));
  // Columns past int32, with and without rows: their product, which no element
  // count bounds when there are no rows, is checked as it is formed.
  for (const char* shape : {"(2, 999999999999999999)", "(0, 5040057, 50400575, 5040057)"}) {
    EXPECT_THAT(Refusal(NpyBytes("<f4", shape, six)),
                HasSubstr("has more than 2^31 - 1 rows or columns"))
        << shape;
  }
  std::string bad_byte = NpyBytes("<f4", "(6,)", six);
  bad_byte[20] = '\x01';
  EXPECT_THAT(Refusal(bad_byte), HasSubstr("at byte 20: byte 0x01 in the header"));
  std::string no_shape = NpyBytes("<f4", "(6,)", six);
  no_shape.replace(no_shape.find("'shape'"), 7, "'shaep'");
  EXPECT_THAT(Refusal(no_shape), HasSubstr("unknown key 'shaep'"));
  EXPECT_EQ(Refusal(""),
            "x.npy: at byte 0: not a NumPy .npy array (it does not start with \\x93NUMPY)");
}

TEST(NpyTest, OpenNamesTheFile) {
  const std::string path = TestDir() + "/missing.npy";
  absl::StatusOr<std::unique_ptr<NpyFile>> file = NpyFile::Open(path);
  ASSERT_FALSE(file.ok());
  EXPECT_THAT(std::string(file.status().message()), HasSubstr(path));
  WriteFile(path, "");
  file = NpyFile::Open(path);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().message(),
            path + ": at byte 0: not a NumPy .npy array (it does not start with \\x93NUMPY)");
}

}  // namespace
}  // namespace mnemo
