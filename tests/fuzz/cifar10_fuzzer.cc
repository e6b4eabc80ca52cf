// Fuzzes ReadCifar10 (tools/data/readers.h) with the input as one CIFAR-10
// binary file, raw or gzip: alone, twice in a row, and with a sample limit.
// The reader takes paths, so the input is written to a memory file first.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/fuzz/fuzz_support.h"
#include "tools/data/readers.h"

namespace mnemo::fuzz {
namespace {

constexpr int kPixelBytes = 3 * 32 * 32;

void CheckDataset(const absl::StatusOr<Dataset>& data, const std::string& path, const char* call,
                  int expected_rows) {
  if (!data.ok()) {
    // Every error names the file (dataset.h).
    if (!absl::StrContains(data.status().message(), path)) {
      Fail(absl::StrCat(call, ": the error does not name ", path, ": ", data.status().message()));
    }
    return;
  }
  if (data->features.cols() != kPixelBytes || data->features.rows() != data->size()) {
    Fail(absl::StrCat(call, ": features of ", data->features.rows(), " x ", data->features.cols(),
                      " for ", data->size(), " labels"));
  }
  if (expected_rows >= 0 && data->size() != expected_rows) {
    Fail(absl::StrCat(call, ": ", data->size(), " samples, expected ", expected_rows));
  }
  for (const int32_t label : data->labels) {
    if (label < 0 || label > 9) Fail(absl::StrCat(call, ": label ", label));
  }
  for (Eigen::Index i = 0; i < data->features.size(); ++i) {
    const float x = data->features.data()[i];
    if (!(x >= 0.0f && x <= 1.0f)) Fail(absl::StrCat(call, ": a feature outside [0, 1]: ", x));
  }
}

void TestOneInput(absl::string_view bytes) {
  static ScratchFile* const file = new ScratchFile("cifar10_input");
  file->Write(bytes);
  const std::string& path = file->path();

  const absl::StatusOr<Dataset> once = ReadCifar10({path});
  CheckDataset(once, path, "ReadCifar10({input})", -1);
  const int n = once.ok() ? once->size() : -1;
  const absl::StatusOr<Dataset> twice = ReadCifar10({path, path});
  const absl::StatusOr<Dataset> limited = ReadCifar10({path, path}, 1);
  // The same file read again or cut short cannot change whether it is valid.
  if (twice.ok() != once.ok() || limited.ok() != once.ok()) {
    Fail(absl::StrCat("ReadCifar10 accepts the file ", once.ok() ? "alone" : "twice or limited",
                      " only: ", once.status().ToString(), " / ", twice.status().ToString(), " / ",
                      limited.status().ToString()));
  }
  CheckDataset(twice, path, "ReadCifar10({input, input})", 2 * n);
  CheckDataset(limited, path, "ReadCifar10({input, input}, 1)", std::min(n, 1));
}

}  // namespace
}  // namespace mnemo::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mnemo::fuzz::TestOneInput(mnemo::fuzz::Bytes(data, size));
  return 0;
}
