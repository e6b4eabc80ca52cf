#ifndef MNEMO_CORE_SYSTEM_MEMORY_H_
#define MNEMO_CORE_SYSTEM_MEMORY_H_

#include <cstdint>

namespace mnemo {

// The memory this process may use: the machine's physical memory, or the
// memory limit of its control group (cgroup v2 memory.max, v1
// memory.limit_in_bytes) when that is smaller. Sizes a config asks for are
// checked against it before they are allocated, so that an absurd one is an
// error naming its field rather than the kernel's out-of-memory kill.
uint64_t UsableMemoryBytes();

}  // namespace mnemo

#endif  // MNEMO_CORE_SYSTEM_MEMORY_H_
