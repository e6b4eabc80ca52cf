#include "plugins/onednn/vnni_gemv.h"

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "core/avx512_warning_workaround.h"  // first: see there
#include "plugins/onednn/int8_quantize.h"

namespace mnemo::onednn {

namespace {
constexpr int kLanes = 16;     // int32 (or float) lanes of a 512-bit register
constexpr int kGroupRows = 4;  // k rows a vpdpbusd sums per lane
}  // namespace

void VnniWeights::Pack(const int8_t* w, int k, int n) {
  k_ = k;
  n_ = n;
  groups_ = (k + kGroupRows - 1) / kGroupRows;
  vectors_ = (n + kLanes - 1) / kLanes;
  const size_t blocks = static_cast<size_t>(groups_) * vectors_;
  if (blocks_.size() < blocks) blocks_.resize(blocks);
  const size_t columns = static_cast<size_t>(vectors_) * kLanes;
  if (offsets_.size() < columns) offsets_.resize(columns);
  std::fill(offsets_.begin(), offsets_.begin() + columns, 0);
  for (int g = 0; g < groups_; ++g) {
    for (int v = 0; v < vectors_; ++v) {
      int8_t* block = blocks_[static_cast<size_t>(g) * vectors_ + v].bytes;
      std::memset(block, 0, sizeof(Block));
      for (int t = 0; t < kGroupRows && kGroupRows * g + t < k; ++t) {
        const int8_t* row = w + static_cast<ptrdiff_t>(kGroupRows * g + t) * n;
        for (int c = 0; c < kLanes && kLanes * v + c < n; ++c) {
          block[kGroupRows * c + t] = row[kLanes * v + c];
          offsets_[kLanes * v + c] -= 128 * row[kLanes * v + c];
        }
      }
    }
  }
}

#ifdef MNEMO_ONEDNN_INT8

namespace {

// acc + vpdpbusd(x, the 64 bytes at w). As inline assembly: GCC 12 keeps the
// intrinsic's accumulators in registers of its own and copies all of them
// back at every iteration (32 extra moves and a spill per group of 4 rows
// at 16 accumulators, measured 3x slower); "+v" ties each accumulator to
// one register for the whole loop.
inline __m512i Dpbusd(__m512i acc, __m512i x, const int8_t* w) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(x), "m"(*reinterpret_cast<const __m512i*>(w)));
  return acc;
}

// The same with the weights in a register (shared by several rows).
inline __m512i Dpbusd(__m512i acc, __m512i x, __m512i w) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(x), "v"(w));
  return acc;
}

// Rows [0, kRows) and vector columns [0, kVectors) (the last one's stores
// under `tail`): kRows * kVectors accumulators, fixed at compile time and
// their loops unrolled so that none lives in memory. `blocks` points at
// block (0, first vector); a group's blocks are `group_stride` bytes apart.
template <int kRows, int kVectors>
void Block(const int8_t* q, ptrdiff_t q_stride, const float* row_scale, const int8_t* blocks,
           ptrdiff_t group_stride, const int32_t* offsets, int groups, const float* weight_scale,
           const float* bias, float* y, ptrdiff_t y_stride, __mmask16 tail) {
  __m512i acc[kRows][kVectors];
#pragma GCC unroll 16
  for (int v = 0; v < kVectors; ++v) {
    const __m512i start = _mm512_loadu_si512(offsets + v * kLanes);
#pragma GCC unroll 4
    for (int i = 0; i < kRows; ++i) acc[i][v] = start;
  }
  const __m512i flip = _mm512_set1_epi32(static_cast<int>(0x80808080u));  // q + 128 as uint8
  for (int g = 0; g < groups; ++g) {
    __m512i x[kRows];
#pragma GCC unroll 4
    for (int i = 0; i < kRows; ++i) {
      int32_t four;
      std::memcpy(&four, q + i * q_stride + kGroupRows * g, sizeof(four));
      x[i] = _mm512_xor_si512(_mm512_set1_epi32(four), flip);
    }
    const int8_t* group = blocks + g * group_stride;
#pragma GCC unroll 16
    for (int v = 0; v < kVectors; ++v) {
      if constexpr (kRows == 1) {
        acc[0][v] = Dpbusd(acc[0][v], x[0], group + v * 64);  // the load folded in
      } else {
        const __m512i wv = _mm512_load_si512(group + v * 64);
#pragma GCC unroll 4
        for (int i = 0; i < kRows; ++i) acc[i][v] = Dpbusd(acc[i][v], x[i], wv);
      }
    }
  }
#pragma GCC unroll 4
  for (int i = 0; i < kRows; ++i) {
#pragma GCC unroll 16
    for (int v = 0; v < kVectors; ++v) {
      const __mmask16 lanes = v == kVectors - 1 ? tail : 0xFFFF;
      const float* b = bias != nullptr ? bias + v * kLanes : nullptr;
      _mm512_mask_storeu_ps(
          y + i * y_stride + v * kLanes, lanes,
          Dequantize16(acc[i][v], row_scale[i], weight_scale + v * kLanes, b, lanes));
    }
  }
}

