#include "tools/output_checks.h"

#include <errno.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "core/format_bytes.h"
#include "core/io/atomic_file.h"
#include "core/status_macros.h"

namespace mnemo {

absl::Status ProbeWritable(const std::string& dir) {
  const std::string probe = absl::StrCat(dir, "/.mnemo_write_probe.", ::getpid());
  if (absl::Status s = WriteFileAtomically(probe, "probe\n"); !s.ok()) {
    return absl::Status(s.code(),
                        absl::StrCat("output directory ", dir, " is not writable: ", s.message()));
  }
  if (::unlink(probe.c_str()) != 0) {
    return absl::ErrnoToStatus(errno,
                               absl::StrCat("output directory ", dir, ": cannot remove ", probe));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> AvailableBytes(const std::string& dir) {
  struct statvfs info;
  if (::statvfs(dir.c_str(), &info) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot stat the file system of ", dir));
  }
  return static_cast<uint64_t>(info.f_bavail) * static_cast<uint64_t>(info.f_frsize);
}

absl::Status CheckAvailableBytes(const std::string& dir, uint64_t needed, absl::string_view what) {
  MNEMO_ASSIGN_OR_RETURN(uint64_t available, AvailableBytes(dir));
  if (available < needed) {
    return absl::ResourceExhaustedError(absl::StrCat("output directory ", dir, " has ",
                                                     FormatBytes(available), " free but ", what,
                                                     " need ", FormatBytes(needed)));
  }
  return absl::OkStatus();
}

}  // namespace mnemo
