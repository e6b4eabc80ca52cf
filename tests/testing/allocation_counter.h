#ifndef MNEMO_TESTS_TESTING_ALLOCATION_COUNTER_H_
#define MNEMO_TESTS_TESTING_ALLOCATION_COUNTER_H_

// Counts heap allocations, for tests that promise none. Linking
// //tests/testing:allocation_counter into a test binary replaces the global
// operator new (every form) and interposes the C allocation functions
// (malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign, valloc,
// pvalloc): the executable defines them, so the dynamic linker resolves every
// library's calls to them here too, libmnemo_core.so's and Eigen's (whose
// aligned allocations go through malloc) included. They count, then forward
// to glibc's allocator.
//
// Only a test binary may link it: one per process, and nothing else in the
// binary may replace operator new or malloc.

#include <cstdint>

namespace mnemo::testing {

struct AllocationCounts {
  int64_t operator_new = 0;   // global operator new / new[] calls
  int64_t c_allocations = 0;  // malloc-family calls not made by our operator new
  int64_t total() const { return operator_new + c_allocations; }
};

// Counts the allocations made, on any thread, while it lives. Scopes do not
// nest.
class AllocationScope {
 public:
  AllocationScope();
  ~AllocationScope();
  AllocationScope(const AllocationScope&) = delete;
  AllocationScope& operator=(const AllocationScope&) = delete;

  // So far.
  AllocationCounts counts() const;
};

}  // namespace mnemo::testing

#endif  // MNEMO_TESTS_TESTING_ALLOCATION_COUNTER_H_
