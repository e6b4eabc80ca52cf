#include "core/io/safetensors.h"

#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/tensors.h"
#include "tests/testing/test_files.h"

namespace mnemo {
namespace {

using ::mnemo::testing::SameBits;

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

// A fresh directory for each test in the test's temporary directory.
void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (const dirent* entry = ::readdir(d)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

std::string Uint64LittleEndian(uint64_t n) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
  return out;
}

std::string FloatsLittleEndian(const std::vector<float>& values) {
  std::string out;
  for (const float v : values) {
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof(bits));
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
  }
  return out;
}

// A safetensors file as the specification lays it out, from its parts.
std::string MakeFile(const std::string& header, const std::string& data) {
  return Uint64LittleEndian(header.size()) + header + data;
}

// Reading `bytes` from a file (the reader checks the header against the
// file's size, then reads the tensors at their offsets) gives what parsing
// them in memory gives: the same tensors, or the same error word for word.
void ExpectTheFileReaderAgrees(const std::string& bytes) {
  const std::string path = TestDir() + "/as_a_file.safetensors";
  WriteBytes(path, bytes);
  const absl::StatusOr<TensorFile> parsed = ParseSafetensors(bytes, path);
  const absl::StatusOr<TensorFile> read = ReadSafetensors(path);
  EXPECT_EQ(read.status(), parsed.status());
  if (read.ok() && parsed.ok()) {
    EXPECT_EQ(read->metadata, parsed->metadata);
    ASSERT_EQ(read->tensors.size(), parsed->tensors.size());
    for (const auto& [name, tensor] : parsed->tensors) {
      ASSERT_EQ(read->tensors.count(name), 1u) << name;
      EXPECT_TRUE(read->tensors.at(name) == tensor) << name;
    }
  }
}

// The error of ParseSafetensors on `bytes`, which the file reader must give
// too (checked here for every malformed file below but one too large to write).
std::string ParseError(const std::string& bytes) {
  if (bytes.size() <= (1 << 20)) ExpectTheFileReaderAgrees(bytes);
  absl::StatusOr<TensorFile> file = ParseSafetensors(bytes, "model.safetensors");
  if (file.ok()) return "(parsed without error)";
  EXPECT_EQ(file.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(file.status().message());
}

Tensor Make(int rows, int cols, std::vector<float> values) {
  Tensor t(rows, cols);
  EXPECT_EQ(values.size(), static_cast<size_t>(rows * cols));
  for (int i = 0; i < rows * cols; ++i) t.data()[i] = values[i];
  return t;
}

TEST(SafetensorsTest, RoundTripIsBitIdentical) {
  TensorFile file;
  float nan_with_payload;
  const uint32_t nan_bits = 0x7fc12345;
  std::memcpy(&nan_with_payload, &nan_bits, sizeof(float));
  file.tensors["layer0.weight"] =
      Make(2, 3, {-0.0f, std::numeric_limits<float>::denorm_min(),
                  std::numeric_limits<float>::infinity(), nan_with_payload,
                  std::numeric_limits<float>::max(), 1.0f / 3.0f});
  file.tensors["layer0.bias"] = Make(1, 3, {1, 2, 3});
  file.tensors["empty"] = Tensor(0, 4);
  file.tensors["caf\xc3\xa9"] = Make(1, 1, {42});
  file.metadata["config"] = "layers { type: \"dense\" units: 10 }\n\\path\t\x01";
  file.metadata["unicode"] = "\xe2\x82\xac \xf0\x9f\x98\x80 \xc3\xbc";
  file.metadata[""] = "";

  const std::string path = TestDir() + "/model.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, file).ok());
  absl::StatusOr<TensorFile> read = ReadSafetensors(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->metadata, file.metadata);
  ASSERT_EQ(read->tensors.size(), file.tensors.size());
  for (const auto& [name, tensor] : file.tensors) {
    ASSERT_EQ(read->tensors.count(name), 1u) << name;
    EXPECT_TRUE(SameBits(read->tensors.at(name), tensor)) << name;
  }

  // Writing what was read gives the same bytes: the output is deterministic.
  const std::string again = TestDir() + "/again.safetensors";
  ASSERT_TRUE(WriteSafetensors(again, *read).ok());
  EXPECT_EQ(ReadBytes(again), ReadBytes(path));
}

TEST(SafetensorsTest, WritesTheSpecifiedLayoutByteForByte) {
  TensorFile file;
  file.tensors["b"] = Make(1, 2, {0.25f, 1.0f});
  file.tensors["a"] = Make(2, 1, {3.0f, -1.5f});
  file.metadata["format"] = "pt";
  const std::string path = TestDir() + "/small.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, file).ok());

  // Tensors sorted by name, rank 2 always, the header padded with spaces so
  // that the data starts 8-byte aligned (8 + 144 = 152), F32 little-endian.
  const std::string header =
      "{\"__metadata__\":{\"format\":\"pt\"},"
      "\"a\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[8,16]}} ";
  ASSERT_EQ(header.size(), 144u);
  const std::string expected = std::string("\x90\0\0\0\0\0\0\0", 8) + header +
                               std::string("\x00\x00\x40\x40"    // 3.0
                                           "\x00\x00\xc0\xbf"    // -1.5
                                           "\x00\x00\x80\x3e"    // 0.25
                                           "\x00\x00\x80\x3f",   // 1.0
                                           16);
  EXPECT_EQ(ReadBytes(path), expected);
}

TEST(SafetensorsTest, WritesNoMetadataKeyWithoutMetadata) {
  TensorFile file;
  file.tensors["w"] = Make(1, 1, {1});
  const std::string path = TestDir() + "/plain.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, file).ok());
  const std::string bytes = ReadBytes(path);
  EXPECT_EQ(bytes.substr(8, 56),
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[0,4]}}");
  EXPECT_EQ(bytes.size() % 8, 4u);  // 8 + padded header (multiple of 8) + 4 data bytes
}

TEST(SafetensorsTest, ReadsAHandWrittenFile) {
  // Whitespace, keys in another order, ranks 0 and 1, escapes in names,
  // entries not in data order: all allowed by the specification.
  const std::string header =
      "{\n  \"scalar\": {\"data_offsets\": [12, 16], \"shape\": [], \"dtype\": \"F32\"},\n"
      "  \"row\\u00e9\\ud83d\\ude00\": {\"dtype\": \"F32\", \"shape\": [3],"
      " \"data_offsets\": [0, 12]},\n"
      "  \"__metadata__\": {\"note\": \"tab\\there \\\"quoted\\\" \\/ \\\\\"},\n"
      "  \"matrix\": {\"dtype\": \"F32\", \"shape\": [2, 2], \"data_offsets\": [16, 32]}\n}"
      "        ";
  const std::string data = FloatsLittleEndian({1, 2, 3, 7, 10, 20, 30, 40});
  const std::string path = TestDir() + "/hand.safetensors";
  WriteBytes(path, MakeFile(header, data));

  absl::StatusOr<TensorFile> file = ReadSafetensors(path);
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_EQ(file->tensors.size(), 3u);
  const Tensor& row = file->tensors.at("row\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(row.rows(), 1);
  EXPECT_EQ(row.cols(), 3);
  EXPECT_THAT(std::vector<float>(row.data(), row.data() + 3), ElementsAre(1, 2, 3));
  const Tensor& scalar = file->tensors.at("scalar");
  EXPECT_EQ(scalar.rows(), 1);
  EXPECT_EQ(scalar.cols(), 1);
  EXPECT_EQ(scalar(0, 0), 7);
  const Tensor& matrix = file->tensors.at("matrix");
  EXPECT_EQ(matrix.rows(), 2);
  EXPECT_EQ(matrix(0, 1), 20);  // row-major
  EXPECT_EQ(matrix(1, 0), 30);
  EXPECT_EQ(file->metadata.at("note"), "tab\there \"quoted\" / \\");
}

TEST(SafetensorsTest, ReadsAFileWithNoTensors) {
  absl::StatusOr<TensorFile> file = ParseSafetensors(MakeFile("{}", ""), "empty");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_THAT(file->tensors, IsEmpty());
  EXPECT_THAT(file->metadata, IsEmpty());
}

TEST(SafetensorsTest, RefusesFilesTooShortForTheHeaderLength) {
  EXPECT_EQ(ParseError(""),
            "model.safetensors: the file is 0 bytes, too short for the 8-byte header length");
  EXPECT_EQ(ParseError(std::string("\x10\0\0\0\0", 5)),
            "model.safetensors: the file is 5 bytes, too short for the 8-byte header length");
}

TEST(SafetensorsTest, RefusesAHeaderLengthBeyondTheFile) {
  EXPECT_EQ(ParseError(Uint64LittleEndian(1000) + "{}        "),
            "model.safetensors: the header length (bytes 0 to 7) is 1000 but only 10 bytes "
            "follow it");
  // A length so large that adding 8 to it would wrap around.
  EXPECT_THAT(ParseError(Uint64LittleEndian(~uint64_t{0}) + "{}"),
              HasSubstr("is 18446744073709551615 but only 2 bytes follow it"));
}

TEST(SafetensorsTest, RefusesAnInsaneHeaderLength) {
  const uint64_t length = 100'000'001;
  std::string bytes = Uint64LittleEndian(length) + std::string(length, ' ');
  EXPECT_EQ(ParseError(bytes),
            "model.safetensors: the header length is 100000001, beyond the limit of "
            "100000000 bytes");
}

TEST(SafetensorsTest, RefusesBadJsonWithItsOffset) {
  // Offsets count from the start of the file: the header starts at byte 8.
  EXPECT_EQ(ParseError(MakeFile("{\"a\":", "")),
            "model.safetensors: bad JSON header at byte 13: expected a JSON value, found the "
            "end of the JSON text");
  EXPECT_EQ(ParseError(MakeFile("", "")),
            "model.safetensors: bad JSON header at byte 8: expected a JSON value, found the "
            "end of the JSON text");
  EXPECT_EQ(ParseError(MakeFile("{\"a\" 1}", "")),
            "model.safetensors: bad JSON header at byte 13: expected ':' after the key, found "
            "'1'");
  EXPECT_EQ(ParseError(MakeFile("{} x", "")),
            "model.safetensors: bad JSON header at byte 11: unexpected 'x' after the JSON "
            "value");
  EXPECT_EQ(ParseError(MakeFile("{\"a\":1.5}", "")),
            "model.safetensors: bad JSON header at byte 13: only integers are supported here");
  EXPECT_EQ(ParseError(MakeFile("{\"a\":-1}", "")),
            "model.safetensors: bad JSON header at byte 13: negative numbers are not supported "
            "here");
  EXPECT_EQ(ParseError(MakeFile("{\"a\":true}", "")),
            "model.safetensors: bad JSON header at byte 13: true, false and null are not "
            "supported here");
  EXPECT_EQ(ParseError(MakeFile("{\"a\":01}", "")),
            "model.safetensors: bad JSON header at byte 13: numbers may not have leading zeros");
  EXPECT_EQ(ParseError(MakeFile("{\"a\":99999999999999999999}", "")),
            "model.safetensors: bad JSON header at byte 13: integer too large for 64 bits");
  EXPECT_EQ(ParseError(MakeFile("{\"a\xff\":{}}", "")),
            "model.safetensors: bad JSON header at byte 11: invalid UTF-8");
  EXPECT_EQ(ParseError(MakeFile("{\"a\xc0\xaf\":{}}", "")),  // overlong '/'
            "model.safetensors: bad JSON header at byte 11: invalid UTF-8");
  EXPECT_EQ(ParseError(MakeFile("{\"a\nb\":{}}", "")),
            "model.safetensors: bad JSON header at byte 11: control character in a string "
            "(must be escaped)");
  EXPECT_EQ(ParseError(MakeFile("{\"\\ud800\":{}}", "")),
            "model.safetensors: bad JSON header at byte 10: high surrogate in \\u escape "
            "without a low surrogate");
  EXPECT_EQ(ParseError(MakeFile("{\"\\x\":{}}", "")),
            "model.safetensors: bad JSON header at byte 10: invalid escape sequence \\'x'");
  EXPECT_EQ(ParseError(MakeFile("{\"a\":{},\"a\":{}}", "")),
            "model.safetensors: bad JSON header at byte 16: duplicate key \"a\"");
  EXPECT_EQ(ParseError(MakeFile("{\"a", "")),
            "model.safetensors: bad JSON header at byte 9: unterminated string");
  EXPECT_THAT(ParseError(MakeFile(std::string(100, '[') + std::string(100, ']'), "")),
              HasSubstr("JSON nested more than 64 levels deep"));
}

TEST(SafetensorsTest, RefusesAHeaderThatIsNotAnObject) {
  EXPECT_EQ(ParseError(MakeFile("[]", "")),
            "model.safetensors: the header is an array, not a JSON object");
}

TEST(SafetensorsTest, RefusesAnUnknownDtypeNamingTheTensor) {
  EXPECT_EQ(ParseError(MakeFile(
                "{\"w\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", "abcd")),
            "model.safetensors: tensor \"w\" has dtype \"F16\"; only F32 is supported");
}

TEST(SafetensorsTest, RefusesMalformedTensorEntries) {
  EXPECT_EQ(ParseError(MakeFile("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", "abcd")),
            "model.safetensors: tensor \"w\" at byte 13 has no \"dtype\"");
  EXPECT_EQ(ParseError(MakeFile("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],"
                                "\"extra\":[]}}",
                                "abcd")),
            "model.safetensors: tensor \"w\" has an unknown key \"extra\" (at byte 69)");
  EXPECT_EQ(ParseError(MakeFile("{\"w\":[]}", "")),
            "model.safetensors: tensor \"w\" at byte 13 is an array, not an object");
  EXPECT_EQ(ParseError(MakeFile("{\"w\":{\"dtype\":\"F32\",\"shape\":[\"1\"],"
                                "\"data_offsets\":[0,4]}}",
                                "abcd")),
            "model.safetensors: shape of tensor \"w\" has a string at byte 37, not an integer");
  EXPECT_EQ(ParseError(MakeFile("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1],"
                                "\"data_offsets\":[0,4]}}",
                                "abcd")),
            "model.safetensors: tensor \"w\" has shape [1, 1, 1] of rank 3; only ranks 0, 1 and "
            "2 are supported");
  EXPECT_EQ(ParseError(MakeFile("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],"
                                "\"data_offsets\":[0]}}",
                                "abcd")),
            "model.safetensors: data_offsets of tensor \"w\" at byte 55 are [0], not "
            "[begin, end]");
  EXPECT_EQ(ParseError(MakeFile("{\"w\":{\"dtype\":\"F32\",\"shape\":[0,4294967296],"
                                "\"data_offsets\":[0,0]}}",
                                "")),
            "model.safetensors: tensor \"w\" has shape [0, 4294967296] with a dimension beyond "
            "2147483647");
  EXPECT_EQ(ParseError(MakeFile("{\"__metadata__\":{\"k\":1}}", "")),
            "model.safetensors: metadata value of key \"k\" at byte 29 is an integer, not a "
            "string");
}

TEST(SafetensorsTest, RefusesAShapeThatDoesNotMatchTheByteRange) {
  EXPECT_EQ(ParseError(MakeFile("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],"
                                "\"data_offsets\":[0,20]}}",
                                std::string(20, 'x'))),
            "model.safetensors: tensor \"w\" has shape [2, 3] (24 bytes of F32) but "
            "data_offsets [0, 20] hold 20 bytes");
}

TEST(SafetensorsTest, RefusesOffsetsOutOfBounds) {
  EXPECT_EQ(ParseError(MakeFile("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],"
                                "\"data_offsets\":[0,8]}}",
                                "abcd")),
            "model.safetensors: data_offsets [0, 8] of tensor \"w\" go beyond the data area of "
            "4 bytes");
  EXPECT_EQ(ParseError(MakeFile("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],"
                                "\"data_offsets\":[8,4]}}",
                                "abcd")),
            "model.safetensors: data_offsets [8, 4] of tensor \"w\" end before they begin");
  // Offsets near 2^64 must not wrap around in the size check.
  EXPECT_THAT(ParseError(MakeFile("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],"
                                  "\"data_offsets\":[18446744073709551615,3]}}",
                                  "abcd")),
              HasSubstr("end before they begin"));
}

TEST(SafetensorsTest, RefusesOverlappingTensors) {
  EXPECT_EQ(ParseError(MakeFile(
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                std::string(12, 'x'))),
            "model.safetensors: tensor \"b\" (data bytes 4 to 12) overlaps tensor \"a\" (data "
            "bytes 0 to 8)");
}

TEST(SafetensorsTest, RefusesHolesAndExtraBytesInTheDataArea) {
  EXPECT_EQ(ParseError(MakeFile(
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
                std::string(12, 'x'))),
            "model.safetensors: data bytes 4 to 8 belong to no tensor (a hole before tensor "
            "\"b\")");
  EXPECT_EQ(ParseError(MakeFile(
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                std::string(8, 'x'))),
            "model.safetensors: data bytes 0 to 4 belong to no tensor (a hole before tensor "
            "\"a\")");
  EXPECT_EQ(ParseError(MakeFile(
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                std::string(7, 'x'))),
            "model.safetensors: data bytes 4 to 7 belong to no tensor (3 extra bytes after the "
            "last tensor)");
  EXPECT_EQ(ParseError(MakeFile("{}", "x")),
            "model.safetensors: data bytes 0 to 1 belong to no tensor (1 extra bytes after the "
            "last tensor)");
}

TEST(SafetensorsTest, ReadErrorsNameThePath) {
  const std::string path = TestDir() + "/missing.safetensors";
  absl::StatusOr<TensorFile> file = ReadSafetensors(path);
  EXPECT_EQ(file.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(file.status().message()), StartsWith(path + ": cannot open"));
  EXPECT_THAT(std::string(file.status().message()), HasSubstr("No such file or directory"));

  const std::string bad = TestDir() + "/bad.safetensors";
  WriteBytes(bad, "abc");
  EXPECT_THAT(std::string(ReadSafetensors(bad).status().message()),
              StartsWith(bad + ": the file is 3 bytes"));
}

TEST(SafetensorsTest, RefusesToWriteWhatItCouldNotReadBack) {
  const std::string path = TestDir() + "/model.safetensors";
  TensorFile file;
  file.tensors["__metadata__"] = Make(1, 1, {1});
  EXPECT_THAT(std::string(WriteSafetensors(path, file).message()),
              HasSubstr("a tensor may not be named \"__metadata__\""));
  file.tensors.clear();
  file.tensors["bad\xff"] = Make(1, 1, {1});
  EXPECT_THAT(std::string(WriteSafetensors(path, file).message()), HasSubstr("is not UTF-8"));
  EXPECT_THAT(ListDir(TestDir()), IsEmpty());
}

TensorFile SmallFile(float value) {
  TensorFile file;
  file.tensors["w"] = Make(1, 1, {value});
  return file;
}

TEST(SafetensorsTest, FailedWriteLeavesTheOldFileAndNoTemporaryFile) {
  const std::string dir = TestDir();
  const std::string path = dir + "/model.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, SmallFile(1)).ok());
  const std::string old_bytes = ReadBytes(path);

  // A file size limit makes the write of the temporary file fail even for
  // root, who may write into any directory.
  TensorFile big;
  big.tensors["w"] = Tensor::Zero(100, 100);
  struct rlimit old_limit;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  struct rlimit limit = old_limit;
  limit.rlim_cur = 1000;
  const sighandler_t old_handler = ::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  const absl::Status status = WriteSafetensors(path, big);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  ::signal(SIGXFSZ, old_handler);

  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr(path));
  EXPECT_THAT(std::string(status.message()), HasSubstr("File too large"));
  EXPECT_EQ(ReadBytes(path), old_bytes);
  EXPECT_THAT(ListDir(dir), ElementsAre("model.safetensors"));
}

TEST(SafetensorsTest, WriteOverADirectoryFailsAndLeavesNoTemporaryFile) {
  const std::string dir = TestDir();
  const std::string path = dir + "/model.safetensors";
  ASSERT_EQ(::mkdir(path.c_str(), 0777), 0);
  const absl::Status status = WriteSafetensors(path, SmallFile(1));
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr(path));
  EXPECT_THAT(std::string(status.message()), HasSubstr("Is a directory"));
  EXPECT_THAT(ListDir(dir), ElementsAre("model.safetensors"));
  EXPECT_THAT(ListDir(path), IsEmpty());
}

