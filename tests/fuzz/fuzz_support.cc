#include "tests/fuzz/fuzz_support.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace mnemo::fuzz {

ScratchFile::ScratchFile(const char* name) : fd_(memfd_create(name, MFD_CLOEXEC)) {
  if (fd_ < 0) Fail(absl::StrCat("memfd_create: ", std::strerror(errno)));
  path_ = absl::StrCat("/proc/self/fd/", fd_);
}

void ScratchFile::Write(absl::string_view bytes) {
  if (ftruncate(fd_, 0) != 0) Fail(absl::StrCat("ftruncate: ", std::strerror(errno)));
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n =
        pwrite(fd_, bytes.data() + written, bytes.size() - written, static_cast<off_t>(written));
    if (n <= 0) Fail(absl::StrCat("pwrite: ", std::strerror(errno)));
    written += static_cast<size_t>(n);
  }
}

void Fail(absl::string_view what) {
  std::fprintf(stderr, "FUZZ CHECK FAILED: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

}  // namespace mnemo::fuzz
