// ReadIdx on small IDX files written by the test, raw and gzip-compressed.
#include <sys/stat.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_files.h"
#include "tools/data/readers.h"

namespace mnemo {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string ImageFile(uint32_t count, uint32_t rows, uint32_t cols,
                      const std::vector<uint8_t>& pixels, uint32_t magic = 0x803) {
  std::string out;
  AppendBigEndian32(magic, &out);
  AppendBigEndian32(count, &out);
  AppendBigEndian32(rows, &out);
  AppendBigEndian32(cols, &out);
  out.append(pixels.begin(), pixels.end());
  return out;
}

std::string LabelFile(const std::vector<uint8_t>& labels, uint32_t magic = 0x801) {
  std::string out;
  AppendBigEndian32(magic, &out);
  AppendBigEndian32(static_cast<uint32_t>(labels.size()), &out);
  out.append(labels.begin(), labels.end());
  return out;
}

// Writes `contents` to `name` in the test's directory and returns the path.
std::string WriteRaw(const std::string& name, const std::string& contents) {
  const std::string path = TestDir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  EXPECT_TRUE(out.good()) << path;
  return path;
}

std::string Gzip(const std::string& contents) {
  z_stream stream = {};
  EXPECT_EQ(deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                         Z_DEFAULT_STRATEGY),
            Z_OK);
  std::string out(deflateBound(&stream, contents.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(contents.data()));
  stream.avail_in = static_cast<uInt>(contents.size());
  stream.next_out = reinterpret_cast<Bytef*>(&out[0]);
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

// Three 2 x 2 images and their labels.
const std::vector<uint8_t> kPixels = {0, 255, 51, 128, 1, 2, 3, 4, 10, 20, 30, 40};
const std::vector<uint8_t> kLabels = {7, 0, 9};

std::string ErrorOf(const std::string& images, const std::string& labels, int limit = 0) {
  absl::StatusOr<Dataset> data = ReadIdx(images, labels, limit);
  if (data.ok()) return "(read without error)";
  return std::string(data.status().message());
}

void ExpectTheSmallDataset(const Dataset& data) {
  EXPECT_EQ(data.size(), 3);
  EXPECT_EQ(data.num_classes, 10);
  EXPECT_THAT(data.labels, ElementsAre(7, 0, 9));
  ASSERT_EQ(data.features.rows(), 3);
  ASSERT_EQ(data.features.cols(), 4);
  EXPECT_EQ(data.features(0, 0), 0.0f);
  EXPECT_EQ(data.features(0, 1), 1.0f);  // exactly
  EXPECT_FLOAT_EQ(data.features(0, 2), 0.2f);
  EXPECT_FLOAT_EQ(data.features(0, 3), 128.0f / 255.0f);
  EXPECT_FLOAT_EQ(data.features(1, 3), 4.0f / 255.0f);  // row-major, one image a row
  EXPECT_FLOAT_EQ(data.features(2, 0), 10.0f / 255.0f);
}

TEST(ReadIdxTest, ReadsRawFilesScaledToTheUnitRange) {
  absl::StatusOr<Dataset> data = ReadIdx(WriteRaw("images", ImageFile(3, 2, 2, kPixels)),
                                         WriteRaw("labels", LabelFile(kLabels)));
  ASSERT_TRUE(data.ok()) << data.status();
  ExpectTheSmallDataset(*data);
}

TEST(ReadIdxTest, ReadsGzipFilesChosenByContentNotByName) {
  const std::string images = Gzip(ImageFile(3, 2, 2, kPixels));
  const std::string labels = Gzip(LabelFile(kLabels));
  for (const auto& [image_path, label_path] :
       {std::pair{WriteRaw("images.gz", images), WriteRaw("labels.gz", labels)},
        std::pair{WriteRaw("images-no-suffix", images),
                  WriteRaw("labels-raw.gz", LabelFile(kLabels))}}) {
    absl::StatusOr<Dataset> data = ReadIdx(image_path, label_path);
    ASSERT_TRUE(data.ok()) << data.status();
    ExpectTheSmallDataset(*data);
  }
}

TEST(ReadIdxTest, ReadsConcatenatedGzipMembers) {
  const std::string images = ImageFile(3, 2, 2, kPixels);
  const std::string path =
      WriteRaw("images.gz", Gzip(images.substr(0, 10)) + Gzip(images.substr(10)));
  absl::StatusOr<Dataset> data = ReadIdx(path, WriteRaw("labels", LabelFile(kLabels)));
  ASSERT_TRUE(data.ok()) << data.status();
  ExpectTheSmallDataset(*data);
}

TEST(ReadIdxTest, LimitKeepsTheFirstSamples) {
  const std::string images = WriteRaw("images", ImageFile(3, 2, 2, kPixels));
  const std::string labels = WriteRaw("labels", LabelFile(kLabels));
  absl::StatusOr<Dataset> data = ReadIdx(images, labels, 2);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->size(), 2);
  EXPECT_EQ(data->features.rows(), 2);
  EXPECT_THAT(data->labels, ElementsAre(7, 0));
  EXPECT_FLOAT_EQ(data->features(1, 3), 4.0f / 255.0f);

  absl::StatusOr<Dataset> all = ReadIdx(images, labels, 100);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 3);