// As anyone, root included: the write runs in a child without capabilities,
// for which a directory's permissions hold as for any user.
TEST(SafetensorsTest, WriteIntoAReadOnlyDirectoryFailsAndKeepsTheOldFile) {
  const std::string dir = TestDir();
  const std::string path = dir + "/model.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, SmallFile(1)).ok());
  const std::string old_bytes = ReadBytes(path);
  ASSERT_EQ(::chmod(dir.c_str(), 0555), 0);
  testing::ChildLimits limits;
  limits.drop_capabilities = true;
  const std::string message =
      testing::RunInChild(limits, [&] { return WriteSafetensors(path, SmallFile(2)).ToString(); });
  ::chmod(dir.c_str(), 0755);
  EXPECT_THAT(message, HasSubstr(path));
  EXPECT_THAT(message, HasSubstr("Permission denied"));
  EXPECT_EQ(ReadBytes(path), old_bytes);
  EXPECT_THAT(ListDir(dir), ElementsAre("model.safetensors"));
}

TEST(SafetensorsTest, WriteReplacesTheOldFile) {
  const std::string dir = TestDir();
  const std::string path = dir + "/model.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, SmallFile(1)).ok());
  ASSERT_TRUE(WriteSafetensors(path, SmallFile(2)).ok());
  absl::StatusOr<TensorFile> file = ReadSafetensors(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->tensors.at("w")(0, 0), 2);
  EXPECT_THAT(ListDir(dir), ElementsAre("model.safetensors"));
}

