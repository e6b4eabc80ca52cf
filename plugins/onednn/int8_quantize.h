#ifndef MNEMO_PLUGINS_ONEDNN_INT8_QUANTIZE_H_
#define MNEMO_PLUGINS_ONEDNN_INT8_QUANTIZE_H_

// The two float ends of an int8 product (int8_linear.h): rows of floats
// quantized to int8 on the way in, int32 sums turned back into floats on the
// way out. Both int8 kernels (vnni_gemv.h and oneDNN's matmul) use these very
// operations, so that they give the same floats from the same int32 sums.
//

#include <cstdint>

#include "core/avx512_warning_workaround.h"  // first: see there

// The instruction sets the int8 code is compiled for (-march=native): AVX-512
// with byte/word ops (BW, VL) and VNNI's dot products of bytes. Without
// them, Int8Linear::Available() is false and these functions do nothing.
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && \
    defined(__AVX512VNNI__)
#define MNEMO_ONEDNN_INT8 1
#endif

namespace mnemo::onednn {

// q (m rows of `q_stride` >= k bytes) = x (m x k, row-major) quantized
// symmetrically to [-127, 127], a scale per row in row_scale[i]:
//   input_scale > 0: that scale for every row (static);
//   input_scale == 0: max_r |x[i][r]| / 127 (dynamic, in float), 0 for an
//   all-zero row, whose q is then all zeros;
//   q[i][r] = clamp(round_half_even(x[i][r] * (1 / scale)), -127, 127) in
//   float, the reciprocal rounded to float once (x[i][r] / scale where the
//   reciprocal overflows, a scale below about 2^-128). A product, not a
//   division, for speed: it differs from x / scale by an ulp at most, which
//   moves q only where x / scale is within an ulp of a half-integer.
// Bytes [k, q_stride) of each row are set to 0. x must be finite.
void QuantizeRows(int m, int k, const float* x, float input_scale, int8_t* q, int q_stride,
                  float* row_scale);

#ifdef MNEMO_ONEDNN_INT8
// 16 outputs of row i from their int32 sums:
//   y[j] = fma(float(sum[j]), row_scale * weight_scale[j], bias[j])
// (bias 0 where `bias` is null); `weight_scale` and `bias` read under `lanes`.
inline __m512 Dequantize16(__m512i sum, float row_scale, const float* weight_scale,
                           const float* bias, __mmask16 lanes) {
  const __m512 scale =
      _mm512_mul_ps(_mm512_set1_ps(row_scale), _mm512_maskz_loadu_ps(lanes, weight_scale));
  const __m512 b = bias != nullptr ? _mm512_maskz_loadu_ps(lanes, bias) : _mm512_setzero_ps();
  return _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), scale, b);
}
#endif

// y (m x n) from the int32 sums (m x n, row-major) by Dequantize16.
void DequantizeRows(int m, int n, const int32_t* sums, const float* row_scale,
                    const float* weight_scale, const float* bias, float* y);

}  // namespace mnemo::onednn

#endif  // MNEMO_PLUGINS_ONEDNN_INT8_QUANTIZE_H_
