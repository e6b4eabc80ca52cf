// Fuzzes the .npy reader (tools/data/npy.h) with the input as a file: the
// header parsed from the bytes in memory and from the file mapped by
// NpyFile::Open must agree, and every row of an accepted array converts
// (so that its data lies where the header says, all of it in the file).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "tests/fuzz/fuzz_support.h"
#include "tools/data/npy.h"

namespace mnemo::fuzz {
namespace {

void TestOneInput(absl::string_view bytes) {
  static ScratchFile* const file = new ScratchFile("npy_input");
  file->Write(bytes);
  const std::string& path = file->path();

  const absl::StatusOr<NpyHeader> parsed = ParseNpyHeader(bytes, bytes.size(), path);
  const absl::StatusOr<std::unique_ptr<NpyFile>> opened = NpyFile::Open(path);
  if (parsed.status() != (opened.ok() ? absl::OkStatus() : opened.status())) {
    Fail(absl::StrCat("ParseNpyHeader and NpyFile::Open disagree:\n  ", parsed.status().ToString(),
                      "\n  ", opened.status().ToString()));
  }
  if (!parsed.ok()) return;
  const NpyFile& npy = **opened;
  if (npy.header().data_offset + npy.header().data_bytes() != bytes.size()) {
    Fail("an accepted array's data does not end where the file ends");
  }
  // An empty array (a shape of (10^9, 0), or of (0, 10^9): a few bytes)
  // converts nothing: read it at once, into no buffer.
  if (npy.cols() == 0 || npy.rows() == 0) {
    npy.ReadRows(0, npy.rows(), nullptr);
    return;
  }
  // Row by row, so that a large shape of few bytes cannot ask for much memory.
  std::vector<float> row(static_cast<size_t>(npy.cols()));
  for (int64_t r = 0; r < npy.rows(); ++r) npy.ReadRows(r, 1, row.data());
}

}  // namespace
}  // namespace mnemo::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mnemo::fuzz::TestOneInput(mnemo::fuzz::Bytes(data, size));
  return 0;
}