// The file reader checks the header length against the file's size before it
// reads the header: a corrupt length cannot make it read (or allocate) more.
TEST(SafetensorsReaderTest, RefusesAnInsaneHeaderLengthWithoutReadingTheHeader) {
  const std::string path = TestDir() + "/insane.safetensors";
  const uint64_t length = 100'000'001;
  WriteBytes(path, Uint64LittleEndian(length));
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(8 + length)), 0);  // sparse: no disk used
  const absl::StatusOr<SafetensorsReader> reader = SafetensorsReader::Open(path);
  EXPECT_EQ(reader.status(),
            absl::InvalidArgumentError(absl::StrCat(
                path, ": the header length is 100000001, beyond the limit of 100000000 bytes")));
}

// A file cut anywhere (in the length, the header, the data area, or by one
// byte at its end) is refused by the file reader with the parser's message.
TEST(SafetensorsReaderTest, RefusesATruncatedFileAsTheParserDoes) {
  TensorFile file;
  file.tensors["a"] = Make(2, 3, {1, 2, 3, 4, 5, 6});
  file.tensors["b"] = Make(1, 2, {7, 8});
  file.metadata["k"] = "v";
  const std::string whole_path = TestDir() + "/whole.safetensors";
  ASSERT_TRUE(WriteSafetensors(whole_path, file).ok());
  const std::string whole = ReadBytes(whole_path);
  const size_t data_start = whole.size() - 32;  // 8 floats
  for (const size_t size : {size_t{0}, size_t{5}, size_t{8}, size_t{20}, data_start, data_start + 4,
                            data_start + 24, whole.size() - 1}) {
    SCOPED_TRACE(absl::StrCat("the first ", size, " of ", whole.size(), " bytes"));
    const std::string bytes = whole.substr(0, size);
    const std::string path = TestDir() + "/truncated.safetensors";
    WriteBytes(path, bytes);
    const absl::StatusOr<TensorFile> read = ReadSafetensors(path);
    EXPECT_FALSE(read.ok());
    EXPECT_EQ(read.status(), ParseSafetensors(bytes, path).status());
  }
  // The data area cut after a valid header: the ranges are checked against
  // the file's size before any data is read.
  const std::string path = TestDir() + "/cut_data.safetensors";
  WriteBytes(path, whole.substr(0, data_start + 24));
  EXPECT_EQ(SafetensorsReader::Open(path).status(),
            absl::InvalidArgumentError(absl::StrCat(
                path, ": data_offsets [24, 32] of tensor \"b\" go beyond the data area of ",
                "24 bytes")));
}

