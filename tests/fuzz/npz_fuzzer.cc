// Fuzzes the .npz reader (tools/data/npz.cc) with the input as a file:
// NpyFile::ArchiveArrays, then NpyFile::OpenInArchive for every array it
// lists and for "x". Every error names the file; the directory is read alike
// by both (when listing fails, opening fails with the same error); an array
// listed is found; and every row of an opened array converts (so that its
// data lies where its header says, all of it in the file or the inflated
// buffer).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/fuzz/fuzz_support.h"
#include "tools/data/npy.h"

namespace mnemo::fuzz {
namespace {

void CheckNamesFile(const absl::Status& status, const std::string& path) {
  if (!absl::StartsWith(status.message(), path)) {
    Fail(absl::StrCat("an error does not start with the file's name ", path, ": ",
                      status.ToString()));
  }
}

// Reads the array's rows, each once, and a few again through GatherRows.
void ReadArray(const NpyFile& npy) {
  const int64_t rows = npy.rows();
  const int64_t cols = npy.cols();
  std::vector<float> row(static_cast<size_t>(std::max<int64_t>(cols, 1)));
  // Row by row, so that a large shape of few bytes cannot ask for much
  // memory; rows of no columns hold no bytes, and the first and last stand
  // for them all.
  if (cols > 0) {
    for (int64_t r = 0; r < rows; ++r) npy.ReadRows(r, 1, row.data());
  } else if (rows > 0) {
    npy.ReadRows(0, 1, row.data());
    npy.ReadRows(rows - 1, 1, row.data());
  }
  if (rows > 0) {
    const int32_t indices[] = {static_cast<int32_t>(rows - 1), 0, static_cast<int32_t>(rows / 2)};
    std::vector<float> gathered(3 * row.size());
    npy.GatherRows(indices, 3, gathered.data());
  }
  npy.ReleasePages();
  if (rows > 0) npy.ReadRows(rows - 1, 1, row.data());  // again, after the release
}

void TestOneInput(absl::string_view bytes) {
  static ScratchFile* const file = new ScratchFile("npz_input");
  file->Write(bytes);
  const std::string& path = file->path();

  const absl::StatusOr<std::vector<std::string>> arrays = NpyFile::ArchiveArrays(path);
  std::vector<std::string> names;
  if (arrays.ok()) {
    names = *arrays;
  } else {
    CheckNamesFile(arrays.status(), path);
  }
  if (std::find(names.begin(), names.end(), "x") == names.end()) names.push_back("x");
  for (const std::string& name : names) {
    const absl::StatusOr<std::unique_ptr<NpyFile>> opened = NpyFile::OpenInArchive(path, name);
    if (!arrays.ok()) {
      if (opened.status() != arrays.status()) {
        Fail(absl::StrCat("ArchiveArrays and OpenInArchive read the directory differently:\n  ",
                          arrays.status().ToString(), "\n  ", opened.status().ToString()));
      }
      continue;
    }
    if (!opened.ok()) {
      CheckNamesFile(opened.status(), path);
      const bool listed = std::find(arrays->begin(), arrays->end(), name) != arrays->end();
      if (listed && absl::IsNotFound(opened.status())) {
        Fail(absl::StrCat("ArchiveArrays lists \"", name,
                          "\" but OpenInArchive finds no such "
                          "array: ",
                          opened.status().ToString()));
      }
      continue;
    }
    if (!absl::StartsWith((*opened)->path(), path)) {
      Fail(absl::StrCat("an array's path \"", (*opened)->path(), "\" does not name the file"));
    }
    ReadArray(**opened);
  }
}

}  // namespace
}  // namespace mnemo::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mnemo::fuzz::TestOneInput(mnemo::fuzz::Bytes(data, size));
  return 0;
}
