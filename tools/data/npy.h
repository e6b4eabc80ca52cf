#ifndef MNEMO_TOOLS_DATA_NPY_H_
#define MNEMO_TOOLS_DATA_NPY_H_

// NumPy's .npy arrays (format versions 1.0, 2.0 and 3.0): the header parsed
// and checked, the data memory-mapped, and rows converted to float as they
// are read, so that an array larger than memory is read a batch at a time.
// The arrays of .npz archives (np.savez, np.savez_compressed) are read too;
// their zip format is read in npz.cc.
//
// Types: float32, float64, uint8, int32 and int64, little-endian (NumPy's
// '<f4', '<f8', '|u1', '<i4', '<i8'); C order only. An array of rank 0 or 1
// has one column; rank 2 and above has the product of the trailing sizes
// (an (n, 28, 28) array of images is n rows of 784 features).

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mnemo {

enum class NpyType { kFloat32, kFloat64, kUint8, kInt32, kInt64 };

// "float32", ...
const char* NpyTypeName(NpyType type);

struct NpyHeader {
  NpyType type = NpyType::kFloat32;
  int item_bytes = 4;
  std::vector<int64_t> shape;
  uint64_t data_offset = 0;  // where the data starts, from the start of the array's bytes

  int64_t rows() const { return shape.empty() ? 1 : shape[0]; }
  int64_t cols() const;  // the product of the sizes after the first; 1 for rank 0 or 1
  uint64_t data_bytes() const {
    return static_cast<uint64_t>(rows()) * static_cast<uint64_t>(cols()) * item_bytes;
  }
};

// Parses the header at the start of `bytes`, the first bytes of an array of
// `total_bytes` in all (an .npy file, or an entry of an .npz archive), and
// checks that the data fills the rest exactly. Refuses, naming `name` and
// the byte offset: a wrong magic string, an unknown version, a header
// length beyond the array, a header that is not NumPy's dictionary
// ('descr', 'fortran_order', 'shape'), a type other than those above or
// big-endian, Fortran order, sizes that overflow, and data of another size
// than the shape asks.
absl::StatusOr<NpyHeader> ParseNpyHeader(absl::string_view bytes, uint64_t total_bytes,
                                         const std::string& name);

// Rows `first` .. `first + count` of an array whose data is at `data`
// (little-endian, of `header`'s type), converted to float into `out`
// (count x cols floats). The caller has checked the range.
void ConvertRows(const NpyHeader& header, const char* data, int64_t first, int64_t count,
                 float* out);

// An .npy file mapped read-only, or an array of an .npz archive: mapped in
// place when its entry is stored, inflated into memory when it is deflated.
// Reading a row of a mapped array touches only its pages, and ReleasePages
// gives the pages read so far back to the kernel, so the process's resident
// memory stays bounded however large the file.
class NpyFile {
 public:
  // Opens and maps `path`, checking its header (ParseNpyHeader).
  static absl::StatusOr<std::unique_ptr<NpyFile>> Open(const std::string& path);
  // The array `array` ("x" for the entry "x.npy") of the .npz archive at
  // `path` (np.savez or np.savez_compressed): an entry stored uncompressed is
  // mapped in place (rows are read on demand, ReleasePages works as for an
  // .npy file); a deflated one is inflated into memory (zlib). Errors name the
  // archive, the entry and the byte offset: not a zip (no end of central
  // directory), a damaged directory or local header, an entry missing (listing
  // the arrays there are), a compression other than stored/deflate, a CRC or
  // size mismatch, an encrypted entry, and whatever ParseNpyHeader refuses.
  // (Offsets in the archive's errors are the archive's; those of
  // ParseNpyHeader's, after `path() ": "`, are the array's own.) The CRC-32 of
  // a stored entry is not checked: that would read the whole array up front.
  // When several entries have the name, the last one is read, as np.load does.
  static absl::StatusOr<std::unique_ptr<NpyFile>> OpenInArchive(const std::string& path,
                                                                const std::string& array);
  // The names of the arrays in the .npz archive at `path`, in directory order:
  // its entries whose names end in ".npy", without that suffix, each once.
  static absl::StatusOr<std::vector<std::string>> ArchiveArrays(const std::string& path);

  NpyFile(const NpyFile&) = delete;
  NpyFile& operator=(const NpyFile&) = delete;
  ~NpyFile();

  // The file's path; for an array of an archive, `archive.npz (array "x")`.
  const std::string& path() const { return path_; }
  const NpyHeader& header() const { return header_; }
  int64_t rows() const { return header_.rows(); }
  int64_t cols() const { return header_.cols(); }

  // Rows `first` .. `first + count`, as floats (count x cols()).
  void ReadRows(int64_t first, int64_t count, float* out) const;
  // The rows `indices` (each in [0, rows())), as floats, in that order. For
  // an array of more than 64 MiB, drops the mapping's resident pages every
  // few rows, so that no more than about 64 MiB of it is resident whatever
  // `count` is (a row read may map its whole 2 MiB page-cache block).
  void GatherRows(const int32_t* indices, int count, float* out) const;
  // Drops the mapping's resident pages (they stay in the page cache) when the
  // array is larger than 64 MiB; a smaller one may stay resident. An inflated
  // array is the process's own memory, and stays.
  void ReleasePages() const;

 private:
  // A whole file mapped read-only, unmapped when destroyed.
  class Mapping {
   public:
    // Maps `path`, which must be a regular file; an empty one maps to no bytes.
    static absl::StatusOr<std::unique_ptr<Mapping>> Map(const std::string& path);
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;
    ~Mapping();

    absl::string_view bytes() const { return absl::string_view(base_, size_); }
    void ReleasePages() const;

   private:
    Mapping(const char* base, uint64_t size) : base_(base), size_(size) {}

    const char* base_;  // null when size_ is 0
    uint64_t size_;
  };

  NpyFile(std::string path, NpyHeader header, const char* array, std::unique_ptr<Mapping> mapping,
          std::unique_ptr<char[]> inflated)
      : path_(std::move(path)),
        header_(std::move(header)),
        array_(array),
        mapping_(std::move(mapping)),
        inflated_(std::move(inflated)) {}

  std::string path_;
  NpyHeader header_;
  // The array's first byte (its header's), in what the object owns: the file
  // mapped (an .npy, or an archive whose entry is stored), or the entry
  // inflated (a deflated one). The other of the two is null.
  const char* array_;
  std::unique_ptr<Mapping> mapping_;
  std::unique_ptr<char[]> inflated_;
};

}  // namespace mnemo

#endif  // MNEMO_TOOLS_DATA_NPY_H_