using BlockFunction = void (*)(const int8_t*, ptrdiff_t, const float*, const int8_t*, ptrdiff_t,
                               const int32_t*, int, const float*, const float*, float*, ptrdiff_t,
                               __mmask16);

// kBlocksN[v]: the block of N rows and v vectors.
constexpr BlockFunction kBlocks1[] = {
    nullptr,       &Block<1, 1>,  &Block<1, 2>,  &Block<1, 3>,  &Block<1, 4>,  &Block<1, 5>,
    &Block<1, 6>,  &Block<1, 7>,  &Block<1, 8>,  &Block<1, 9>,  &Block<1, 10>, &Block<1, 11>,
    &Block<1, 12>, &Block<1, 13>, &Block<1, 14>, &Block<1, 15>, &Block<1, 16>};
constexpr BlockFunction kBlocks2[] = {nullptr,      &Block<2, 1>, &Block<2, 2>,
                                      &Block<2, 3>, &Block<2, 4>, &Block<2, 5>,
                                      &Block<2, 6>, &Block<2, 7>, &Block<2, 8>};
constexpr BlockFunction kBlocks4[] = {nullptr, &Block<4, 1>, &Block<4, 2>, &Block<4, 3>,
                                      &Block<4, 4>};

// Rows [0, rows) of y, rows one of 1, 2, 4: column blocks of up to 16 / rows
// vectors.
void Rows(int rows, const int8_t* q, int q_stride, const float* row_scale, const VnniWeights& w,
          const float* weight_scale, const float* bias, float* y) {
  const BlockFunction* table = rows == 4 ? kBlocks4 : rows == 2 ? kBlocks2 : kBlocks1;
  const int max_vectors = kLanes / rows;
  const ptrdiff_t group_stride = static_cast<ptrdiff_t>(w.vectors()) * 64;
  for (int first = 0; first < w.vectors(); first += max_vectors) {
    const int vectors = std::min(max_vectors, w.vectors() - first);
    const int begin = first * kLanes;
    const int last = std::min(w.n() - begin, vectors * kLanes) - (vectors - 1) * kLanes;  // 1..16
    const __mmask16 tail = static_cast<__mmask16>((1u << last) - 1);
    table[vectors](q, q_stride, row_scale, w.blocks() + static_cast<ptrdiff_t>(first) * 64,
                   group_stride, w.offsets() + begin, w.groups(), weight_scale + begin,
                   bias != nullptr ? bias + begin : nullptr, y + begin, w.n(), tail);
  }
}

}  // namespace

void VnniGemv(int m, const int8_t* q, int q_stride, const float* row_scale, const VnniWeights& w,
              const float* weight_scale, const float* bias, float* y) {
  int i = 0;
  for (const int rows : {4, 2, 1}) {
    for (; i + rows <= m; i += rows) {
      Rows(rows, q + static_cast<ptrdiff_t>(i) * q_stride, q_stride, row_scale + i, w, weight_scale,
           bias, y + static_cast<ptrdiff_t>(i) * w.n());
    }
  }
}

#else  // no AVX-512 VNNI: Int8Linear::Available() is false and nothing calls this

void VnniGemv(int, const int8_t*, int, const float*, const VnniWeights&, const float*, const float*,
              float*) {}

#endif

}  // namespace mnemo::onednn
