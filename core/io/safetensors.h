#ifndef MNEMO_CORE_IO_SAFETENSORS_H_
#define MNEMO_CORE_IO_SAFETENSORS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/tensor.h"

namespace mnemo {

// The element types a safetensors file of this framework may hold, by the
// specification's names: F32 for training and serving, and the narrower BF16
// (bfloat16, core/bfloat16.h) and I8 (int8) of quantized models. Every other
// dtype of the specification (F16, I32, ...) is refused by the readers.
enum class Dtype { kF32, kBF16, kI8 };

// "F32", "BF16" or "I8": the specification's spelling, as in the header.
absl::string_view DtypeName(Dtype dtype);

// Bytes an element: 4, 2 or 1.
size_t DtypeBytes(Dtype dtype);

// A tensor stored in a dtype narrower than F32 (BF16 or I8), kept as the file
// holds it: rows x cols elements, row-major, each DtypeBytes(dtype) bytes
// little-endian (BF16 as uint16_t bit patterns, I8 as int8_t), so that
// reading and writing it back gives the same bytes. What the values mean (an
// I8 tensor's scale, say) is for the caller and its other tensors to say.
struct NarrowTensor {
  Dtype dtype = Dtype::kI8;
  Eigen::Index rows = 0;
  Eigen::Index cols = 0;
  std::vector<uint8_t> bytes;  // rows * cols * DtypeBytes(dtype)
};

// `values` as an I8 tensor, and `values` rounded to bf16 (FloatToBfloat16) as
// a BF16 one.
NarrowTensor ToI8Tensor(const MatrixS8& values);
NarrowTensor ToBf16Tensor(const Tensor& values);

// The contents of a safetensors file: tensors of rank 1 or 2 by name (a
// rank-1 tensor of n elements is read as 1 x n) and the string metadata. F32
// tensors are in `tensors`, BF16 and I8 ones in `narrow_tensors`; a name is
// in one of them at most.
struct TensorFile {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, NarrowTensor> narrow_tensors;
  std::map<std::string, std::string> metadata;  // "__metadata__"
};

// Writes atomically (temporary file in the same directory, fsync, rename,
// fsync of the directory): a crash leaves the old file or the new one. Every
// tensor is written with shape [rows, cols]; the data of the F32 tensors
// comes first, then BF16's, then I8's (so each is aligned to its element, as
// Python's safetensors lays files out), by name within a dtype. Refuses
// (InvalidArgument, naming the tensor) a name in both maps, a narrow tensor
// not BF16 or I8 (an F32 one would be read back into `tensors`), or one whose
// bytes are not rows x cols elements of its dtype.
absl::Status WriteSafetensors(const std::string& path, const TensorFile& file);

// Where one tensor's data lies in a safetensors file whose header was checked:
// rows x cols values of `dtype` (rank 1 of n elements is 1 x n, rank 0 is
// 1 x 1), row-major, little-endian, from byte `offset` of the file on.
struct TensorInfo {
  Dtype dtype = Dtype::kF32;
  Eigen::Index rows = 0;
  Eigen::Index cols = 0;
  uint64_t offset = 0;

  size_t bytes() const { return static_cast<size_t>(rows * cols) * DtypeBytes(dtype); }
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
  // file, bad JSON, a dtype other than F32, BF16 and I8, a shape that does
  // not match the byte range (of the tensor's dtype), ranges out of bounds (checked against the
  // file's size), overlapping or leaving holes. ParseSafetensors's checks, word for word.
  static absl::StatusOr<SafetensorsReader> Open(const std::string& path);

  SafetensorsReader(SafetensorsReader&& other) noexcept;
  SafetensorsReader& operator=(SafetensorsReader&& other) noexcept;
  ~SafetensorsReader();

  const std::string& path() const { return path_; }
  const SafetensorsHeader& header() const { return header_; }

  // Reads the data of F32 tensor `name` (one of header().tensors) into
  // `destination`, which must hold exactly rows x cols floats. Errors name
  // the file and the tensor: an unknown name, a tensor of another dtype ("is
  // I8, not F32": no conversion is made) or a destination of another size
  // (InvalidArgument), an I/O error (with errno's reason), or the file ending
  // early because it was truncated after Open (DataLoss). Thread-safe.
  absl::Status ReadTensor(const std::string& name, absl::Span<float> destination) const;

  // Reads the data of tensor `name`, of any dtype, as the file holds it (see
  // NarrowTensor) into `destination`, which must be exactly info.bytes()
  // long. Errors as ReadTensor's, but for the dtype. Thread-safe.
  absl::Status ReadTensorBytes(const std::string& name, absl::Span<uint8_t> destination) const;

 private:
  SafetensorsReader(std::string path, int fd, SafetensorsHeader header)
      : path_(std::move(path)), fd_(fd), header_(std::move(header)) {}

  // The tensor's entry, or an error naming the file and the unknown name.
  absl::StatusOr<const TensorInfo*> Find(const std::string& name) const;
  // Reads its info.bytes() bytes into `destination`.
  absl::Status ReadData(const std::string& name, const TensorInfo& info, char* destination) const;

  std::string path_;
  int fd_ = -1;  // owned; -1 once moved from
  SafetensorsHeader header_;
};

// SafetensorsReader::Open, then every tensor read into a new Tensor (F32) or
// NarrowTensor (BF16, I8).
absl::StatusOr<TensorFile> ReadSafetensors(const std::string& path);

// The checks and decoding of ReadSafetensors on the bytes of a file already in
// memory (for fuzzers and tests); errors start with `name_for_errors`.
absl::StatusOr<TensorFile> ParseSafetensors(absl::string_view bytes,
                                            const std::string& name_for_errors);

}  // namespace mnemo

#endif  // MNEMO_CORE_IO_SAFETENSORS_H_
