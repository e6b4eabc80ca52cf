// Fuzzes the IDX readers (tools/data/readers.h) with the input as one IDX
// file, raw or gzip: as an image file, as a label file, and as either half of
// a ReadIdx pair whose other half is a valid two-sample file. The readers
// take paths, so the input is written to a memory file first.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/fuzz/fuzz_support.h"
#include "tools/data/readers.h"

namespace mnemo::fuzz {
namespace {

// Two 2 x 2 images and their labels: the pair the input is matched with.
const char kTwoImages[] =
    "\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00\x02"
    "\x00\x40\x80\xff\x01\x02\x03\x04";
const char kTwoLabels[] = "\x00\x00\x08\x01\x00\x00\x00\x02\x07\x00";

struct Files {
  ScratchFile input{"idx_input"};
  ScratchFile images{"idx_images"};
  ScratchFile labels{"idx_labels"};
};

Files& TheFiles() {
  static Files* const files = [] {
    auto* f = new Files;
    f->images.Write(absl::string_view(kTwoImages, sizeof(kTwoImages) - 1));
    f->labels.Write(absl::string_view(kTwoLabels, sizeof(kTwoLabels) - 1));
    return f;
  }();
  return *files;
}

// Every error names the file it is about (dataset.h).
void CheckNamesFile(const absl::Status& status, const std::string& path, const char* call) {
  if (!status.ok() && !absl::StrContains(status.message(), path)) {
    Fail(absl::StrCat(call, ": the error does not name ", path, ": ", status.message()));
  }
}

void CheckFeatures(const Tensor& features, const char* call) {
  for (Eigen::Index i = 0; i < features.size(); ++i) {
    const float x = features.data()[i];
    if (!(x >= 0.0f && x <= 1.0f)) Fail(absl::StrCat(call, ": a feature outside [0, 1]: ", x));
  }
}

void CheckDataset(const Dataset& data, const char* call) {
  if (data.features.rows() != data.size()) {
    Fail(absl::StrCat(call, ": ", data.features.rows(), " rows of features but ", data.size(),
                      " labels"));
  }
  for (const int32_t label : data.labels) {
    if (label < 0 || label >= data.num_classes) Fail(absl::StrCat(call, ": label ", label));
  }
  CheckFeatures(data.features, call);
}

void TestOneInput(absl::string_view bytes) {
  Files& files = TheFiles();
  files.input.Write(bytes);
  const std::string& path = files.input.path();

  absl::StatusOr<Tensor> images = ReadIdxImages(path);
  CheckNamesFile(images.status(), path, "ReadIdxImages");
  if (images.ok()) CheckFeatures(*images, "ReadIdxImages");
  absl::StatusOr<Tensor> first = ReadIdxImages(path, 1);
  if (first.ok() != images.ok() ||
      (first.ok() && first->rows() != std::min<Eigen::Index>(images->rows(), 1))) {
    Fail("ReadIdxImages with limit 1 disagrees with ReadIdxImages");
  }

  absl::StatusOr<std::vector<int32_t>> labels = ReadIdxLabels(path);
  CheckNamesFile(labels.status(), path, "ReadIdxLabels");

  absl::StatusOr<Dataset> as_images = ReadIdx(path, files.labels.path());
  CheckNamesFile(as_images.status(), path, "ReadIdx(input, labels)");
  if (as_images.ok()) CheckDataset(*as_images, "ReadIdx(input, labels)");

  absl::StatusOr<Dataset> as_labels = ReadIdx(files.images.path(), path, 1);
  CheckNamesFile(as_labels.status(), path, "ReadIdx(images, input)");
  if (as_labels.ok()) CheckDataset(*as_labels, "ReadIdx(images, input)");
}

}  // namespace
}  // namespace mnemo::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mnemo::fuzz::TestOneInput(mnemo::fuzz::Bytes(data, size));
  return 0;
}
