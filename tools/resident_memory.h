#ifndef MNEMO_TOOLS_RESIDENT_MEMORY_H_
#define MNEMO_TOOLS_RESIDENT_MEMORY_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mnemo {

// The process's resident memory, from /proc/self/status.
struct ResidentMemory {
  int64_t current_bytes = 0;  // VmRSS
  int64_t peak_bytes = 0;     // VmHWM: the high-water mark since start or the last reset
};

absl::StatusOr<ResidentMemory> ReadResidentMemory();

// Lowers the high-water mark to the current resident memory (Linux >= 4.0:
// "5" written to /proc/self/clear_refs), so that the peak of one phase of a
// run can be measured on its own.
absl::Status ResetPeakResidentMemory();

}  // namespace mnemo

#endif  // MNEMO_TOOLS_RESIDENT_MEMORY_H_
