#include "tools/resident_memory.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"

namespace mnemo {
namespace {

constexpr char kStatusPath[] = "/proc/self/status";

// "VmHWM:\t  320744 kB" -> 320744 * 1024.
int64_t KilobyteField(const std::string& line, size_t name_length) {
  return 1024 * std::strtoll(line.c_str() + name_length, nullptr, 10);
}

}  // namespace

absl::StatusOr<ResidentMemory> ReadResidentMemory() {
  std::ifstream status(kStatusPath);
  if (!status) {
    return absl::UnavailableError(
        absl::StrCat("cannot read ", kStatusPath, ": ", std::strerror(errno)));
  }
  ResidentMemory memory;
  bool have_current = false;
  bool have_peak = false;
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      memory.current_bytes = KilobyteField(line, 6);
      have_current = true;
    } else if (line.rfind("VmHWM:", 0) == 0) {
      memory.peak_bytes = KilobyteField(line, 6);
      have_peak = true;
    }
  }
  if (!have_current || !have_peak) {
    return absl::UnavailableError(absl::StrCat(kStatusPath, " has no VmRSS or VmHWM line"));
  }
  return memory;
}

absl::Status ResetPeakResidentMemory() {
  std::ofstream clear_refs("/proc/self/clear_refs");
  if (clear_refs) clear_refs << "5";
  clear_refs.close();
  if (!clear_refs) {
    return absl::UnavailableError(absl::StrCat(
        "cannot reset the peak resident memory: writing \"5\" to /proc/self/clear_refs "
        "failed (",
        std::strerror(errno), "); it needs Linux 4.0 or later"));
  }
  return absl::OkStatus();
}

}  // namespace mnemo
