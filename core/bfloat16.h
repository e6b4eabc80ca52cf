#ifndef MNEMO_CORE_BFLOAT16_H_
#define MNEMO_CORE_BFLOAT16_H_

#include <cstdint>
#include <cstring>

namespace mnemo {

// bfloat16 is the upper half of an IEEE float32: the same sign and 8-bit
// exponent, 7 mantissa bits. Values travel as their uint16_t bit patterns
// (as in a safetensors BF16 tensor), not as a type of their own.

// The bfloat16 nearest to `value`, ties to even (as PyTorch's and the AVX-512
// BF16 instructions' conversions round): finite floats beyond the largest
// bfloat16 become infinities of their sign, denormals are rounded like any
// other value (not flushed to zero), and a NaN stays a NaN of its sign (its
// payload truncated, made quiet so that it cannot become an infinity).
inline uint16_t FloatToBfloat16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) {
    return static_cast<uint16_t>((bits >> 16) | 0x0040u);
  }
  // Adding just under half a unit of the kept part (just half when that part
  // is odd) carries into it exactly when the dropped half rounds up. Cannot
  // overflow: the largest non-NaN pattern is 0xFF800000.
  const uint32_t rounding = 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

// Exact: every bfloat16 is a float.
inline float Bfloat16ToFloat(uint16_t bits) {
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &wide, sizeof(value));
  return value;
}

}  // namespace mnemo

#endif  // MNEMO_CORE_BFLOAT16_H_
