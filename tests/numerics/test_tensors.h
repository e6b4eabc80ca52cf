#ifndef MNEMO_TESTS_NUMERICS_TEST_TENSORS_H_
#define MNEMO_TESTS_NUMERICS_TEST_TENSORS_H_

#include <cstdint>
#include <random>

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

}  // namespace mnemo::testing

#endif  // MNEMO_TESTS_NUMERICS_TEST_TENSORS_H_
