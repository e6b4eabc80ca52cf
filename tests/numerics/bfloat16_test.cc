#include "core/bfloat16.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>

#include "gtest/gtest.h"

namespace mnemo {
namespace {

uint32_t Bits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

float FromBits(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

// The magnitude a bfloat16 pattern without its sign stands for, decoded
// from its fields in double arithmetic (exact: at most 8 significant bits).
// Exponent 255 with mantissa 0 is 2^128, where the exponent range would put
// the next value after the largest bfloat16: IEEE rounding to nearest sends
// to infinity what is nearer to it than to the largest finite value.
double Magnitude(uint32_t pattern) {
  const int exponent = static_cast<int>(pattern >> 7);
  const int mantissa = static_cast<int>(pattern & 0x7F);
  if (exponent == 0) return std::ldexp(mantissa, -133);  // denormal: mantissa x 2^(-126-7)
  return std::ldexp(128 + mantissa, exponent - 127 - 7);
}

// Round to nearest, ties to even, by distances: the two bfloat16 magnitudes
// around |value|, and the nearer one (the even one on a tie). Another route
// than FloatToBfloat16's carry trick.
uint16_t ReferenceFloatToBfloat16(float value) {
  const uint32_t bits = Bits(value);
  if ((bits & 0xFFFF) == 0) return static_cast<uint16_t>(bits >> 16);  // exact (infinities too)
  const uint32_t sign = (bits >> 16) & 0x8000;
  const uint32_t below = (bits >> 16) & 0x7FFF;  // toward zero
  const uint32_t above = below + 1;
  const double x = std::fabs(static_cast<double>(value));
  const double down = x - Magnitude(below);
  const double up = Magnitude(above) - x;
  uint32_t nearest;
  if (down < up) {
    nearest = below;
  } else if (up < down) {
    nearest = above;
  } else {
    nearest = (below % 2 == 0) ? below : above;
  }
  return static_cast<uint16_t>(sign | nearest);
}

void ExpectAsReference(float value) {
  ASSERT_EQ(FloatToBfloat16(value), ReferenceFloatToBfloat16(value))
      << "float bits 0x" << std::hex << Bits(value);
}

// Every sign, exponent and upper mantissa (every bfloat16 pattern as the
// upper half), with the lower halves that decide the rounding: zero (exact),
// just below, at and just above the tie, and the extremes. NaNs are checked
// on their own below.
TEST(Bfloat16Test, RoundsEveryUpperHalfToNearestEvenAsTheDistancesSay) {
  const uint32_t lower_halves[] = {0x0000, 0x0001, 0x3FFF, 0x7FFF, 0x8000,
                                   0x8001, 0xC000, 0xFFFE, 0xFFFF};
  int checked = 0;
  for (uint32_t upper = 0; upper <= 0xFFFF; ++upper) {
    if ((upper & 0x7F80) == 0x7F80 && (upper & 0x7F) != 0) continue;  // NaN
    for (const uint32_t lower : lower_halves) {
      const float value = FromBits((upper << 16) | lower);
      if (std::isnan(value)) continue;  // an infinity's upper half with a lower one
      ExpectAsReference(value);
      ++checked;
    }
  }
  EXPECT_GT(checked, 500'000);
}

TEST(Bfloat16Test, RoundsRandomFloatsAsTheReference) {
  std::mt19937 engine(20);
  for (int i = 0; i < 1'000'000; ++i) {
    const float value = FromBits(static_cast<uint32_t>(engine()));
    if (!std::isnan(value)) ExpectAsReference(value);
  }
}

TEST(Bfloat16Test, HandWorkedValues) {
  EXPECT_EQ(FloatToBfloat16(1.0f), 0x3F80);
  EXPECT_EQ(FloatToBfloat16(-2.0f), 0xC000);
  EXPECT_EQ(FloatToBfloat16(0.0f), 0x0000);
  EXPECT_EQ(FloatToBfloat16(-0.0f), 0x8000);
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: to the even one, 1.
  EXPECT_EQ(FloatToBfloat16(1.0f + 0x1.0p-8f), 0x3F80);
  // 1 + 3 x 2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6: up.
  EXPECT_EQ(FloatToBfloat16(1.0f + 3 * 0x1.0p-8f), 0x3F82);
  // Just above the tie rounds up.
  EXPECT_EQ(FloatToBfloat16(1.0f + 0x1.0p-8f + 0x1.0p-23f), 0x3F81);
  // 1/3 = 0x3EAAAAAB: the dropped half 0xAAAB is above the tie.
  EXPECT_EQ(FloatToBfloat16(1.0f / 3.0f), 0x3EAB);
}

TEST(Bfloat16Test, InfinitiesOverflowAndDenormals) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(FloatToBfloat16(inf), 0x7F80);
  EXPECT_EQ(FloatToBfloat16(-inf), 0xFF80);
  // The largest float is past the tie between the largest bfloat16 (0x7F7F)
  // and 2^128: infinity.
  EXPECT_EQ(FloatToBfloat16(std::numeric_limits<float>::max()), 0x7F80);
  EXPECT_EQ(FloatToBfloat16(-std::numeric_limits<float>::max()), 0xFF80);
  // Just below that tie stays finite.
  EXPECT_EQ(FloatToBfloat16(FromBits(0x7F7F7FFF)), 0x7F7F);
  // Denormals are rounded, not flushed: the smallest float is nearer 0, and
  // the smallest bfloat16 denormal (2^-133) stays itself.
  EXPECT_EQ(FloatToBfloat16(std::numeric_limits<float>::denorm_min()), 0x0000);
  EXPECT_EQ(FloatToBfloat16(std::ldexp(1.0f, -133)), 0x0001);
  EXPECT_EQ(Bfloat16ToFloat(0x0001), std::ldexp(1.0f, -133));
  EXPECT_EQ(Bfloat16ToFloat(0x8001), -std::ldexp(1.0f, -133));
  // The largest float denormal rounds up into the smallest normal.
  EXPECT_EQ(FloatToBfloat16(FromBits(0x007FFFFF)), 0x0080);
  EXPECT_EQ(Bfloat16ToFloat(0x7F80), inf);
  EXPECT_EQ(Bfloat16ToFloat(0xFF80), -inf);
}

// A NaN whose payload lies only in the dropped half would become an infinity
// by truncation, and one with an all-ones mantissa would carry into the sign:
// both stay NaNs of their sign.
TEST(Bfloat16Test, NanStaysNanOfItsSign) {
  for (const uint32_t bits : {0x7FC00000u, 0x7F800001u, 0x7FBFFFFFu, 0x7FFFFFFFu, 0xFF800001u,
                              0xFFFFFFFFu, 0xFFC00000u, 0x7F80FFFFu}) {
    const uint16_t narrow = FloatToBfloat16(FromBits(bits));
    EXPECT_TRUE(std::isnan(Bfloat16ToFloat(narrow))) << std::hex << bits;
    EXPECT_EQ(narrow & 0x8000, (bits >> 16) & 0x8000) << std::hex << bits;
  }
  // A quiet NaN's upper payload is kept.
  EXPECT_EQ(FloatToBfloat16(FromBits(0x7FC12345)), 0x7FC1);
}

// Widening is exact and narrowing gives it back: for every pattern but the
// NaNs, whose payload may gain the quiet bit.
TEST(Bfloat16Test, EveryBfloat16WidensExactlyAndRoundTrips) {
  for (uint32_t pattern = 0; pattern <= 0xFFFF; ++pattern) {
    const float wide = Bfloat16ToFloat(static_cast<uint16_t>(pattern));
    ASSERT_EQ(Bits(wide), pattern << 16);
    if (std::isnan(wide)) continue;
    ASSERT_EQ(FloatToBfloat16(wide), pattern) << std::hex << pattern;
  }
}

}  // namespace
}  // namespace mnemo
