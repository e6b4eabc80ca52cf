#ifndef MNEMO_CORE_IO_ATOMIC_FILE_H_
#define MNEMO_CORE_IO_ATOMIC_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mnemo {

// Replaces `path` with `contents` atomically: write to a temporary file in the
// same directory, fsync it, rename it over `path`, fsync the directory. On any
// failure the old file is untouched and the temporary file removed.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents);

// Removes the temporary files that WriteFileAtomically left beside `path` in
// processes that died while writing it (killed, crashed): those whose process
// is gone. Returns how many it removed; errors name the file.
absl::StatusOr<int> RemoveStaleTemporaryFiles(const std::string& path);

// Creates `dir` and its parents if missing.
absl::Status MakeDirectories(const std::string& dir);

}  // namespace mnemo

#endif  // MNEMO_CORE_IO_ATOMIC_FILE_H_
