#ifndef MNEMO_CORE_SPLITMIX64_H_
#define MNEMO_CORE_SPLITMIX64_H_

// SplitMix64 (Steele, Lea, Flood 2014), the one source of the counter-based
// random numbers core draws: DeriveSeed's streams (core/init.h), dropout's
// masks, the epoch shuffle and data augmentation. Tiny, fast and identical
// on every machine and standard library, unlike the std:: engines and
// distributions, whose sequences are implementation-defined.

#include <cstdint>

namespace mnemo {

// SplitMix64's increment (2^64 / the golden ratio, odd).
inline constexpr uint64_t kGoldenGamma = 0x9E3779B97F4A7C15ULL;

// SplitMix64's output function: every input bit reaches every output bit, so
// consecutive inputs give independent-looking outputs.
inline uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Output number `index` (0-based) of a SplitMix64 generator started at
// `state`, computed directly (the state advances by a constant), so that any
// output can be drawn alone and in any order.
inline uint64_t SplitMix64At(uint64_t state, uint64_t index) {
  return Mix64(state + (index + 1) * kGoldenGamma);
}

// The generator itself, for a short sequence of draws from one seed.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}

  uint64_t Next() { return Mix64(state_ += kGoldenGamma); }

  // Uniform in [0, bound), bound > 0, without modulo bias (Lemire's method).
  uint32_t Below(uint32_t bound) {
    uint64_t product = (Next() >> 32) * bound;
    uint32_t low = static_cast<uint32_t>(product);
    if (low < bound) {
      const uint32_t threshold = -bound % bound;
      while (low < threshold) {
        product = (Next() >> 32) * bound;
        low = static_cast<uint32_t>(product);
      }
    }
    return static_cast<uint32_t>(product >> 32);
  }

  // Uniform in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

}  // namespace mnemo

#endif  // MNEMO_CORE_SPLITMIX64_H_
