// The PyTorch state_dict writer read back by an independent reader: the zip's
// end record and central directory, each local header, the 64-byte alignment
// of the data, CRC-32 (computed here bit by bit), and the pickle byte for byte.

#include "tools/export/torch_zip.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_files.h"
#include "tools/export/torch_pickle.h"
#include "tools/export/zip_writer.h"

namespace mnemo {
namespace {

using ::testing::HasSubstr;

uint32_t Le16(absl::string_view b, size_t at) {
  return static_cast<uint8_t>(b[at]) | static_cast<uint8_t>(b[at + 1]) << 8;
}
uint32_t Le32(absl::string_view b, size_t at) { return Le16(b, at) | Le16(b, at + 2) << 16; }

uint32_t BitwiseCrc32(absl::string_view data) {
  uint32_t crc = 0xffffffffu;
  for (char c : data) {
    crc ^= static_cast<uint8_t>(c);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
  }
  return ~crc;
}

struct ReadEntry {
  std::string name;
  uint64_t data_offset = 0;
  std::string data;
};

// Reads a stored zip the way a reader does: end record, central directory,
// then each local header; checks what the two headers both say.
std::vector<ReadEntry> ReadZip(absl::string_view zip) {
  std::vector<ReadEntry> entries;
  EXPECT_GE(zip.size(), 22u);
  if (zip.size() < 22) return entries;
  const size_t end = zip.size() - 22;  // no comment
  EXPECT_EQ(Le32(zip, end), 0x06054b50u);
  const uint32_t count = Le16(zip, end + 10);
  EXPECT_EQ(Le16(zip, end + 8), count);
  const uint32_t dir_size = Le32(zip, end + 12);
  size_t at = Le32(zip, end + 16);
  EXPECT_EQ(at + dir_size, end);
  for (uint32_t i = 0; i < count; ++i) {
    EXPECT_EQ(Le32(zip, at), 0x02014b50u);
    EXPECT_EQ(Le16(zip, at + 10), 0u) << "stored";
    const uint32_t crc = Le32(zip, at + 16);
    const uint32_t size = Le32(zip, at + 20);
    EXPECT_EQ(Le32(zip, at + 24), size);
    const uint32_t name_len = Le16(zip, at + 28);
    const uint32_t extra_len = Le16(zip, at + 30);
    const uint32_t comment_len = Le16(zip, at + 32);
    const uint32_t local = Le32(zip, at + 42);
    ReadEntry entry;
    entry.name = std::string(zip.substr(at + 46, name_len));
    at += 46 + name_len + extra_len + comment_len;

    EXPECT_EQ(Le32(zip, local), 0x04034b50u) << entry.name;
    EXPECT_EQ(Le16(zip, local + 6) & 0x08, 0u) << "no data descriptor";
    EXPECT_EQ(Le16(zip, local + 8), 0u) << "stored";
    EXPECT_EQ(Le32(zip, local + 14), crc);
    EXPECT_EQ(Le32(zip, local + 18), size);
    EXPECT_EQ(Le32(zip, local + 22), size);
    EXPECT_EQ(zip.substr(local + 30, Le16(zip, local + 26)), entry.name);
    const uint32_t local_extra = Le16(zip, local + 28);
    const size_t extra = local + 30 + Le16(zip, local + 26);
    // PyTorch's padding field: "FB", its length, 'Z's.
    EXPECT_EQ(zip.substr(extra, 2), "FB") << entry.name;
    EXPECT_EQ(Le16(zip, extra + 2) + 4u, local_extra) << entry.name;
    EXPECT_EQ(zip.substr(extra + 4, local_extra - 4), std::string(local_extra - 4, 'Z'));
    entry.data_offset = extra + local_extra;
    entry.data = std::string(zip.substr(entry.data_offset, size));
    EXPECT_EQ(entry.data.size(), size) << entry.name;
    EXPECT_EQ(BitwiseCrc32(entry.data), crc) << entry.name;
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::string FloatBytes(const std::vector<float>& values) {
  std::string out(values.size() * 4, '\0');
  for (size_t i = 0; i < values.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &values[i], 4);
    for (int k = 0; k < 4; ++k) out[4 * i + k] = static_cast<char>(bits >> (8 * k));
  }
  return out;
}

// What torch.save writes for the tensor (its rebuild call), without memo.
std::string ExpectedTensorPickle(absl::string_view name, absl::string_view key,
                                 absl::string_view numel, absl::string_view shape,
                                 absl::string_view stride) {
  std::string s;
  s += "X";
  s += std::string(1, static_cast<char>(name.size())) + std::string(3, '\0');
  s += std::string(name);
  s += "ctorch._utils\n_rebuild_tensor_v2\n";
  s += "((";
  s += std::string("X\x07\0\0\0", 5) + "storage";
  s += "ctorch\nFloatStorage\n";
  s += std::string("X\x01\0\0\0", 5) + std::string(key);
  s += std::string("X\x03\0\0\0", 5) + "cpu";
  s += std::string(numel);
  s += "tQ";
  s += std::string("K\0", 2);  // storage offset 0
  s += std::string(shape);
  s += std::string(stride);
  s += "\x89";  // requires_grad False
  s += "ccollections\nOrderedDict\n)R";
  s += "tR";
  return s;
}

TEST(TorchZipTest, TwoTensorsReadBackByAnIndependentReader) {
  const std::vector<TorchTensor> tensors = {
      {"0.weight", {2, 3}, {1, 2, 3, 4, 5, 6.5f}},
      {"0.bias", {2}, {-1, 0.25f}},
  };
  absl::StatusOr<std::string> archive = TorchStateDictArchive(tensors);
  ASSERT_TRUE(archive.ok()) << archive.status();
  const std::vector<ReadEntry> entries = ReadZip(*archive);
  ASSERT_EQ(entries.size(), 5u);
  EXPECT_EQ(entries[0].name, "archive/data.pkl");
  EXPECT_EQ(entries[1].name, "archive/data/0");
  EXPECT_EQ(entries[2].name, "archive/data/1");
  EXPECT_EQ(entries[3].name, "archive/version");
  EXPECT_EQ(entries[4].name, "archive/byteorder");
  for (const ReadEntry& entry : entries) {
    EXPECT_EQ(entry.data_offset % 64, 0u) << entry.name;
  }
  EXPECT_EQ(entries[1].data, FloatBytes({1, 2, 3, 4, 5, 6.5f}));
  EXPECT_EQ(entries[2].data, FloatBytes({-1, 0.25f}));
  EXPECT_EQ(entries[3].data, "3\n");
  EXPECT_EQ(entries[4].data, "little");

  const std::string expected_pickle =
      std::string("\x80\x02") + "ccollections\nOrderedDict\n)R" + "(" +
      ExpectedTensorPickle("0.weight", "0", std::string("K\x06", 2),
                           std::string("K\x02K\x03\x86", 5), std::string("K\x03K\x01\x86", 5)) +
      ExpectedTensorPickle("0.bias", "1", std::string("K\x02", 2), std::string("K\x02\x85", 3),
                           std::string("K\x01\x85", 3)) +
      "u.";
  EXPECT_EQ(entries[0].data, expected_pickle);
}

TEST(TorchZipTest, WritesTheArchiveToAFile) {
  const std::string path = TestDir() + "/model.pt";
  const std::vector<TorchTensor> tensors = {{"w", {1, 1}, {3}}};
  ASSERT_TRUE(WriteTorchStateDict(path, tensors).ok());
  EXPECT_EQ(ReadBytes(path), *TorchStateDictArchive(tensors));
}

TEST(TorchZipTest, LargeIntegersAndRanksAsPickleWritesThem) {
  // 2^33 values: LONG1 of 5 bytes; rank 4: MARK ... TUPLE.
  const std::string big = StateDictPickle({{"t", "0", {int64_t{1} << 33}}});
  EXPECT_NE(big.find(std::string("\x8a\x05\0\0\0\0\x02\x85", 8)), std::string::npos);
  const std::string rank4 = StateDictPickle({{"t", "0", {2, 300, 70000, 1}}});
  // shape (2, 300, 70000, 1): BININT1, BININT2, BININT, BININT1.
  EXPECT_NE(rank4.find(std::string("(K\x02M\x2c\x01J\x70\x11\x01\0K\x01t", 14)), std::string::npos);
}

TEST(TorchZipTest, AlignsEveryEntryWhateverTheNameLength) {
  StoredZipWriter zip;
  for (int n = 1; n <= 70; ++n) {
    ASSERT_TRUE(zip.Add(std::string(n, 'a'), std::string(n * 3, 'x')).ok());
  }
  absl::StatusOr<std::string> bytes = zip.Finish();
  ASSERT_TRUE(bytes.ok());
  const std::vector<ReadEntry> entries = ReadZip(*bytes);
  ASSERT_EQ(entries.size(), 70u);
  for (const ReadEntry& entry : entries) {
    EXPECT_EQ(entry.data_offset % 64, 0u) << entry.name;
    EXPECT_EQ(entry.data, std::string(entry.name.size() * 3, 'x'));
  }
}

TEST(TorchZipTest, RefusesWhatIsNoStateDict) {
  absl::StatusOr<std::string> twice =
      TorchStateDictArchive(std::vector<TorchTensor>{{"a", {1}, {1}}, {"a", {1}, {2}}});
  EXPECT_THAT(twice.status().message(), HasSubstr("tensor \"a\" given twice"));
  absl::StatusOr<std::string> short_values =
      TorchStateDictArchive(std::vector<TorchTensor>{{"a", {2, 2}, {1, 2, 3}}});
  EXPECT_THAT(short_values.status().message(),
              HasSubstr("tensor \"a\": its shape holds 4 values, not 3"));
  EXPECT_FALSE(TorchStateDictArchive(std::vector<TorchTensor>{{"", {1}, {1}}}).ok());
  EXPECT_THAT(
      WriteTorchStateDict(TestDir() + "/x.pt", std::vector<TorchTensor>{{"", {1}, {1}}}).message(),
      HasSubstr("x.pt: a tensor without a name"));
}

}  // namespace
}  // namespace mnemo
