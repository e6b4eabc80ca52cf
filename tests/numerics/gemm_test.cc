// MultiplyAdd (core/layers/gemm.h) equals Eigen's product bit for bit, on
// every shape of gemm_shapes.h. (What it allocates: gemm_allocation_test.)
#include "core/layers/gemm.h"

#include <vector>

#include "gtest/gtest.h"
#include "tests/numerics/gemm_shapes.h"
#include "tests/testing/tensors.h"

namespace mnemo {
namespace {

using testing::GemmShapes;
using testing::Shape;
using testing::TestRng;

TEST(GemmTest, EqualsEigensProductBitForBit) {
  TestRng rng(7);
  for (const Shape& s : GemmShapes()) {
    const Tensor a = rng.Random(s.rows, s.depth);
    const Tensor b = rng.Random(s.depth, s.cols);
    const Tensor c0 = rng.Random(s.rows, s.cols);
    Tensor expected = c0;
    expected.noalias() += a * b;
    Tensor c = c0;
    MultiplyAdd(a, b, &c);
    ASSERT_EQ(c.rows(), expected.rows());
    ASSERT_EQ(c.cols(), expected.cols());
    EXPECT_TRUE(c == expected) << s.rows << "x" << s.depth << " * " << s.depth << "x" << s.cols
                               << ": largest difference "
                               << (s.rows * s.cols > 0 ? (c - expected).cwiseAbs().maxCoeff() : 0);
  }
}

}  // namespace
}  // namespace mnemo
