#ifndef MNEMO_TESTS_MEMORY_INDEX_DATA_H_
#define MNEMO_TESTS_MEMORY_INDEX_DATA_H_

// Data for the approximate-index tests: unit vectors in clusters (the shape
// an index is for: features of classes), and recall against a brute-force
// top-k in double (tests/memory/reference.h), independent of our GEMM,
// SelectTopK and FAISS.

#include <algorithm>
#include <vector>

#include "memory_modules/common/similarity.h"
#include "memory_modules/common/top_k.h"
#include "tests/memory/reference.h"
#include "tests/testing/tensors.h"

namespace mnemo::memory::testing {

// `rows` unit vectors of width `dim`: row i is centre (i % clusters) plus
// uniform noise of half-width `spread`, normalised. The centres come first
// from `rng`, so two calls with the same seed and clusters share them.
inline Tensor Clustered(uint32_t seed, int rows, int dim, int clusters, float spread,
                        uint32_t noise_seed) {
  mnemo::testing::TestRng centres_rng(seed);
  const Tensor centres = centres_rng.Random(clusters, dim);
  mnemo::testing::TestRng rng(noise_seed);
  Tensor x = rng.Random(rows, dim, -spread, spread);
  for (int i = 0; i < rows; ++i) x.row(i) += centres.row(i % clusters);
  x.rowwise().normalize();
  return x;
}

// The k best keys of every query by cosine, from BruteCosines in double,
// sorted (ties: lower key first).
inline std::vector<std::vector<int>> BruteTopK(const Tensor& queries, const Tensor& keys, int k) {
  const MatrixD cosines = BruteCosines(queries.cast<double>(), keys.cast<double>());
  std::vector<std::vector<int>> top(queries.rows());
  for (int b = 0; b < queries.rows(); ++b) {
    std::vector<int> order(keys.rows());
    for (int m = 0; m < keys.rows(); ++m) order[m] = m;
    std::stable_sort(order.begin(), order.end(),
                     [&](int x, int y) { return cosines(b, x) > cosines(b, y); });
    order.resize(std::min<int>(k, static_cast<int>(order.size())));
    top[b] = order;
  }
  return top;
}

// Row r of a TopK's indices.
inline std::vector<int> Row(const TopK& top, int r) {
  return std::vector<int>(top.index.begin() + r * top.k, top.index.begin() + (r + 1) * top.k);
}

// The mean over queries of |found ∩ truth| / |truth|.
inline double Recall(const TopK& found, const std::vector<std::vector<int>>& truth) {
  double sum = 0;
  for (int r = 0; r < found.rows; ++r) {
    const std::vector<int> row = Row(found, r);
    int hits = 0;
    for (int id : truth[r]) hits += std::count(row.begin(), row.end(), id) > 0;
    sum += static_cast<double>(hits) / truth[r].size();
  }
  return sum / found.rows;
}

}  // namespace mnemo::memory::testing

#endif  // MNEMO_TESTS_MEMORY_INDEX_DATA_H_
