// Reads the binary version of CIFAR-10 (see /work/shared/notes/formats.md):
// headerless files of 3,073-byte records, a label byte then the 32x32 image
// as three 1,024-byte planes, red, green, blue.
#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/status_macros.h"
#include "core/tensor.h"
#include "tools/data/compressed_file.h"
#include "tools/data/data_config.h"
#include "tools/data/readers.h"

namespace mnemo {
namespace {

constexpr int kPixelBytes = kCifar10Image.height * kCifar10Image.width * kCifar10Image.channels;
constexpr int kRecordBytes = 1 + kPixelBytes;
constexpr int kNumClasses = 10;

absl::Status Error(const std::string& path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

// The number of whole records in a file, or why it is not a CIFAR-10 file.
absl::StatusOr<size_t> CountRecords(const std::string& path, absl::string_view bytes) {
  const size_t records = bytes.size() / kRecordBytes;
  const size_t leftover = bytes.size() % kRecordBytes;
  if (leftover != 0) {
    return Error(path, absl::StrCat("the size, ", bytes.size(), " bytes, is not a multiple of ",
                                    kRecordBytes, " (a label byte and ", kPixelBytes,
                                    " pixel bytes): ", records, " records and ", leftover,
                                    " bytes left over"));
  }
  if (records > static_cast<size_t>(INT32_MAX)) {  // samples are indexed with int
    return Error(path, absl::StrCat("too many records: ", records));
  }
  return records;
}

}  // namespace

absl::StatusOr<Dataset> ReadCifar10(const std::vector<std::string>& paths, int limit) {
  if (limit < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read CIFAR-10: the sample limit is ", limit, ", not 0 (all) or more"));
  }
  if (paths.empty()) return absl::InvalidArgumentError("no CIFAR-10 file to read");

  // The bytes of every file needed are read and checked first, so the
  // features are allocated once at their final size (CIFAR-10's training set
  // is 600 MB of floats: no room for a second copy).
  struct File {
    std::string bytes;
    size_t take = 0;  // records used from this file
  };
  std::vector<File> files;
  size_t total = 0;
  for (const std::string& path : paths) {
    if (limit > 0 && total >= static_cast<size_t>(limit)) break;
    MNEMO_ASSIGN_OR_RETURN(std::string bytes, ReadFileDecompressed(path));
    MNEMO_ASSIGN_OR_RETURN(size_t records, CountRecords(path, bytes));
    // Every label is checked, even of records past the limit: a corrupt file
    // should not pass because a short run happened not to reach the damage.
    for (size_t r = 0; r < records; ++r) {
      const int label = static_cast<uint8_t>(bytes[r * kRecordBytes]);
      if (label >= kNumClasses) {
        return Error(path, absl::StrCat("label ", label, " of record ", r, " is out of range 0 to ",
                                        kNumClasses - 1));
      }
    }
    size_t take = records;
    if (limit > 0) take = std::min(take, static_cast<size_t>(limit) - total);
    total += take;
    if (total > static_cast<size_t>(INT32_MAX)) {
      return absl::InvalidArgumentError("CIFAR-10: more than 2^31 - 1 samples in all");
    }
    files.push_back({std::move(bytes), take});
  }

  Dataset dataset;
  dataset.num_classes = kNumClasses;
  dataset.image = kCifar10Image;
  dataset.features.resize(static_cast<Eigen::Index>(total), kPixelBytes);
  dataset.labels.reserve(total);
  float* out = dataset.features.data();
  for (const File& file : files) {
    const auto* data = reinterpret_cast<const uint8_t*>(file.bytes.data());
    for (size_t r = 0; r < file.take; ++r) {
      const uint8_t* record = data + r * kRecordBytes;
      dataset.labels.push_back(record[0]);
      for (int p = 1; p <= kPixelBytes; ++p) *out++ = static_cast<float>(record[p]) / 255.0f;
    }
  }
  return dataset;
}

}  // namespace mnemo
