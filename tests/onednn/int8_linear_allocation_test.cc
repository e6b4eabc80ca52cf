// What Int8Linear allocates once warmed up (every heap allocation of the
// process counted, tests/testing/allocation_counter): nothing on the VNNI
// kernel; on oneDNN's path only what dnnl_primitive_execute allocates
// inside oneDNN at every call (its argument map, see allocation_test.cc),
// the same at every call, so no buffer grows or is reallocated.
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "plugins/onednn/int8_linear.h"
#include "tests/testing/allocation_counter.h"
#include "tests/testing/tensors.h"

namespace mnemo::onednn {
namespace {

using ::mnemo::testing::AllocationCounts;
using ::mnemo::testing::AllocationScope;

// As in allocation_test.cc: oneDNN 2.6's allocations per execution.
constexpr int kPerExecution = 6;

struct Layer {
  int m, k, n;
  std::vector<float> x, scale, bias, y;
  std::vector<int8_t> weights;
  Layer(int m, int k, int n) : m(m), k(k), n(n), scale(n, 0.01f), bias(n, 0.5f), y(m * n) {
    mnemo::testing::TestRng rng(1);
    x.resize(m * k);
    for (float& v : x) v = rng.Uniform(-1.0f, 1.0f);
    weights.resize(k * n);
    for (size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<int8_t>(i % 255 - 127);
  }
  bool Run(Int8Linear& linear) {
    return linear
        .Run(m, k, n, x.data(), 0.0f, weights.data(), scale.data(), bias.data(), y.data(), 7)
        .ok();
  }
};

// Allocations of `calls` calls after one warm-up call; -1 on a failed call.
int64_t Count(int calls, Int8Linear& linear, Layer& layer) {
  if (!layer.Run(linear)) return -1;
  AllocationScope scope;
  for (int i = 0; i < calls; ++i) {
    if (!layer.Run(linear)) return -1;
  }
  return scope.counts().total();
}

TEST(Int8LinearAllocationTest, VnniKernelAllocatesNothing) {
  ASSERT_TRUE(Int8Linear::Available());
  Int8Linear linear(/*max_threads=*/1);
  for (const int m : {1, 4, 16}) {
    Layer layer(m, 785, 257);
    ASSERT_LE(m, Int8Linear::kVnniRowsUpTo);
    EXPECT_EQ(Count(10, linear, layer), 0) << m;
  }
}

TEST(Int8LinearAllocationTest, OneDnnPathAllocatesOnlyInsideExecute) {
  ASSERT_TRUE(Int8Linear::Available());
  Int8Linear linear(/*max_threads=*/2);
  Layer layer(256, 784, 256);
  const int64_t ten = Count(10, linear, layer);
  const int64_t forty = Count(40, linear, layer);
  ASSERT_GE(ten, 0);
  EXPECT_EQ(forty, 4 * ten);
  EXPECT_LE(ten, 10 * kPerExecution);
  // oneDNN's own are seen: the counter is at work, and the VNNI kernel's
  // zero above means something.
  EXPECT_GT(ten, 0);
}

}  // namespace
}  // namespace mnemo::onednn
