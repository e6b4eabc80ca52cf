// MultiplyAdd (core/layers/gemm.h) allocates nothing once a product as large
// has been computed, which is what lets Dense::Forward serve without
// allocating. (Its results: gemm_test.)
#include <utility>
#include <vector>

#include "core/layers/dense.h"
#include "core/layers/gemm.h"
#include "gtest/gtest.h"
#include "tests/numerics/gemm_shapes.h"
#include "tests/testing/allocation_counter.h"
#include "tests/testing/tensors.h"

namespace mnemo {
namespace {

using testing::AllocationScope;
using testing::GemmShapes;
using testing::Shape;
using testing::TestRng;

TEST(GemmTest, AllocatesNothingAfterTheLargestProduct) {
  TestRng rng(8);
  std::vector<std::pair<Tensor, Tensor>> operands;
  std::vector<Tensor> results;
  for (const Shape& s : GemmShapes()) {
    operands.emplace_back(rng.Random(s.rows, s.depth), rng.Random(s.depth, s.cols));
    results.push_back(Tensor::Zero(s.rows, s.cols));
  }
  // Warm-up: every shape once, so the packing buffers hold the largest.
  for (size_t i = 0; i < operands.size(); ++i) {
    MultiplyAdd(operands[i].first, operands[i].second, &results[i]);
  }
  AllocationScope scope;
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < operands.size(); ++i) {
      MultiplyAdd(operands[i].first, operands[i].second, &results[i]);
    }
  }
  EXPECT_EQ(scope.counts().total(), 0) << scope.counts().operator_new << " operator new, "
                                       << scope.counts().c_allocations << " malloc-family calls";
}

// The counter sees Eigen's own allocation for the same product: the zero
// above is not a counter that counts nothing.
TEST(GemmTest, EigensProductAllocatesWhereMultiplyAddDoesNot) {
  TestRng rng(9);
  const Tensor a = rng.Random(256, 784);
  const Tensor b = rng.Random(784, 256);
  Tensor c = Tensor::Zero(256, 256);
  c.noalias() += a * b;
  AllocationScope scope;
  c.noalias() += a * b;
  EXPECT_GT(scope.counts().c_allocations, 0);
}

// Dense::Forward, which lives in libmnemo_core.so, at the seed MLP's first
// layer: the interposed allocator sees that library's calls too.
TEST(GemmTest, DenseForwardAllocatesNothingForARepeatedBatchSize) {
  TestRng rng(10);
  Dense dense(784, 256);
  dense.weight() = rng.Random(784, 256);
  const Tensor batch = rng.Random(256, 784);
  const Tensor one = rng.Random(1, 784);
  Tensor out_batch, out_one;
  dense.Forward(batch, ForwardContext{}, &out_batch);
  dense.Forward(one, ForwardContext{}, &out_one);
  AllocationScope scope;
  for (int i = 0; i < 10; ++i) {
    dense.Forward(batch, ForwardContext{}, &out_batch);
    dense.Forward(one, ForwardContext{}, &out_one);
  }
  EXPECT_EQ(scope.counts().total(), 0);
}

}  // namespace
}  // namespace mnemo