  EXPECT_THAT(ErrorOf(images, labels, -1), HasSubstr("the sample limit is -1"));
}

TEST(ReadIdxTest, RefusesAWrongMagicNumber) {
  const std::string labels = WriteRaw("labels", LabelFile(kLabels));
  const std::string swapped = ErrorOf(labels, labels);
  EXPECT_EQ(swapped, labels + ": wrong magic number 0x00000801 for an IDX image file "
                              "(expected 0x00000803); this is an IDX label file");

  const std::string images = WriteRaw("images", ImageFile(3, 2, 2, kPixels));
  EXPECT_EQ(ErrorOf(images, images),
            images + ": wrong magic number 0x00000803 for an IDX label file "
                     "(expected 0x00000801); this is an IDX image file");

  const std::string foreign = WriteRaw("foreign", ImageFile(3, 2, 2, kPixels, 0x504b0304));
  EXPECT_EQ(ErrorOf(foreign, labels),
            foreign + ": wrong magic number 0x504b0304 for an IDX image file "
                      "(expected 0x00000803)");

  const std::string tiny = WriteRaw("tiny", "ab");
  EXPECT_EQ(ErrorOf(tiny, labels),
            tiny + ": the file is 2 bytes, too short for the magic number of an IDX image file");
}

TEST(ReadIdxTest, RefusesBadDimensions) {
  const std::string images = WriteRaw("images", ImageFile(3, 0, 2, {}));
  EXPECT_EQ(ErrorOf(images, WriteRaw("labels", LabelFile(kLabels))),
            images + ": bad dimensions: 3 images of 0 x 2 pixels");
}

TEST(ReadIdxTest, RefusesTruncatedImages) {
  const std::string labels = WriteRaw("labels", LabelFile(kLabels));
  std::vector<uint8_t> short_pixels(kPixels.begin(), kPixels.end() - 2);
  const std::string images = WriteRaw("images", ImageFile(3, 2, 2, short_pixels));
  EXPECT_EQ(ErrorOf(images, labels),
            images + ": truncated: expected 12 bytes of pixel data after the header, found 10 "
                     "(3 images of 2 x 2)");

  // The same through gzip: the sizes are those of the decompressed data.
  const std::string gz = WriteRaw("images.gz", Gzip(ImageFile(3, 2, 2, short_pixels)));
  EXPECT_EQ(ErrorOf(gz, labels),
            gz + ": truncated: expected 12 bytes of pixel data after the header, found 10 "
                 "(3 images of 2 x 2)");

  const std::string header = WriteRaw("header", ImageFile(3, 2, 2, {}).substr(0, 12));
  EXPECT_EQ(ErrorOf(header, labels),
            header + ": truncated header: expected 16 bytes, found 12");
}

TEST(ReadIdxTest, RefusesBytesAfterThePixels) {
  std::vector<uint8_t> long_pixels = kPixels;
  long_pixels.push_back(0);
  long_pixels.push_back(0);
  const std::string images = WriteRaw("images", ImageFile(3, 2, 2, long_pixels));
  EXPECT_EQ(ErrorOf(images, WriteRaw("labels", LabelFile(kLabels))),
            images + ": 2 unexpected bytes after the 12 bytes of pixel data (3 images of 2 x 2)");
}

TEST(ReadIdxTest, RefusesTruncatedLabels) {
  const std::string images = WriteRaw("images", ImageFile(3, 2, 2, kPixels));
  std::string file = LabelFile(kLabels);
  const std::string labels = WriteRaw("labels", file.substr(0, file.size() - 1));
  EXPECT_EQ(ErrorOf(images, labels),
            labels + ": truncated: expected 3 bytes of labels after the header, found 2");
  const std::string header = WriteRaw("header", file.substr(0, 6));
  EXPECT_EQ(ErrorOf(images, header), header + ": truncated header: expected 8 bytes, found 6");
}

