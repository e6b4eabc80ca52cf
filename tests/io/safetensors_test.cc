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
#include <map>
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

void ExpectSameNarrowTensor(const NarrowTensor& a, const NarrowTensor& b, const std::string& name) {
  EXPECT_EQ(a.dtype, b.dtype) << name;
  EXPECT_EQ(a.rows, b.rows) << name;
  EXPECT_EQ(a.cols, b.cols) << name;
  EXPECT_EQ(a.bytes, b.bytes) << name;
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
    ASSERT_EQ(read->narrow_tensors.size(), parsed->narrow_tensors.size());
    for (const auto& [name, tensor] : parsed->narrow_tensors) {
      ASSERT_EQ(read->narrow_tensors.count(name), 1u) << name;
      ExpectSameNarrowTensor(read->narrow_tensors.at(name), tensor, name);
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
  EXPECT_EQ(ParseError(MakeFile("{\"w\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}",
                                "abcd")),
            "model.safetensors: tensor \"w\" has dtype \"F16\"; only F32, BF16 and I8 are "
            "supported");
  EXPECT_EQ(ParseError(MakeFile("{\"w\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                                "abcd")),
            "model.safetensors: tensor \"w\" has dtype \"I32\"; only F32, BF16 and I8 are "
            "supported");
  // Names are case-sensitive in the specification.
  EXPECT_EQ(
      ParseError(MakeFile("{\"w\":{\"dtype\":\"i8\",\"shape\":[1],\"data_offsets\":[0,1]}}", "a")),
      "model.safetensors: tensor \"w\" has dtype \"i8\"; only F32, BF16 and I8 are "
      "supported");
}

TEST(SafetensorsTest, NamesAndSizesOfTheDtypes) {
  EXPECT_EQ(DtypeName(Dtype::kF32), "F32");
  EXPECT_EQ(DtypeName(Dtype::kBF16), "BF16");
  EXPECT_EQ(DtypeName(Dtype::kI8), "I8");
  EXPECT_EQ(DtypeBytes(Dtype::kF32), 4u);
  EXPECT_EQ(DtypeBytes(Dtype::kBF16), 2u);
  EXPECT_EQ(DtypeBytes(Dtype::kI8), 1u);
}

// The byte range a shape needs is counted in the tensor's own dtype: a range
// right for F32 is wrong for BF16 and I8, and the other way round.
TEST(SafetensorsTest, ByteRangesAreCheckedInEachTensorsDtype) {
  EXPECT_EQ(
      ParseError(MakeFile("{\"w\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,12]}}",
                          std::string(12, 'x'))),
      "model.safetensors: tensor \"w\" has shape [3] (6 bytes of BF16) but data_offsets "
      "[0, 12] hold 12 bytes");
  EXPECT_EQ(
      ParseError(MakeFile("{\"w\":{\"dtype\":\"I8\",\"shape\":[2,2],\"data_offsets\":[0,16]}}",
                          std::string(16, 'x'))),
      "model.safetensors: tensor \"w\" has shape [2, 2] (4 bytes of I8) but data_offsets "
      "[0, 16] hold 16 bytes");
  EXPECT_EQ(ParseError(MakeFile("{\"w\":{\"dtype\":\"I8\",\"shape\":[2,2],\"data_offsets\":[0,2]}}",
                                "xx")),
            "model.safetensors: tensor \"w\" has shape [2, 2] (4 bytes of I8) but data_offsets "
            "[0, 2] hold 2 bytes");
  EXPECT_EQ(ParseError(MakeFile("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,6]}}",
                                std::string(6, 'x'))),
            "model.safetensors: tensor \"w\" has shape [3] (12 bytes of F32) but data_offsets "
            "[0, 6] hold 6 bytes");
  // The overflow guard holds for the narrow dtypes too.
  EXPECT_EQ(ParseError(MakeFile("{\"w\":{\"dtype\":\"BF16\",\"shape\":[2147483647,"
                                "2147483647],\"data_offsets\":[0,2]}}",
                                "xx")),
            "model.safetensors: tensor \"w\" has shape [2147483647, 2147483647] "
            "(9223372028264841218 bytes of BF16) but data_offsets [0, 2] hold 2 bytes");
}

// Ranks 0, 1 and 2 of the narrow dtypes, in a file laid out by hand with the
// data in another order than the header's: read as the F32 ones are.
TEST(SafetensorsTest, ReadsHandWrittenNarrowTensorsOfEveryRank) {
  const std::string header =
      "{\"q\":{\"dtype\":\"I8\",\"shape\":[2,3],\"data_offsets\":[4,10]},"
      "\"h\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]},"
      "\"s\":{\"dtype\":\"I8\",\"shape\":[],\"data_offsets\":[10,11]},"
      "\"f\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[11,15]}}";
  const std::string data = std::string("\x80\x3f\x00\xc0", 4) +          // 1.0, -2.0
                           std::string("\x01\xff\x80\x7f\x00\x02", 6) +  // 1 -1 -128 127 0 2
                           "\x05" + FloatsLittleEndian({0.5f});
  const std::string bytes = MakeFile(header, data);
  ExpectTheFileReaderAgrees(bytes);
  absl::StatusOr<TensorFile> file = ParseSafetensors(bytes, "hand");
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_EQ(file->tensors.size(), 1u);
  EXPECT_EQ(file->tensors.at("f")(0, 0), 0.5f);
  ASSERT_EQ(file->narrow_tensors.size(), 3u);
  const NarrowTensor& h = file->narrow_tensors.at("h");
  EXPECT_EQ(h.dtype, Dtype::kBF16);
  EXPECT_EQ(h.rows, 1);
  EXPECT_EQ(h.cols, 2);
  EXPECT_THAT(h.bytes, ElementsAre(0x80, 0x3f, 0x00, 0xc0));
  const NarrowTensor& q = file->narrow_tensors.at("q");
  EXPECT_EQ(q.dtype, Dtype::kI8);
  EXPECT_EQ(q.rows, 2);
  EXPECT_EQ(q.cols, 3);
  EXPECT_THAT(q.bytes, ElementsAre(0x01, 0xff, 0x80, 0x7f, 0x00, 0x02));
  const NarrowTensor& scalar = file->narrow_tensors.at("s");
  EXPECT_EQ(scalar.rows, 1);
  EXPECT_EQ(scalar.cols, 1);
  EXPECT_THAT(scalar.bytes, ElementsAre(5));
}

NarrowTensor Narrow(Dtype dtype, Eigen::Index rows, Eigen::Index cols, std::vector<uint8_t> bytes) {
  return NarrowTensor{dtype, rows, cols, std::move(bytes)};
}

TEST(SafetensorsTest, RoundTripOfMixedDtypesIsByteIdentical) {
  TensorFile file;
  file.tensors["scale"] = Make(1, 3, {0.5f, -0.25f, std::numeric_limits<float>::denorm_min()});
  file.tensors["a.f32"] = Make(2, 1, {1, -0.0f});
  // BF16: 1.0, -inf, a quiet NaN with payload, the smallest denormal, -0, 3.0.
  file.narrow_tensors["w.bf16"] = Narrow(
      Dtype::kBF16, 2, 3, {0x80, 0x3f, 0x80, 0xff, 0xc1, 0x7f, 0x01, 0x00, 0x00, 0x80, 0x40, 0x40});
  file.narrow_tensors["row.bf16"] = Narrow(Dtype::kBF16, 1, 1, {0x12, 0x34});
  file.narrow_tensors["w.i8"] = Narrow(Dtype::kI8, 3, 2, {0x80, 0x7f, 0x00, 0xff, 0x01, 0x2a});
  file.narrow_tensors["b.i8"] = Narrow(Dtype::kI8, 1, 1, {0x05});
  file.narrow_tensors["empty.i8"] = Narrow(Dtype::kI8, 0, 5, {});
  file.narrow_tensors["empty.bf16"] = Narrow(Dtype::kBF16, 4, 0, {});
  file.metadata["quantization"] = "int8 per row";

  const std::string path = TestDir() + "/quantized.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, file).ok());
  absl::StatusOr<TensorFile> read = ReadSafetensors(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->metadata, file.metadata);
  ASSERT_EQ(read->tensors.size(), file.tensors.size());
  for (const auto& [name, tensor] : file.tensors) {
    ASSERT_EQ(read->tensors.count(name), 1u) << name;
    EXPECT_TRUE(SameBits(read->tensors.at(name), tensor)) << name;
  }
  ASSERT_EQ(read->narrow_tensors.size(), file.narrow_tensors.size());
  for (const auto& [name, tensor] : file.narrow_tensors) {
    ASSERT_EQ(read->narrow_tensors.count(name), 1u) << name;
    ExpectSameNarrowTensor(read->narrow_tensors.at(name), tensor, name);
  }
  ExpectTheFileReaderAgrees(ReadBytes(path));

  // Writing what was read gives the same bytes.
  const std::string again = TestDir() + "/again.safetensors";
  ASSERT_TRUE(WriteSafetensors(again, *read).ok());
  EXPECT_EQ(ReadBytes(again), ReadBytes(path));

  // F32 data first, then BF16, then I8: every tensor aligned to its element.
  absl::StatusOr<SafetensorsReader> reader = SafetensorsReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  const std::map<std::string, TensorInfo>& infos = reader->header().tensors;
  EXPECT_EQ(infos.at("w.bf16").dtype, Dtype::kBF16);
  EXPECT_EQ(infos.at("w.i8").dtype, Dtype::kI8);
  EXPECT_EQ(infos.at("scale").dtype, Dtype::kF32);
  EXPECT_EQ(infos.at("w.bf16").bytes(), 12u);
  EXPECT_EQ(infos.at("w.i8").bytes(), 6u);
  EXPECT_EQ(infos.at("scale").offset, infos.at("a.f32").offset + 8);
  EXPECT_EQ(infos.at("empty.bf16").offset, infos.at("scale").offset + 12);
  EXPECT_EQ(infos.at("row.bf16").offset, infos.at("empty.bf16").offset);
  EXPECT_EQ(infos.at("w.bf16").offset, infos.at("row.bf16").offset + 2);
  EXPECT_EQ(infos.at("b.i8").offset, infos.at("w.bf16").offset + 12);
  for (const auto& [name, info] : infos) {
    EXPECT_EQ(info.offset % DtypeBytes(info.dtype), 0u) << name;
  }
}

// What Python's safetensors writes for such a file, by its specification: the
// dtypes spelled "BF16" and "I8", little-endian data.
TEST(SafetensorsTest, WritesNarrowDtypesInTheSpecifiedLayout) {
  TensorFile file;
  file.narrow_tensors["a"] = Narrow(Dtype::kI8, 1, 3, {0x01, 0xff, 0x80});
  file.narrow_tensors["b"] = Narrow(Dtype::kBF16, 2, 1, {0x80, 0x3f, 0x00, 0xc0});
  file.tensors["c"] = Make(1, 1, {1.0f});
  const std::string path = TestDir() + "/narrow.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, file).ok());
  const std::string header =
      "{\"c\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[0,4]},"
      "\"b\":{\"dtype\":\"BF16\",\"shape\":[2,1],\"data_offsets\":[4,8]},"
      "\"a\":{\"dtype\":\"I8\",\"shape\":[1,3],\"data_offsets\":[8,11]}} ";
  ASSERT_EQ(header.size() % 8, 0u);
  EXPECT_EQ(ReadBytes(path), MakeFile(header, std::string("\x00\x00\x80\x3f"  // 1.0f
                                                          "\x80\x3f\x00\xc0"  // bf16 1, -2
                                                          "\x01\xff\x80",     // i8 1, -1, -128
                                                          11)));
}

TEST(SafetensorsTest, RefusesToWriteNarrowTensorsItCouldNotReadBack) {
  const std::string path = TestDir() + "/model.safetensors";
  const auto error = [&](const TensorFile& file) {
    return std::string(WriteSafetensors(path, file).message());
  };
  TensorFile both;
  both.tensors["w"] = Make(1, 1, {1});
  both.narrow_tensors["w"] = Narrow(Dtype::kI8, 1, 1, {1});
  EXPECT_EQ(error(both), absl::StrCat("cannot write ", path,
                                      ": tensor \"w\" is both an F32 and a narrow tensor"));

  TensorFile f32;
  f32.narrow_tensors["w"] = Narrow(Dtype::kF32, 1, 1, {0, 0, 0x80, 0x3f});
  EXPECT_EQ(error(f32), absl::StrCat("cannot write ", path,
                                     ": narrow tensor \"w\" is F32, not BF16 or I8 (an F32 "
                                     "tensor belongs in `tensors`)"));

  TensorFile short_data;
  short_data.narrow_tensors["w"] = Narrow(Dtype::kBF16, 2, 3, std::vector<uint8_t>(6));
  EXPECT_EQ(error(short_data), absl::StrCat("cannot write ", path,
                                            ": narrow tensor \"w\" is 2 x 3 of BF16 (12 bytes) "
                                            "but holds 6 bytes"));

  TensorFile negative;
  negative.narrow_tensors["w"] = Narrow(Dtype::kI8, -1, 3, {});
  EXPECT_EQ(error(negative), absl::StrCat("cannot write ", path,
                                          ": narrow tensor \"w\" has shape -1 x 3, not two "
                                          "dimensions from 0 to 2147483647"));

  TensorFile named_metadata;
  named_metadata.narrow_tensors["__metadata__"] = Narrow(Dtype::kI8, 1, 1, {1});
  EXPECT_THAT(error(named_metadata), HasSubstr("a tensor may not be named \"__metadata__\""));
  EXPECT_THAT(ListDir(TestDir()), IsEmpty());
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

TEST(SafetensorsReaderTest, ReadsEachDtypesBytesAndFloatsOnlyFromF32) {
  TensorFile file;
  file.tensors["f"] = Make(1, 2, {1.0f, -2.0f});
  file.narrow_tensors["q"] = Narrow(Dtype::kI8, 2, 2, {0x80, 0x7f, 0x00, 0xff});
  file.narrow_tensors["h"] = Narrow(Dtype::kBF16, 1, 3, {1, 2, 3, 4, 5, 6});
  const std::string path = TestDir() + "/model.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, file).ok());
  absl::StatusOr<SafetensorsReader> reader = SafetensorsReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();

  std::vector<uint8_t> bytes(4);
  ASSERT_TRUE(reader->ReadTensorBytes("q", absl::MakeSpan(bytes)).ok());
  EXPECT_THAT(bytes, ElementsAre(0x80, 0x7f, 0x00, 0xff));
  bytes.resize(6);
  ASSERT_TRUE(reader->ReadTensorBytes("h", absl::MakeSpan(bytes)).ok());
  EXPECT_THAT(bytes, ElementsAre(1, 2, 3, 4, 5, 6));
  // An F32 tensor's bytes are its floats, little-endian.
  bytes.resize(8);
  ASSERT_TRUE(reader->ReadTensorBytes("f", absl::MakeSpan(bytes)).ok());
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), FloatsLittleEndian({1.0f, -2.0f}));

  std::vector<float> floats(4);
  EXPECT_EQ(reader->ReadTensor("q", absl::MakeSpan(floats)),
            absl::InvalidArgumentError(absl::StrCat(path, ": tensor \"q\" is I8, not F32")));
  floats.resize(3);
  EXPECT_EQ(reader->ReadTensor("h", absl::MakeSpan(floats)),
            absl::InvalidArgumentError(absl::StrCat(path, ": tensor \"h\" is BF16, not F32")));

  bytes.resize(5);  // 2 x 2 of I8 is 4 bytes; "elements, not bytes" is the likely mistake
  EXPECT_EQ(reader->ReadTensorBytes("q", absl::MakeSpan(bytes)),
            absl::InvalidArgumentError(
                absl::StrCat(path,
                             ": tensor \"q\" has 2 x 2 values of I8 (4 bytes) but the "
                             "destination holds 5 bytes")));
  bytes.resize(3);
  EXPECT_EQ(reader->ReadTensorBytes("h", absl::MakeSpan(bytes)),
            absl::InvalidArgumentError(
                absl::StrCat(path,
                             ": tensor \"h\" has 1 x 3 values of BF16 (6 bytes) but the "
                             "destination holds 3 bytes")));
  EXPECT_EQ(reader->ReadTensorBytes("x", absl::MakeSpan(bytes)),
            absl::InvalidArgumentError(absl::StrCat(path, ": there is no tensor \"x\"")));
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
