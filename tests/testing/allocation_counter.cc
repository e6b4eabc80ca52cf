#include "tests/testing/allocation_counter.h"

#include <errno.h>
#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

// glibc's allocator under its own names: what the interposed functions
// forward to (calling malloc here would call ourselves).
extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t count, size_t size);
void* __libc_realloc(void* pointer, size_t size);
void* __libc_memalign(size_t alignment, size_t size);
void __libc_free(void* pointer);
}

namespace {

std::atomic<bool> counting{false};
std::atomic<int64_t> operator_new_calls{0};
std::atomic<int64_t> c_allocation_calls{0};

void CountC() {
  if (counting.load(std::memory_order_relaxed)) {
    c_allocation_calls.fetch_add(1, std::memory_order_relaxed);
  }
}

void* New(size_t size) {
  if (counting.load(std::memory_order_relaxed)) {
    operator_new_calls.fetch_add(1, std::memory_order_relaxed);
  }
  // operator new(0) must return a unique pointer.
  return __libc_malloc(size == 0 ? 1 : size);
}

// Out of memory in a test: abort rather than throw (the project has no
// exceptions; the test fails either way).
void* NewOrAbort(size_t size) {
  void* p = New(size);
  if (p == nullptr) std::abort();
  return p;
}

void* AlignedNew(size_t size, std::align_val_t alignment) {
  if (counting.load(std::memory_order_relaxed)) {
    operator_new_calls.fetch_add(1, std::memory_order_relaxed);
  }
  return __libc_memalign(static_cast<size_t>(alignment), size == 0 ? 1 : size);
}

void* AlignedNewOrAbort(size_t size, std::align_val_t alignment) {
  void* p = AlignedNew(size, alignment);
  if (p == nullptr) std::abort();
  return p;
}

bool IsPowerOfTwo(size_t n) { return n != 0 && (n & (n - 1)) == 0; }

}  // namespace

namespace mnemo::testing {

AllocationScope::AllocationScope() {
  operator_new_calls.store(0);
  c_allocation_calls.store(0);
  counting.store(true);
}

AllocationScope::~AllocationScope() { counting.store(false); }

AllocationCounts AllocationScope::counts() const {
  AllocationCounts counts;
  counts.operator_new = operator_new_calls.load();
  counts.c_allocations = c_allocation_calls.load();
  return counts;
}

}  // namespace mnemo::testing

// The C allocation functions. free needs no interposing: glibc frees what
// its own allocator returned.
extern "C" {

void* malloc(size_t size) noexcept {
  CountC();
  return __libc_malloc(size);
}

void* calloc(size_t count, size_t size) noexcept {
  CountC();
  return __libc_calloc(count, size);
}

void* realloc(void* pointer, size_t size) noexcept {
  CountC();
  return __libc_realloc(pointer, size);
}

void* memalign(size_t alignment, size_t size) noexcept {
  CountC();
  return __libc_memalign(alignment, size);
}

void* aligned_alloc(size_t alignment, size_t size) noexcept {
  CountC();
  return __libc_memalign(alignment, size);
}

int posix_memalign(void** out, size_t alignment, size_t size) noexcept {
  CountC();
  if (!IsPowerOfTwo(alignment) || alignment % sizeof(void*) != 0) return EINVAL;
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}

void* valloc(size_t size) noexcept {
  CountC();
  return __libc_memalign(static_cast<size_t>(sysconf(_SC_PAGESIZE)), size);
}

void* pvalloc(size_t size) noexcept {
  CountC();
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return __libc_memalign(page, (size + page - 1) / page * page);
}

}  // extern "C"

// Every replaceable form of the global operator new, and the deletes that
// pair with them (freeing through glibc, which allocated).
void* operator new(size_t size) { return NewOrAbort(size); }
void* operator new[](size_t size) { return NewOrAbort(size); }
void* operator new(size_t size, const std::nothrow_t&) noexcept { return New(size); }
void* operator new[](size_t size, const std::nothrow_t&) noexcept { return New(size); }
void* operator new(size_t size, std::align_val_t alignment) {
  return AlignedNewOrAbort(size, alignment);
}
void* operator new[](size_t size, std::align_val_t alignment) {
  return AlignedNewOrAbort(size, alignment);
}
void* operator new(size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
  return AlignedNew(size, alignment);
}
void* operator new[](size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
  return AlignedNew(size, alignment);
}

void operator delete(void* p) noexcept { __libc_free(p); }
void operator delete[](void* p) noexcept { __libc_free(p); }
void operator delete(void* p, size_t) noexcept { __libc_free(p); }
void operator delete[](void* p, size_t) noexcept { __libc_free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { __libc_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { __libc_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { __libc_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { __libc_free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { __libc_free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { __libc_free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { __libc_free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  __libc_free(p);
}
