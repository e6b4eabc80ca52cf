// SelectTopK, whose AVX-512 pass skips blocks of 16 scores, against a plain
// stable sort: long rows (many blocks and a tail), rows that rise (every
// block has something to insert), many ties, NaNs, k past the columns.
#include "memory_modules/common/top_k.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "tests/testing/tensors.h"

namespace mnemo::memory {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// The documented order, written as a sort: higher first, NaN after every
// number, equal scores (and NaNs) by lower column.
std::vector<int> SortedColumns(const Tensor& scores, int r) {
  std::vector<int> order(scores.cols());
  for (int c = 0; c < scores.cols(); ++c) order[c] = c;
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    const float x = scores(r, a), y = scores(r, b);
    if (std::isnan(x) || std::isnan(y)) return !std::isnan(x) && std::isnan(y);
    return x > y;
  });
  return order;
}

void ExpectMatchesSort(const Tensor& scores, int k, const TopK& top) {
  const int used = std::min<int>(k, scores.cols());
  ASSERT_EQ(top.k, used);
  ASSERT_EQ(top.rows, scores.rows());
  for (int r = 0; r < scores.rows(); ++r) {
    const std::vector<int> order = SortedColumns(scores, r);
    for (int j = 0; j < used; ++j) {
      ASSERT_EQ(top.index[r * used + j], order[j]) << "row " << r << " rank " << j;
      const float want = scores(r, order[j]);
      const float got = top.score[r * used + j];
      EXPECT_TRUE(got == want || (std::isnan(got) && std::isnan(want)));
    }
  }
}

Tensor Rows(int columns) {
  mnemo::testing::TestRng rng(11);
  Tensor scores = rng.Random(8, columns);
  // Row 1: few distinct values, so ties everywhere (and across blocks).
  for (int c = 0; c < columns; ++c) scores(1, c) = std::round(scores(1, c) * 4) / 4;
  // Row 2: rising, so every block holds a better score; row 3: falling.
  for (int c = 0; c < columns; ++c) scores(2, c) = 0.001f * c;
  for (int c = 0; c < columns; ++c) scores(3, c) = -0.001f * c;
  // Row 4: all equal: the first k columns.
  scores.row(4).setConstant(0.5f);
  // Row 5: NaNs among the first columns (the k-th kept is NaN for a while),
  // and scattered later. Row 6: NaN but for a few columns. Row 7: all NaN.
  for (int c = 0; c < columns; c += 7) scores(5, c) = kNaN;
  scores.row(6).setConstant(kNaN);
  for (int c = columns / 2; c < columns; c += columns / 3 + 1) scores(6, c) = 0.1f * c;
  scores.row(7).setConstant(kNaN);
  // Row 0 keeps its random values, with a tie at the top (across two blocks
  // in a long row).
  scores(0, columns / 3) = scores(0, columns - 1) = 2.0f;
  return scores;
}

TEST(SelectTopKTest, LongRowsMatchASortForEveryK) {
  for (int columns : {1, 15, 16, 17, 100, 1037}) {
    const Tensor scores = Rows(columns);
    TopK top;  // reused across k
    for (int k : {1, 2, 10, 33, columns, columns + 5}) {
      SCOPED_TRACE(::testing::Message() << columns << " columns, k " << k);
      SelectTopK(scores, k, &top);
      ExpectMatchesSort(scores, k, top);
    }
  }
}

TEST(SelectTopKTest, NaNNeverDisplacesANumber) {
  Tensor scores(1, 40);
  scores.setConstant(kNaN);
  scores(0, 39) = -1e30f;
  scores(0, 20) = -2e30f;
  TopK top;
  SelectTopK(scores, 3, &top);
  EXPECT_EQ(top.index[0], 39);
  EXPECT_EQ(top.index[1], 20);
  EXPECT_EQ(top.index[2], 0);  // then the NaNs, lowest column first
  EXPECT_TRUE(std::isnan(top.score[2]));
}

TEST(SelectTopKTest, InfinitiesRankAsNumbers) {
  Tensor scores(1, 50);
  scores.setZero();
  scores(0, 30) = std::numeric_limits<float>::infinity();
  scores(0, 10) = -std::numeric_limits<float>::infinity();
  scores(0, 45) = kNaN;
  TopK top;
  SelectTopK(scores, 50, &top);
  ExpectMatchesSort(scores, 50, top);
  EXPECT_EQ(top.index[0], 30);
  EXPECT_EQ(top.index[48], 10);
  EXPECT_EQ(top.index[49], 45);
}

}  // namespace
}  // namespace mnemo::memory
