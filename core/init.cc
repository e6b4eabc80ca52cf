#include "core/init.h"

#include <cmath>
#include <cstdint>

#include "core/splitmix64.h"

namespace mnemo {
namespace {

uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// xoshiro256** (Blackman, Vigna 2018): fast, with a 256-bit state, and its
// output is fully specified, unlike the std:: distributions.
class Xoshiro256 {
 public:
  explicit Xoshiro256(uint64_t seed) {
    // Seeded through SplitMix64, as the authors recommend: never all zero.
    for (uint64_t& word : s_) {
      seed += kGoldenGamma;
      word = Mix64(seed);
    }
  }

  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

  // Uniform in (0, 1]: safe to take the log of.
  double UniformOpenZero() {
    return static_cast<double>((Next() >> 11) + 1) * 0x1.0p-53;
  }

 private:
  uint64_t s_[4];
};

// U(-a, a), computed in double and rounded once to float.
void FillUniform(double a, Xoshiro256& rng, float* out, int64_t n) {
  for (int64_t k = 0; k < n; ++k) {
    out[k] = static_cast<float>(a * (2.0 * rng.Uniform() - 1.0));
  }
}

// N(0, stddev^2) by Box-Muller, both outputs of each pair used. Done in
// double and rounded once to float, so the last bits of libm's log/sin/cos
// (correctly rounded in practice, not by standard) cannot show in the result.
void FillNormal(double stddev, Xoshiro256& rng, float* out, int64_t n) {
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  for (int64_t k = 0; k < n; k += 2) {
    const double radius = stddev * std::sqrt(-2.0 * std::log(rng.UniformOpenZero()));
    const double angle = kTwoPi * rng.Uniform();
    out[k] = static_cast<float>(radius * std::cos(angle));
    if (k + 1 < n) out[k + 1] = static_cast<float>(radius * std::sin(angle));
  }
}

}  // namespace

uint64_t DeriveSeed(uint64_t seed, uint64_t stream) {
  // Output number `stream` (0-based) of a SplitMix64 generator started at `seed`.
  return SplitMix64At(seed, stream);
}

void InitializeWeights(const config::Init& init, uint64_t seed, Tensor* weights) {
  const double fan_in = static_cast<double>(weights->rows());
  const double fan_out = static_cast<double>(weights->cols());
  float* data = weights->data();
  const int64_t n = weights->size();
  Xoshiro256 rng(seed);
  switch (init.scheme()) {
    case config::Init::XAVIER_UNIFORM:
      FillUniform(std::sqrt(6.0 / (fan_in + fan_out)), rng, data, n);
      return;
    case config::Init::XAVIER_NORMAL:
      FillNormal(std::sqrt(2.0 / (fan_in + fan_out)), rng, data, n);
      return;
    case config::Init::HE_UNIFORM:
      FillUniform(std::sqrt(6.0 / fan_in), rng, data, n);
      return;
    case config::Init::HE_NORMAL:
      FillNormal(std::sqrt(2.0 / fan_in), rng, data, n);
      return;
    case config::Init::NORMAL:
    default:
      // SCHEME_UNSPECIFIED is resolved by the model builder; should one get
      // here anyway, the model-level default (NORMAL) is the least surprise.
      FillNormal(init.std() == 0.0f ? 0.01 : static_cast<double>(init.std()), rng,
                 data, n);
      return;
  }
}

}  // namespace mnemo
