#ifndef MNEMO_TESTS_NUMERICS_GEMM_SHAPES_H_
#define MNEMO_TESTS_NUMERICS_GEMM_SHAPES_H_

#include <vector>

namespace mnemo::testing {

struct Shape {
  int rows, depth, cols;
};

// Vector products, tiny products (Eigen's coefficient-based path), odd sizes
// around its register blocks, and the seed MLP's layers at several batches.
inline const std::vector<Shape>& GemmShapes() {
  static const auto* shapes = new std::vector<Shape>{
      {1, 784, 256},  {256, 784, 1},    {1, 1, 1},        {2, 3, 4},      {5, 7, 3},
      {3, 17, 5},     {13, 29, 31},     {2, 784, 256},    {64, 784, 256}, {256, 784, 256},
      {256, 256, 10}, {1000, 512, 512}, {4096, 784, 256}, {0, 5, 3},      {4, 0, 3}};
  return *shapes;
}

}  // namespace mnemo::testing

#endif  // MNEMO_TESTS_NUMERICS_GEMM_SHAPES_H_
