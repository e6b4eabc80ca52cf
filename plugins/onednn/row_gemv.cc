#include "plugins/onednn/row_gemv.h"

#include <immintrin.h>

#include <algorithm>
#include <cstddef>

#include "core/avx512_warning_workaround.h"  // first: see there

namespace mnemo::onednn {

#ifdef __AVX512F__

namespace {

constexpr int kLanes = 16;  // floats in a 512-bit register

// Columns [0, 16 * kVectors) of y = b + x W (the last register masked to
// `tail` columns): kVectors accumulators that stay in registers for the
// whole pass over the k rows: their number is fixed at compile time and the
// loops over them unrolled, so that no accumulator lives in memory.
template <int kVectors>
void Block(const float* x, const float* w, const float* b, float* y, int k, int row_stride,
           __mmask16 tail) {
  __m512 acc[kVectors];
#pragma GCC unroll 16
  for (int v = 0; v < kVectors; ++v) {
    acc[v] = _mm512_maskz_loadu_ps(v == kVectors - 1 ? tail : 0xFFFF, b + v * kLanes);
  }
  for (int r = 0; r < k; ++r) {
    const __m512 xr = _mm512_set1_ps(x[r]);
    const float* row = w + static_cast<ptrdiff_t>(r) * row_stride;
#pragma GCC unroll 16
    for (int v = 0; v < kVectors; ++v) {
      const __m512 wv = _mm512_maskz_loadu_ps(v == kVectors - 1 ? tail : 0xFFFF, row + v * kLanes);
      acc[v] = _mm512_fmadd_ps(xr, wv, acc[v]);
    }
  }
#pragma GCC unroll 16
  for (int v = 0; v < kVectors; ++v) {
    _mm512_mask_storeu_ps(y + v * kLanes, v == kVectors - 1 ? tail : 0xFFFF, acc[v]);
  }
}

using BlockFunction = void (*)(const float*, const float*, const float*, float*, int, int,
                               __mmask16);

// kBlockFor[v]: the block of v registers.
constexpr BlockFunction kBlockFor[] = {nullptr,    &Block<1>,  &Block<2>,  &Block<3>,  &Block<4>,
                                       &Block<5>,  &Block<6>,  &Block<7>,  &Block<8>,  &Block<9>,
                                       &Block<10>, &Block<11>, &Block<12>, &Block<13>, &Block<14>,
                                       &Block<15>, &Block<16>};

}  // namespace

bool RowGemvAvailable() { return true; }

void RowGemv(const float* x, const float* w, const float* b, float* y, int k, int n) {
  // 256 columns at a time: 16 accumulators, half the registers, leaving the
  // rest for the loads in flight.
  constexpr int kMaxColumns = 16 * kLanes;
  for (int begin = 0; begin < n; begin += kMaxColumns) {
    const int columns = std::min(kMaxColumns, n - begin);
    const int vectors = (columns + kLanes - 1) / kLanes;
    const int last = columns - (vectors - 1) * kLanes;  // 1..16
    const __mmask16 tail = static_cast<__mmask16>((1u << last) - 1);
    kBlockFor[vectors](x, w + begin, b + begin, y + begin, k, n, tail);
  }
}

#else  // no AVX-512: the layer keeps to oneDNN

bool RowGemvAvailable() { return false; }
void RowGemv(const float*, const float*, const float*, float*, int, int) {}

#endif

}  // namespace mnemo::onednn
