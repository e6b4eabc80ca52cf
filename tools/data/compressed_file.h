#ifndef MNEMO_TOOLS_DATA_COMPRESSED_FILE_H_
#define MNEMO_TOOLS_DATA_COMPRESSED_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mnemo {

// The whole contents of `path`, decompressed when it is gzip (recognised by
// its magic bytes 1f 8b, not by its name). Errors start with the path: a file
// that cannot be read, a corrupt or truncated gzip stream, bytes after it.
absl::StatusOr<std::string> ReadFileDecompressed(const std::string& path);

// The decompression of ReadFileDecompressed, for bytes already in memory;
// errors start with `name_for_errors`.
absl::StatusOr<std::string> Gunzip(absl::string_view compressed,
                                   const std::string& name_for_errors);

}  // namespace mnemo

#endif  // MNEMO_TOOLS_DATA_COMPRESSED_FILE_H_
