#ifndef MNEMO_TOOLS_EXPORT_ZIP_WRITER_H_
#define MNEMO_TOOLS_EXPORT_ZIP_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mnemo {

// A zip archive built in memory whose entries are stored (not compressed),
// each entry's data starting on a multiple of kZipDataAlignment bytes from
// the start of the archive, as PyTorch's own writer (PyTorchStreamWriter)
// lays them out so that a reader may map a tensor's bytes in place. The
// padding is a local extra field of ID "FB" (0x4246) filled with 'Z', as
// PyTorch writes it; the central directory carries no extra field.
//
// Plain zip (no zip64): an archive past 4 GiB - 1, or more than 65535
// entries, is refused.
inline constexpr uint64_t kZipDataAlignment = 64;

class StoredZipWriter {
 public:
  // Appends an entry; refuses an empty or duplicate name, a name longer than
  // 65535 bytes, and an archive that would outgrow plain zip.
  absl::Status Add(absl::string_view name, absl::string_view data);

  // The central directory and its end record appended: the whole archive.
  // The writer is empty afterwards.
  absl::StatusOr<std::string> Finish();

 private:
  struct Entry {
    std::string name;
    uint32_t crc32 = 0;
    uint32_t size = 0;
    uint32_t header_offset = 0;
  };
  std::string bytes_;  // the local headers and data so far
  std::vector<Entry> entries_;
};

}  // namespace mnemo

#endif  // MNEMO_TOOLS_EXPORT_ZIP_WRITER_H_
