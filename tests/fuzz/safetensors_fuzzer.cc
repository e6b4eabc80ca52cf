// Fuzzes the safetensors readers (core/io/safetensors.h) with the input as a
// file: ParseSafetensors on the bytes in memory, and SafetensorsReader on the
// same bytes as a file. The header promises that the two agree word for word,
// so any difference between them is a failure too, as is a reader that
// accepts a file and then cannot read one of its tensors, or reads a BF16 or
// I8 tensor as floats.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "core/io/safetensors.h"
#include "tests/fuzz/fuzz_support.h"

namespace mnemo::fuzz {
namespace {

void TestOneInput(absl::string_view bytes) {
  static ScratchFile* const file = new ScratchFile("safetensors_input");
  file->Write(bytes);
  const std::string& path = file->path();

  const absl::StatusOr<TensorFile> parsed = ParseSafetensors(bytes, path);
  const absl::StatusOr<SafetensorsReader> reader = SafetensorsReader::Open(path);
  if (parsed.status() != reader.status()) {
    Fail(absl::StrCat("ParseSafetensors and SafetensorsReader::Open disagree:\n  ",
                      parsed.status().ToString(), "\n  ", reader.status().ToString()));
  }
  if (!parsed.ok()) return;

  const SafetensorsHeader& header = reader->header();
  if (header.metadata != parsed->metadata ||
      header.tensors.size() != parsed->tensors.size() + parsed->narrow_tensors.size()) {
    Fail("the reader's header differs from what ParseSafetensors read");
  }
  std::vector<float> values;
  std::vector<uint8_t> data;
  for (const auto& [name, info] : header.tensors) {
    // Every tensor's bytes as the file holds them, whatever its dtype.
    data.resize(info.bytes());
    const absl::Status read_bytes = reader->ReadTensorBytes(name, absl::MakeSpan(data));
    if (!read_bytes.ok()) {
      Fail(absl::StrCat("an accepted file's tensor bytes cannot be read: ", read_bytes.ToString()));
    }
    values.resize(static_cast<size_t>(info.rows * info.cols));
    const absl::Status read = reader->ReadTensor(name, absl::MakeSpan(values));

    if (info.dtype != Dtype::kF32) {
      if (parsed->tensors.count(name) > 0) {
        Fail(absl::StrCat("narrow tensor \"", name, "\" parsed as F32"));
      }
      const auto it = parsed->narrow_tensors.find(name);
      if (it == parsed->narrow_tensors.end()) {
        Fail(absl::StrCat("tensor \"", name, "\" only in the reader"));
      }
      const NarrowTensor& tensor = it->second;
      if (tensor.dtype != info.dtype || tensor.rows != info.rows || tensor.cols != info.cols) {
        Fail(absl::StrCat("tensor \"", name, "\" has another dtype or shape in the reader"));
      }
      if (tensor.bytes != data) Fail(absl::StrCat("tensor \"", name, "\" has other bytes"));
      // No silent conversion: floats are only read from F32.
      if (read.ok()) Fail(absl::StrCat("narrow tensor \"", name, "\" was read as floats"));
      continue;
    }

    const auto it = parsed->tensors.find(name);
    if (it == parsed->tensors.end()) Fail(absl::StrCat("tensor \"", name, "\" only in the reader"));
    const Tensor& tensor = it->second;
    if (tensor.rows() != info.rows || tensor.cols() != info.cols) {
      Fail(absl::StrCat("tensor \"", name, "\" has another shape in the reader"));
    }
    if (!read.ok())
      Fail(absl::StrCat("an accepted file's tensor cannot be read: ", read.ToString()));
    if (!values.empty() &&
        (std::memcmp(values.data(), tensor.data(), values.size() * sizeof(float)) != 0 ||
         std::memcmp(data.data(), tensor.data(), data.size()) != 0)) {
      Fail(absl::StrCat("tensor \"", name, "\" has other values in the reader"));
    }
  }
}

}  // namespace
}  // namespace mnemo::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mnemo::fuzz::TestOneInput(mnemo::fuzz::Bytes(data, size));
  return 0;
}
