#ifndef MNEMO_TOOLS_OUTPUT_CHECKS_H_
#define MNEMO_TOOLS_OUTPUT_CHECKS_H_

// Checks of an output directory before a long run writes into it, so that a
// directory that cannot take the run's files says so before any training is
// spent rather than after.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mnemo {

// Writes a small file into `dir` the way every output is written
// (core/io/atomic_file.h: create, write, fsync, rename) and removes it.
// Unlike access(2) this also catches a read-only file system and holds for
// root, whom permission bits do not stop. Errors name the directory and
// errno's reason.
absl::Status ProbeWritable(const std::string& dir);

// The bytes that an unprivileged process may still write to the file system
// holding `dir` (statvfs: available blocks times the fragment size).
absl::StatusOr<uint64_t> AvailableBytes(const std::string& dir);

// Refuses, naming `dir` and both figures, when its file system has fewer
// than `needed` bytes available; `what` says what they are for.
absl::Status CheckAvailableBytes(const std::string& dir, uint64_t needed, absl::string_view what);

}  // namespace mnemo

#endif  // MNEMO_TOOLS_OUTPUT_CHECKS_H_
