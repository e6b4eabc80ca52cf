#include "plugins/onednn/runtime.h"

#include <omp.h>

#if defined(__SANITIZE_ADDRESS__)  // gcc's -fsanitize=address (LeakSanitizer included)
#include <sanitizer/lsan_interface.h>
#define MNEMO_LSAN 1
#endif

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "core/status_macros.h"
#include "plugins/onednn/status.h"

namespace mnemo::onednn {
namespace {

// Below these a second thread costs more than it saves (measured on the
// 2-core machine of notes/anchors.md: an OpenMP region's start and barrier
// take about a microsecond with a spinning team, tens when a worker sleeps
// or another process holds its core). In floating-point operations for a
// GEMM (2 MFLOP is about 10 us on one core) and floats for an element-wise
// pass (128 KiB).
constexpr double kFlopsPerThread = 2e6;
constexpr int64_t kElementsPerThread = 32 * 1024;

// oneDNN's kernels want 64-byte alignment (a cache line, an AVX-512 vector).
constexpr size_t kAlignment = 64;

struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};

}  // namespace

absl::StatusOr<const dnnl::engine*> Engine() {
  // Created once; a failure (no usable CPU engine) is returned to every caller.
  static const absl::StatusOr<const dnnl::engine*>* const engine =
      new absl::StatusOr<const dnnl::engine*>([]() -> absl::StatusOr<const dnnl::engine*> {
        const dnnl::engine* created = nullptr;
        absl::Status status = Guarded("creating the oneDNN CPU engine", [&] {
          created = new dnnl::engine(dnnl::engine::kind::cpu, 0);
          return absl::OkStatus();
        });
        if (!status.ok()) return status;
        return created;
      }());
  return *engine;
}

absl::StatusOr<dnnl::stream*> ThreadStream() {
  thread_local std::unique_ptr<dnnl::stream> stream;
  if (stream == nullptr) {
    MNEMO_ASSIGN_OR_RETURN(const dnnl::engine* engine, Engine());
    absl::Status status = Guarded("creating a oneDNN stream", [&] {
      stream = std::make_unique<dnnl::stream>(*engine);
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
  }
  return stream.get();
}

int CoreCount() { return std::max(1, omp_get_num_procs()); }

void UseThreads(int threads) {
  if (threads < 1) threads = 1;
  if (omp_get_max_threads() == threads) return;
#ifdef MNEMO_LSAN
  // The first setting a thread makes, libgomp keeps in a block of its own
  // that only the thread's thread-local storage points to, which LeakSanitizer
  // cannot scan in libgomp's threads (tests/onednn/BUILD: use_tls=0): this
  // block, and nothing else, is not to be reported.
  __lsan::ScopedDisabler not_a_leak;
#endif
  omp_set_num_threads(threads);
}

int TeamSize(int threads) {
  UseThreads(threads);
  int team = 0;
#pragma omp parallel
  {
#pragma omp single
    team = omp_get_num_threads();
  }
  return team;
}

int ThreadsForFlops(double flops, int max_threads) {
  const double useful = std::max(1.0, flops / kFlopsPerThread);
  return static_cast<int>(std::min<double>(std::max(1, max_threads), useful));
}

int ThreadsForElements(int64_t elements, int max_threads) {
  const int64_t useful = std::max<int64_t>(1, elements / kElementsPerThread);
  return static_cast<int>(std::min<int64_t>(std::max(1, max_threads), useful));
}

absl::StatusOr<void*> ThreadBuffer(ThreadBufferSlot slot, size_t bytes) {
  thread_local std::unique_ptr<void, AlignedFree> buffers[kThreadBufferSlots];
  thread_local size_t capacities[kThreadBufferSlots] = {};
  std::unique_ptr<void, AlignedFree>& buffer = buffers[static_cast<int>(slot)];
  size_t& capacity = capacities[static_cast<int>(slot)];
  if (bytes > capacity) {
    // Rounded up to whole alignment units, as aligned_alloc requires; grown
    // with headroom so that a slowly rising need does not reallocate often.
    const size_t wanted =
        (std::max(bytes, capacity + capacity / 2) + kAlignment - 1) / kAlignment * kAlignment;
    void* p = std::aligned_alloc(kAlignment, wanted);
    if (p == nullptr) {
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot allocate a oneDNN working buffer of ", wanted, " bytes"));
    }
    buffer.reset(p);
    capacity = wanted;
    GetCounters().scratchpad_growths.fetch_add(1, std::memory_order_relaxed);
  }
  return buffer.get();
}

absl::StatusOr<void*> ThreadScratchpad(size_t bytes) {
  return ThreadBuffer(ThreadBufferSlot::kScratchpad, bytes);
}

absl::Status Bind(const dnnl::memory& memory, const void* data) {
  // oneDNN takes a non-const handle for inputs as well; it does not write them.
  return FromDnnl(
      dnnl_memory_set_data_handle(memory.get(/*allow_empty=*/true), const_cast<void*>(data)),
      "binding a tensor to oneDNN memory");
}

absl::Status Execute(const dnnl::primitive& primitive, absl::Span<const dnnl_exec_arg_t> args) {
  MNEMO_ASSIGN_OR_RETURN(dnnl::stream * stream, ThreadStream());
  return FromDnnl(
      dnnl_primitive_execute(primitive.get(/*allow_empty=*/true), stream->get(/*allow_empty=*/true),
                             static_cast<int>(args.size()), args.data()),
      "executing a oneDNN primitive");
}

absl::Status ExecuteWithScratchpad(const dnnl::primitive& primitive,
                                   absl::Span<const dnnl_exec_arg_t> args,
                                   const dnnl::memory& scratchpad, size_t scratchpad_bytes) {
  if (scratchpad_bytes == 0) return Execute(primitive, args);
  constexpr size_t kMaxArgs = 16;
  if (args.size() >= kMaxArgs) {
    return absl::InternalError(
        absl::StrCat("a oneDNN primitive with ", args.size(), " arguments and a scratchpad"));
  }
  dnnl_exec_arg_t all[kMaxArgs];
  std::copy(args.begin(), args.end(), all);
  MNEMO_ASSIGN_OR_RETURN(void* scratch, ThreadScratchpad(scratchpad_bytes));
  MNEMO_RETURN_IF_ERROR(Bind(scratchpad, scratch));
  all[args.size()] = {DNNL_ARG_SCRATCHPAD, scratchpad.get()};
  return Execute(primitive, absl::MakeConstSpan(all, args.size() + 1));
}

Counters& GetCounters() {
  static Counters* const counters = new Counters;
  return *counters;
}

}  // namespace mnemo::onednn
