#include "plugins/onednn/int8_quantize.h"

#include <cmath>
#include <cstddef>
#include <cstring>

#include "core/avx512_warning_workaround.h"  // first: see there

namespace mnemo::onednn {

#ifdef MNEMO_ONEDNN_INT8

namespace {

constexpr int kLanes = 16;

__mmask16 Lanes(int count) {
  return count >= kLanes ? static_cast<__mmask16>(0xFFFF)
                         : static_cast<__mmask16>((1u << count) - 1);
}

float MaxAbs(int k, const float* x) {
  __m512 max = _mm512_setzero_ps();
  for (int r = 0; r < k; r += kLanes) {
    max = _mm512_max_ps(max, _mm512_abs_ps(_mm512_maskz_loadu_ps(Lanes(k - r), x + r)));
  }
  return _mm512_reduce_max_ps(max);
}

}  // namespace

void QuantizeRows(int m, int k, const float* x, float input_scale, int8_t* q, int q_stride,
                  float* row_scale) {
  const __m512 low = _mm512_set1_ps(-127.0f);
  const __m512 high = _mm512_set1_ps(127.0f);
  for (int i = 0; i < m; ++i) {
    const float* row = x + static_cast<ptrdiff_t>(i) * k;
    int8_t* out = q + static_cast<ptrdiff_t>(i) * q_stride;
    const float scale = input_scale > 0.0f ? input_scale : MaxAbs(k, row) / 127.0f;
    row_scale[i] = scale;
    if (scale == 0.0f) {
      std::memset(out, 0, q_stride);
      continue;
    }
    // A product with the reciprocal rather than a division (a division of
    // 16 floats costs several cycles: QuantizeRows' time at batch 256),
    // unless the reciprocal overflows (a scale below about 2^-128), where a
    // product with infinity would make 0 a NaN.
    const float inverse = 1.0f / scale;
    const bool divide = !std::isfinite(inverse);
    const __m512 factor = _mm512_set1_ps(divide ? scale : inverse);
    for (int r = 0; r < k; r += kLanes) {
      const __mmask16 lanes = Lanes(k - r);
      const __m512 in = _mm512_maskz_loadu_ps(lanes, row + r);
      const __m512 v = divide ? _mm512_div_ps(in, factor) : _mm512_mul_ps(in, factor);
      // Clamped before rounding: the same as after, the bounds being
      // integers, and no float beyond int32 reaches the conversion. The
      // conversion rounds as MXCSR says: to nearest, ties to even.
      const __m512i rounded = _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(v, low), high));
      _mm_mask_storeu_epi8(out + r, lanes, _mm512_cvtepi32_epi8(rounded));
    }
    if (q_stride > k) std::memset(out + k, 0, q_stride - k);
  }
}

void DequantizeRows(int m, int n, const int32_t* sums, const float* row_scale,
                    const float* weight_scale, const float* bias, float* y) {
  for (int i = 0; i < m; ++i) {
    const ptrdiff_t offset = static_cast<ptrdiff_t>(i) * n;
    for (int j = 0; j < n; j += kLanes) {
      const __mmask16 lanes = Lanes(n - j);
      const __m512i sum = _mm512_maskz_loadu_epi32(lanes, sums + offset + j);
      _mm512_mask_storeu_ps(y + offset + j, lanes,
                            Dequantize16(sum, row_scale[i], weight_scale + j,
                                         bias != nullptr ? bias + j : nullptr, lanes));
    }
  }
}

#else  // no AVX-512 VNNI: Int8Linear::Available() is false and nothing calls these

void QuantizeRows(int, int, const float*, float, int8_t*, int, float*) {}
void DequantizeRows(int, int, const int32_t*, const float*, const float*, const float*, float*) {}

#endif

}  // namespace mnemo::onednn
