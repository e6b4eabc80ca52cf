#ifndef MNEMO_CORE_AVX512_WARNING_WORKAROUND_H_
#define MNEMO_CORE_AVX512_WARNING_WORKAROUND_H_

// Include first in a .cc file that inlines Eigen's vectorised kernels (GEMM,
// exp, sqrt, ...), before any header that pulls in Eigen.
//
// GCC 12 warns "'__Y' may be used uninitialized" in <avx512fintrin.h>
// wherever an AVX-512 intrinsic built on _mm512_undefined_ps() is inlined
// into user code with -march=native (GCC bug 105593, fixed in GCC 13). The
// self-initialisation is deliberate, so the warning is silenced for the
// intrinsics headers only: GCC applies a diagnostic pragma by the location
// the warning points at, which is inside those headers, and our own code
// keeps -Wuninitialized.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif

#endif  // MNEMO_CORE_AVX512_WARNING_WORKAROUND_H_
