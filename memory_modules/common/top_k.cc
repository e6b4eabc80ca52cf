#include "memory_modules/common/top_k.h"

#include <algorithm>
#include <cmath>

#include "core/avx512_warning_workaround.h"  // first: see there

namespace mnemo::memory {
namespace {

// a ranks strictly above b: the larger number, and any number above NaN.
// Equal scores (and two NaNs) do not: the column seen first stays ahead.
inline bool Above(float a, float b) { return a > b || (std::isnan(b) && !std::isnan(a)); }

// Puts `value` of column `column` among the `*kept` best (sorted best first,
// at most k), dropping the k-th when full. Only called for a value that
// belongs there (room left, or Above the k-th).
inline void Insert(float value, int column, int k, int* kept, int* index, float* score) {
  int at = *kept == k ? k - 1 : (*kept)++;
  while (at > 0 && Above(value, score[at - 1])) {
    score[at] = score[at - 1];
    index[at] = index[at - 1];
    --at;
  }
  score[at] = value;
  index[at] = column;
}

}  // namespace

void SelectRowTopK(const float* row, int columns, int k, int* index, float* score) {
  int kept = 0;
  int c = 0;
  for (; c < columns && kept < k; ++c) Insert(row[c], c, k, &kept, index, score);
#ifdef __AVX512F__
  // Blocks of 16 against the k-th best: a value enters only when strictly
  // above it (so of equal values the lower column stays), and a NaN never
  // compares above (ordered compare), as Above says. While the k-th best is
  // itself NaN (a row with NaNs among its first columns) the scalar loop
  // below takes the row, since any number is above it.
  while (c + 16 <= columns && !std::isnan(score[k - 1])) {
    __m512 threshold = _mm512_set1_ps(score[k - 1]);
    for (; c + 16 <= columns; c += 16) {
      __mmask16 better = _mm512_cmp_ps_mask(_mm512_loadu_ps(row + c), threshold, _CMP_GT_OQ);
      if (better == 0) continue;
      // In column order, each against the k-th best as it is by then.
      for (; better != 0; better &= better - 1) {
        const int column = c + __builtin_ctz(better);
        if (row[column] > score[k - 1]) Insert(row[column], column, k, &kept, index, score);
      }
      threshold = _mm512_set1_ps(score[k - 1]);
    }
  }
#endif
  for (; c < columns; ++c) {
    if (Above(row[c], score[k - 1])) Insert(row[c], c, k, &kept, index, score);
  }
}

void SelectTopK(const ConstMatrixRef<float>& scores, int k, TopK* top) {
  const int rows = static_cast<int>(scores.rows());
  const int columns = static_cast<int>(scores.cols());
  top->rows = rows;
  top->k = std::max(0, std::min(k, columns));
  top->index.resize(static_cast<size_t>(rows) * top->k);
  top->score.resize(top->index.size());
  if (top->k == 0) return;
  for (int r = 0; r < rows; ++r) {
    SelectRowTopK(scores.row(r).data(), columns, top->k,
                  top->index.data() + static_cast<size_t>(r) * top->k,
                  top->score.data() + static_cast<size_t>(r) * top->k);
  }
}

float MaxOf(absl::Span<const float> values) {
  return Eigen::Map<const Eigen::VectorXf>(values.data(), static_cast<Eigen::Index>(values.size()))
      .maxCoeff();
}

int FirstMinimum(absl::Span<const float> values) {
  const float lowest =
      Eigen::Map<const Eigen::VectorXf>(values.data(), static_cast<Eigen::Index>(values.size()))
          .minCoeff();
  int at = 0;
  while (values[at] != lowest) ++at;
  return at;
}

}  // namespace mnemo::memory
