#ifndef MNEMO_PLUGINS_ONEDNN_RUNTIME_H_
#define MNEMO_PLUGINS_ONEDNN_RUNTIME_H_

// What every oneDNN computation of the plugin shares: the CPU engine, a
// stream per thread, the OpenMP thread settings, a scratchpad per thread, and
// counters that show what the plugin did (Backend::counters()).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <oneapi/dnnl/dnnl.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace mnemo::onednn {

// The process's CPU engine, created on first use and never destroyed (layers
// and primitives made from it may live until exit).
absl::StatusOr<const dnnl::engine*> Engine();

// The calling thread's stream on Engine(). A stream per thread rather than
// one for the process: a oneDNN stream is not meant to be executed on from
// several threads at once, and networks may run on several.
absl::StatusOr<dnnl::stream*> ThreadStream();

// Cores OpenMP may use (its affinity mask respected): the default thread count.
int CoreCount();

// Makes the calling thread's next OpenMP parallel regions, and so oneDNN's
// work started from it, use `threads` threads. Costs a thread-local read when
// the setting is already right, so it is called before every execution.
void UseThreads(int threads);

// UseThreads(threads), then the size of the team an OpenMP parallel region
// actually gets on this thread: what the runtime grants, not what was asked.
int TeamSize(int threads);

// Threads worth starting for `flops` floating-point operations, at most
// `max_threads`: one below the size where a parallel region's start and
// barrier (microseconds, more when another process holds a core) cost more
// than splitting the work saves.
int ThreadsForFlops(double flops, int max_threads);

// The same for an element-wise pass over `elements` floats.
int ThreadsForElements(int64_t elements, int max_threads);

// This thread's scratchpad of at least `bytes` bytes (aligned for oneDNN),
// shared by every primitive run from the thread: primitives are created
// with a user-managed scratchpad, so oneDNN allocates none per execution,
// and a thread's primitives, which never run at once, need one buffer of the
// largest size rather than one each. It only grows.
absl::StatusOr<void*> ThreadScratchpad(size_t bytes);

// This thread's working buffers: the scratchpad above, and the operands of
// one product converted to bf16 (a layer's input or gradient, and the
// gradient of its output), which live only while that product runs. One per
// slot and thread, shared by every layer, so a model in BF16 holds two
// converted operands per thread rather than a copy of each activation. Each
// only grows (aligned for oneDNN).
enum class ThreadBufferSlot { kScratchpad = 0, kBf16First = 1, kBf16Second = 2 };
inline constexpr int kThreadBufferSlots = 3;
absl::StatusOr<void*> ThreadBuffer(ThreadBufferSlot slot, size_t bytes);

// Points `memory` (made with DNNL_MEMORY_NONE) at `data`, without a copy.
absl::Status Bind(const dnnl::memory& memory, const void* data);

// Executes `primitive` on this thread's stream with `args` through oneDNN's C
// API, which takes the arguments as an array: the C++ API's std::unordered_map
// would be built on the heap at every call.
absl::Status Execute(const dnnl::primitive& primitive, absl::Span<const dnnl_exec_arg_t> args);

// Execute, with this thread's scratchpad (ThreadScratchpad) bound to
// `scratchpad` and passed as DNNL_ARG_SCRATCHPAD after `args` when the
// primitive wants one (`scratchpad_bytes` > 0). At most 15 `args`.
absl::Status ExecuteWithScratchpad(const dnnl::primitive& primitive,
                                   absl::Span<const dnnl_exec_arg_t> args,
                                   const dnnl::memory& scratchpad, size_t scratchpad_bytes);

// What the plugin did since the process started, for Backend::counters().
struct Counters {
  std::atomic<uint64_t> primitives_created{0};  // ours, each once per shape
  std::atomic<uint64_t> weight_packs{0};        // reorders of weights into a packed layout
  std::atomic<uint64_t> scratchpad_growths{0};  // allocations of a thread's scratchpad
  std::atomic<uint64_t> fallbacks{0};           // computations redone by the Eigen reference
  std::atomic<uint64_t> similarity_gemms{0};    // Backend::MatMulTransposed calls
};
Counters& GetCounters();

}  // namespace mnemo::onednn

#endif  // MNEMO_PLUGINS_ONEDNN_RUNTIME_H_
