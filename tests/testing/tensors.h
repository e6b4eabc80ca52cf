#ifndef MNEMO_TESTS_TESTING_TENSORS_H_
#define MNEMO_TESTS_TESTING_TENSORS_H_

// Tensors for tests: reproducible random ones, and the one bit-for-bit
// comparison.

#include <cstdint>
#include <cstring>
#include <random>

#include "absl/types/span.h"
#include "core/tensor.h"

namespace mnemo::testing {

// Uniform floats in [lo, hi) from std::mt19937, whose sequence the standard
// fixes (std::uniform_real_distribution's is not), so every failure
// reproduces on every machine.
class TestRng {
 public:
  explicit TestRng(uint32_t seed) : engine_(seed) {}

  float Uniform(float lo, float hi) {
    const float u = static_cast<float>(engine_() >> 8) * 0x1.0p-24f;  // [0, 1)
    return lo + (hi - lo) * u;
  }

  mnemo::Tensor Random(int rows, int cols, float lo = -1.0f, float hi = 1.0f) {
    mnemo::Tensor t(rows, cols);
    for (Eigen::Index k = 0; k < t.size(); ++k) t.data()[k] = Uniform(lo, hi);
    return t;
  }

 private:
  std::mt19937 engine_;
};

// Whether `a` and `b` hold the same floats bit for bit: a NaN equals the same
// NaN, 0 and -0 differ. An empty span's data() may be null, which memcmp
// must not be given.
inline bool SameBits(absl::Span<const float> a, absl::Span<const float> b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

// The same for tensors, whose shapes must agree too.
inline bool SameBits(const Tensor& a, const Tensor& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         SameBits(absl::MakeConstSpan(a.data(), a.size()), absl::MakeConstSpan(b.data(), b.size()));
}

}  // namespace mnemo::testing

#endif  // MNEMO_TESTS_TESTING_TENSORS_H_