TEST(SafetensorsReaderTest, ReadsTheHeaderThenEachTensorIntoTheCallersBuffer) {
  TensorFile file;
  file.tensors["a"] = Make(2, 3, {1, 2, 3, 4, 5, 6});
  file.tensors["b"] = Make(1, 2, {7, 8});
  file.tensors["empty"] = Tensor(0, 3);
  file.metadata["k"] = "v";
  const std::string path = TestDir() + "/model.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, file).ok());
  const uint64_t size = ReadBytes(path).size();

  absl::StatusOr<SafetensorsReader> reader = SafetensorsReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(reader->path(), path);
  const SafetensorsHeader& header = reader->header();
  EXPECT_EQ(header.metadata, file.metadata);
  ASSERT_EQ(header.tensors.size(), 3u);
  const TensorInfo& a = header.tensors.at("a");
  const TensorInfo& b = header.tensors.at("b");
  EXPECT_EQ(a.rows, 2);
  EXPECT_EQ(a.cols, 3);
  EXPECT_EQ(a.bytes(), 24u);
  EXPECT_EQ(b.offset, a.offset + 24);  // sorted by name, one after another
  EXPECT_EQ(b.offset + b.bytes(), size);
  EXPECT_EQ(header.tensors.at("empty").bytes(), 0u);

  std::vector<float> values(6);
  ASSERT_TRUE(reader->ReadTensor("a", absl::MakeSpan(values)).ok());
  EXPECT_THAT(values, ElementsAre(1, 2, 3, 4, 5, 6));
  values.resize(2);
  ASSERT_TRUE(reader->ReadTensor("b", absl::MakeSpan(values)).ok());
  EXPECT_THAT(values, ElementsAre(7, 8));
  EXPECT_TRUE(reader->ReadTensor("empty", absl::Span<float>()).ok());

  // A moved reader keeps the file open.
  SafetensorsReader moved = *std::move(reader);
  ASSERT_TRUE(moved.ReadTensor("b", absl::MakeSpan(values)).ok());
  EXPECT_THAT(values, ElementsAre(7, 8));

  EXPECT_EQ(moved.ReadTensor("c", absl::MakeSpan(values)),
            absl::InvalidArgumentError(absl::StrCat(path, ": there is no tensor \"c\"")));
  EXPECT_EQ(moved.ReadTensor("a", absl::MakeSpan(values)),
            absl::InvalidArgumentError(
                absl::StrCat(path, ": tensor \"a\" has 2 x 3 values but the destination holds 2")));
}

