#ifndef MNEMO_CORE_IO_SAFETENSORS_H_
#define MNEMO_CORE_IO_SAFETENSORS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
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

// Where one tensor's data lies in a safetensors file whose header was checked:
// rows x cols F32 values (rank 1 of n elements is 1 x n, rank 0 is 1 x 1),
// row-major, little-endian, from byte `offset` of the file on.
struct TensorInfo {
  Eigen::Index rows = 0;
  Eigen::Index cols = 0;
  uint64_t offset = 0;

  size_t bytes() const { return static_cast<size_t>(rows * cols) * sizeof(float); }
};

// A safetensors header that passed every check against its file's size.
struct SafetensorsHeader {
  std::map<std::string, TensorInfo> tensors;
  std::map<std::string, std::string> metadata;  // "__metadata__"
};

// A safetensors file opened for reading its tensors one at a time, each into
// a buffer of the caller's (a model's parameter, say), so that loading a file
// of S bytes costs S bytes of memory, not a copy of the file besides.
//
// Open reads and checks only the header; the data area is read by
// ReadTensor. Every tensor comes from the file that Open opened, even when
// its path is replaced meanwhile (WriteSafetensors replaces by rename), so a
// reader never mixes two versions of a file.
class SafetensorsReader {
 public:
  // Refuses, naming the file and what is wrong and where (byte offset or
  // key): a file too short for the header length, a header length beyond the
  // file, bad JSON, unknown dtype, a shape that does not match the byte
  // range, ranges out of bounds (checked against the file's size),
  // overlapping or leaving holes. ParseSafetensors's checks, word for word.
  static absl::StatusOr<SafetensorsReader> Open(const std::string& path);

  SafetensorsReader(SafetensorsReader&& other) noexcept;
  SafetensorsReader& operator=(SafetensorsReader&& other) noexcept;
  ~SafetensorsReader();

  const std::string& path() const { return path_; }
  const SafetensorsHeader& header() const { return header_; }

  // Reads the data of tensor `name` (one of header().tensors) into
  // `destination`, which must hold exactly rows x cols floats. Errors name
  // the file and the tensor: an unknown name or a destination of another size
  // (InvalidArgument), an I/O error (with errno's reason), or the file ending
  // early because it was truncated after Open (DataLoss). Thread-safe.
  absl::Status ReadTensor(const std::string& name, absl::Span<float> destination) const;

 private:
  SafetensorsReader(std::string path, int fd, SafetensorsHeader header)
      : path_(std::move(path)), fd_(fd), header_(std::move(header)) {}

  std::string path_;
  int fd_ = -1;  // owned; -1 once moved from
  SafetensorsHeader header_;
};

// SafetensorsReader::Open, then every tensor read into a new Tensor.
absl::StatusOr<TensorFile> ReadSafetensors(const std::string& path);

// The checks and decoding of ReadSafetensors on the bytes of a file already in
// memory (for fuzzers and tests); errors start with `name_for_errors`.
absl::StatusOr<TensorFile> ParseSafetensors(absl::string_view bytes,
                                            const std::string& name_for_errors);

}  // namespace mnemo

#endif  // MNEMO_CORE_IO_SAFETENSORS_H_
