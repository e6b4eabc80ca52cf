#ifndef MNEMO_TESTS_FUZZ_FUZZ_SUPPORT_H_
#define MNEMO_TESTS_FUZZ_FUZZ_SUPPORT_H_

// What the fuzz targets share: a file to hand the readers that take a path,
// and a check that turns a broken promise into a crash libFuzzer reports.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace mnemo::fuzz {

// A file in memory (memfd_create), rewritten for every input: the readers of
// IDX and CIFAR-10 files take paths, and a memory file costs no disk, needs no
// writable directory and leaves nothing behind when the fuzzer is killed.
// `path()` is /proc/self/fd/N, which open() reopens as the same file.
class ScratchFile {
 public:
  explicit ScratchFile(const char* name);
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  const std::string& path() const { return path_; }
  // Replaces the contents with `bytes`.
  void Write(absl::string_view bytes);

 private:
  int fd_ = -1;  // never closed: it lives as long as the fuzzer
  std::string path_;
};

// The bytes of a fuzz input as a string_view.
inline absl::string_view Bytes(const uint8_t* data, size_t size) {
  return absl::string_view(reinterpret_cast<const char*>(data), size);
}

// Prints `what` and aborts: a reader broke a promise its header makes
// (errors name the file, two readers agree, ...). libFuzzer reports the abort
// as a crash and keeps the input.
[[noreturn]] void Fail(absl::string_view what);

}  // namespace mnemo::fuzz

#endif  // MNEMO_TESTS_FUZZ_FUZZ_SUPPORT_H_
