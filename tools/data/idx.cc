// Reads the IDX files of the MNIST family (see /work/shared/notes/formats.md):
// big-endian 32-bit magic and sizes, then unsigned bytes.
#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "core/status_macros.h"
#include "core/tensor.h"
#include "tools/data/compressed_file.h"
#include "tools/data/readers.h"

namespace mnemo {
namespace {

constexpr uint32_t kImageMagic = 0x00000803;  // unsigned bytes, 3 dimensions
constexpr uint32_t kLabelMagic = 0x00000801;  // unsigned bytes, 1 dimension
constexpr size_t kImageHeaderBytes = 16;
constexpr size_t kLabelHeaderBytes = 8;
// The MNIST family has ten classes; a larger label is a corrupt or foreign file.
constexpr int kNumClasses = 10;
// Samples and features are indexed with int (Dataset::size) and Eigen::Index.
constexpr uint64_t kMaxCount = INT32_MAX;

uint32_t ReadBigEndian32(absl::string_view bytes, size_t offset) {
  uint32_t n = 0;
  for (size_t i = 0; i < 4; ++i) n = (n << 8) | static_cast<uint8_t>(bytes[offset + i]);
  return n;
}

absl::Status Error(const std::string& path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

// Explains a magic number that is not the one expected, naming the other IDX
// file of the pair when the two were swapped.
absl::Status CheckMagic(const std::string& path, absl::string_view bytes, uint32_t expected,
                        absl::string_view kind) {
  if (bytes.size() < 4) {
    return Error(path,
                 absl::StrCat("the file is ", bytes.size(),
                              " bytes, too short for the magic number of an IDX ", kind, " file"));
  }
  const uint32_t magic = ReadBigEndian32(bytes, 0);
  if (magic == expected) return absl::OkStatus();
  std::string hint;
  if (magic == kImageMagic) hint = "; this is an IDX image file";
  if (magic == kLabelMagic) hint = "; this is an IDX label file";
  return Error(path, absl::StrFormat("wrong magic number 0x%08x for an IDX %s file "
                                     "(expected 0x%08x)%s",
                                     magic, kind, expected, hint));
}

struct Images {
  uint64_t count = 0;
  uint64_t rows = 0;
  uint64_t cols = 0;
  uint64_t pixels_per_image = 0;
  absl::string_view pixels;
};

absl::StatusOr<Images> ParseImages(const std::string& path, absl::string_view bytes) {
  MNEMO_RETURN_IF_ERROR(CheckMagic(path, bytes, kImageMagic, "image"));
  if (bytes.size() < kImageHeaderBytes) {
    return Error(path, absl::StrCat("truncated header: expected ", kImageHeaderBytes,
                                    " bytes, found ", bytes.size()));
  }
  const uint64_t count = ReadBigEndian32(bytes, 4);
  const uint64_t rows = ReadBigEndian32(bytes, 8);
  const uint64_t cols = ReadBigEndian32(bytes, 12);
  if (rows == 0 || cols == 0 || rows * cols > kMaxCount || count > kMaxCount) {
    return Error(
        path, absl::StrCat("bad dimensions: ", count, " images of ", rows, " x ", cols, " pixels"));
  }
  Images images;
  images.count = count;
  images.rows = rows;
  images.cols = cols;
  images.pixels_per_image = rows * cols;
  const uint64_t expected = count * images.pixels_per_image;  // < 2^62
  const uint64_t found = bytes.size() - kImageHeaderBytes;
  const std::string what = absl::StrCat(" (", count, " images of ", rows, " x ", cols, ")");
  if (found < expected) {
    return Error(path, absl::StrCat("truncated: expected ", expected,
                                    " bytes of pixel data after the header, found ", found, what));
  }
  if (found > expected) {
    return Error(path, absl::StrCat(found - expected, " unexpected bytes after the ", expected,
                                    " bytes of pixel data", what));
  }
  images.pixels = bytes.substr(kImageHeaderBytes);
  return images;
}

absl::StatusOr<absl::string_view> ParseLabels(const std::string& path, absl::string_view bytes) {
  MNEMO_RETURN_IF_ERROR(CheckMagic(path, bytes, kLabelMagic, "label"));
  if (bytes.size() < kLabelHeaderBytes) {
    return Error(path, absl::StrCat("truncated header: expected ", kLabelHeaderBytes,
                                    " bytes, found ", bytes.size()));
  }
  const uint64_t count = ReadBigEndian32(bytes, 4);
  if (count > kMaxCount) return Error(path, absl::StrCat("bad dimensions: ", count, " labels"));
  const uint64_t found = bytes.size() - kLabelHeaderBytes;
  if (found < count) {
    return Error(path, absl::StrCat("truncated: expected ", count,
                                    " bytes of labels after the header, found ", found));
  }
  if (found > count) {
    return Error(path,
                 absl::StrCat(found - count, " unexpected bytes after the ", count, " labels"));
  }
  const absl::string_view labels = bytes.substr(kLabelHeaderBytes);
  for (size_t i = 0; i < labels.size(); ++i) {
    const int label = static_cast<uint8_t>(labels[i]);
    if (label >= kNumClasses) {
      return Error(path, absl::StrCat("label ", label, " of sample ", i, " is out of range 0 to ",
                                      kNumClasses - 1));
    }
  }
  return labels;
}

// x / 255 for every byte, computed once: the conversion is then a table lookup
// and 255 maps to exactly 1.
const std::array<float, 256>& PixelScale() {
  static const std::array<float, 256> table = [] {
    std::array<float, 256> t;
    for (int i = 0; i < 256; ++i) t[i] = static_cast<float>(i) / 255.0f;
    return t;
  }();
  return table;
}

// The first `count` images as rows of features in [0, 1].
Tensor ScaledFeatures(const Images& images, uint64_t count) {
  Tensor features(static_cast<Eigen::Index>(count),
                  static_cast<Eigen::Index>(images.pixels_per_image));
  const std::array<float, 256>& scale = PixelScale();
  const auto* pixels = reinterpret_cast<const uint8_t*>(images.pixels.data());
  float* out = features.data();
  const size_t n = count * images.pixels_per_image;
  for (size_t i = 0; i < n; ++i) out[i] = scale[pixels[i]];
  return features;
}

absl::Status CheckLimit(const std::string& path, int limit) {
  if (limit >= 0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("cannot read ", path, ": the sample limit is ", limit, ", not 0 (all) or more"));
}

uint64_t Limited(uint64_t count, int limit) {
  return limit > 0 && static_cast<uint64_t>(limit) < count ? static_cast<uint64_t>(limit) : count;
}

}  // namespace

absl::StatusOr<Tensor> ReadIdxImages(const std::string& path, int limit) {
  MNEMO_RETURN_IF_ERROR(CheckLimit(path, limit));
  MNEMO_ASSIGN_OR_RETURN(std::string bytes, ReadFileDecompressed(path));
  MNEMO_ASSIGN_OR_RETURN(Images images, ParseImages(path, bytes));
  return ScaledFeatures(images, Limited(images.count, limit));
}

absl::StatusOr<std::vector<int32_t>> ReadIdxLabels(const std::string& path) {
  MNEMO_ASSIGN_OR_RETURN(std::string bytes, ReadFileDecompressed(path));
  MNEMO_ASSIGN_OR_RETURN(absl::string_view labels, ParseLabels(path, bytes));
  return std::vector<int32_t>(labels.begin(), labels.end());
}

absl::StatusOr<Dataset> ReadIdx(const std::string& images_path, const std::string& labels_path,
                                int limit) {
  MNEMO_RETURN_IF_ERROR(CheckLimit(images_path, limit));
  MNEMO_ASSIGN_OR_RETURN(std::string image_bytes, ReadFileDecompressed(images_path));
  MNEMO_ASSIGN_OR_RETURN(Images images, ParseImages(images_path, image_bytes));

  MNEMO_ASSIGN_OR_RETURN(std::string label_bytes, ReadFileDecompressed(labels_path));
  MNEMO_ASSIGN_OR_RETURN(absl::string_view labels, ParseLabels(labels_path, label_bytes));

  if (labels.size() != images.count) {
    return absl::InvalidArgumentError(absl::StrCat("image and label counts differ: ", images_path,
                                                   " has ", images.count, " images but ",
                                                   labels_path, " has ", labels.size(), " labels"));
  }

  const uint64_t count = Limited(images.count, limit);
  Dataset data;
  data.num_classes = kNumClasses;
  data.labels.assign(labels.begin(), labels.begin() + count);
  data.features = ScaledFeatures(images, count);
  // rows x cols <= 2^31 - 1, so each fits an int.
  data.image = {static_cast<int>(images.rows), static_cast<int>(images.cols), 1};
  return data;
}

}  // namespace mnemo