TEST(ReadIdxTest, RefusesDifferentCountsNamingBothFiles) {
  const std::string images = WriteRaw("images", ImageFile(3, 2, 2, kPixels));
  const std::string labels = WriteRaw("labels", LabelFile({1, 2}));
  EXPECT_EQ(ErrorOf(images, labels), "image and label counts differ: " + images +
                                         " has 3 images but " + labels + " has 2 labels");
}

TEST(ReadIdxTest, RefusesALabelOutOfRange) {
  const std::string images = WriteRaw("images", ImageFile(3, 2, 2, kPixels));
  const std::string labels = WriteRaw("labels", LabelFile({1, 12, 255}));
  EXPECT_EQ(ErrorOf(images, labels),
            labels + ": label 12 of sample 1 is out of range 0 to 9");
}

TEST(ReadIdxTest, RefusesCorruptGzip) {
  const std::string labels = WriteRaw("labels", LabelFile(kLabels));
  // Enough data that the deflate stream has a body to corrupt.
  std::vector<uint8_t> pixels(3 * 28 * 28);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 31 % 251);
  const std::string good = Gzip(ImageFile(3, 28, 28, pixels));
  ASSERT_GT(good.size(), 100u);

  std::string flipped = good;
  for (size_t i = 20; i < 40; ++i) flipped[i] = static_cast<char>(~flipped[i]);
  const std::string corrupt = WriteRaw("corrupt.gz", flipped);
  EXPECT_THAT(ErrorOf(corrupt, labels), StartsWith(corrupt + ": corrupt gzip stream near byte "));

  std::string bad_crc = good;
  bad_crc[bad_crc.size() - 6] ^= 1;
  const std::string crc = WriteRaw("crc.gz", bad_crc);
  EXPECT_THAT(ErrorOf(crc, labels), StartsWith(crc + ": corrupt gzip stream near byte "));
  EXPECT_THAT(ErrorOf(crc, labels), HasSubstr("incorrect data check"));

  const std::string cut = WriteRaw("cut.gz", good.substr(0, good.size() - 20));
  EXPECT_EQ(ErrorOf(cut, labels),
            absl::StrCat(cut, ": the gzip stream is truncated: it ends at byte ",
                         good.size() - 20, " before its end marker"));

  const std::string tiny = WriteRaw("tiny.gz", good.substr(0, 5));
  EXPECT_EQ(ErrorOf(tiny, labels),
            tiny + ": the gzip stream is truncated: the file is only 5 bytes");

  const std::string trailing = WriteRaw("trailing.gz", good + "junk");
  EXPECT_EQ(ErrorOf(trailing, labels),
            absl::StrCat(trailing, ": 4 bytes that are not gzip after the gzip stream, from byte ",
                         good.size()));
}

TEST(ReadIdxTest, RefusesAMissingFileNamingIt) {
  const std::string missing = TestDir() + "/missing";
  absl::StatusOr<Dataset> data = ReadIdx(missing, missing);
  EXPECT_EQ(data.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(data.status().message()), StartsWith(missing + ": cannot open"));
}

TEST(ReadIdxTest, ReadsImagesAndLabelsOnTheirOwn) {
  const std::string images = WriteRaw("images.gz", Gzip(ImageFile(3, 2, 2, kPixels)));
  absl::StatusOr<Tensor> features = ReadIdxImages(images);
  ASSERT_TRUE(features.ok()) << features.status();
  Dataset data;
  data.features = *features;
  absl::StatusOr<std::vector<int32_t>> labels =
      ReadIdxLabels(WriteRaw("labels", LabelFile(kLabels)));
  ASSERT_TRUE(labels.ok()) << labels.status();
  data.labels = *labels;
  data.num_classes = 10;
  ExpectTheSmallDataset(data);

  absl::StatusOr<Tensor> first = ReadIdxImages(images, 1);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->rows(), 1);
  EXPECT_THAT(std::string(ReadIdxImages(images, -1).status().message()),
              HasSubstr("the sample limit is -1"));
}

TEST(ReadIdxTest, ReadsImagesAndLabelsOnTheirOwnWithReadIdxsErrors) {
  const std::string labels = WriteRaw("labels", LabelFile(kLabels));
  const std::string images = WriteRaw("images", ImageFile(3, 2, 2, kPixels));
  EXPECT_THAT(std::string(ReadIdxImages(labels).status().message()),
              HasSubstr("this is an IDX label file"));
  EXPECT_THAT(std::string(ReadIdxLabels(images).status().message()),
              HasSubstr("this is an IDX image file"));
  const std::string out_of_range = WriteRaw("bad_labels", LabelFile({3, 10}));
  EXPECT_THAT(std::string(ReadIdxLabels(out_of_range).status().message()),
              HasSubstr("label 10 of sample 1 is out of range 0 to 9"));
}

}  // namespace
}  // namespace mnemo
