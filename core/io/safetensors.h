#ifndef MNEMO_CORE_IO_SAFETENSORS_H_
#define MNEMO_CORE_IO_SAFETENSORS_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/tensor.h"

namespace mnemo {

// The contents of a safetensors file: F32 tensors of rank 1 or 2 by name (a
// rank-1 tensor of n elements is read as 1 x n) and the string metadata.
struct TensorFile {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;  // "__metadata__"
};

// Writes atomically (temporary file in the same directory, fsync, rename,
// fsync of the directory): a crash leaves the old file or the new one.
absl::Status WriteSafetensors(const std::string& path, const TensorFile& file);

// Refuses, naming the file and what is wrong and where (byte offset or key):
// truncation, a header length beyond the file, bad JSON, unknown dtype, a shape
// that does not match the byte range, ranges out of bounds or overlapping.
absl::StatusOr<TensorFile> ReadSafetensors(const std::string& path);

// The checks and decoding of ReadSafetensors on the bytes of a file already in
// memory (for fuzzers and tests); errors start with `name_for_errors`.
absl::StatusOr<TensorFile> ParseSafetensors(absl::string_view bytes,
                                            const std::string& name_for_errors);

}  // namespace mnemo

#endif  // MNEMO_CORE_IO_SAFETENSORS_H_