// SaveModel replaces a file by rename while a server may be loading it: the
// reader goes on reading the file it opened, never a mix of the two.
TEST(SafetensorsReaderTest, ReadsTheFileItOpenedEvenWhenItsPathIsReplaced) {
  const std::string path = TestDir() + "/model.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, SmallFile(1)).ok());
  absl::StatusOr<SafetensorsReader> reader = SafetensorsReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  ASSERT_TRUE(WriteSafetensors(path, SmallFile(2)).ok());
  float value = 0;
  ASSERT_TRUE(reader->ReadTensor("w", absl::MakeSpan(&value, 1)).ok());
  EXPECT_EQ(value, 1);
}

TEST(SafetensorsReaderTest, AFileTruncatedAfterOpeningIsAnErrorNamingFileAndTensor) {
  TensorFile file;
  file.tensors["weight"] = Tensor::Constant(4, 4, 0.5f);
  const std::string path = TestDir() + "/model.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, file).ok());
  absl::StatusOr<SafetensorsReader> reader = SafetensorsReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  const TensorInfo info = reader->header().tensors.at("weight");
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(info.offset + 40)), 0);

  std::vector<float> values(16);
  const absl::Status status = reader->ReadTensor("weight", absl::MakeSpan(values));
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(status.message(),
            absl::StrCat(path, ": cannot read tensor \"weight\" (bytes ", info.offset, " to ",
                         info.offset + 64, "): the file now ends at byte ", info.offset + 40,
                         "; it was truncated after it was opened"));
}

TEST(SafetensorsReaderTest, RefusesWhatIsNotARegularFile) {
  const std::string dir = TestDir();
  EXPECT_EQ(SafetensorsReader::Open(dir).status(),
            absl::InvalidArgumentError(absl::StrCat(
                dir, ": not a regular file (the reader needs its size and reads at offsets)")));
}

}  // namespace
}  // namespace mnemo
