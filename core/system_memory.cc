#include "core/system_memory.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <string>

#include "absl/strings/numbers.h"

namespace mnemo {
namespace {

// A limit file's number; 0 when absent or "max".
uint64_t LimitIn(const char* path) {
  std::ifstream in(path);
  std::string text;
  uint64_t limit = 0;
  if (in >> text && absl::SimpleAtoi(text, &limit)) return limit;
  return 0;
}

}  // namespace

uint64_t UsableMemoryBytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGESIZE);
  uint64_t usable = pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * page : UINT64_MAX;
  for (const char* path :
       {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    if (const uint64_t limit = LimitIn(path); limit > 0) usable = std::min(usable, limit);
  }
  return usable;
}

}  // namespace mnemo
