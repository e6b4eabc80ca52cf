#ifndef MNEMO_MEMORY_MODULES_COMMON_TOP_K_H_
#define MNEMO_MEMORY_MODULES_COMMON_TOP_K_H_

#include <vector>

#include "absl/types/span.h"
#include "memory_modules/common/similarity.h"

namespace mnemo::memory {

// The k best columns of every row of a score matrix, best first.
struct TopK {
  int rows = 0;
  int k = 0;                 // per row: min(requested k, number of columns)
  std::vector<int> index;    // rows * k: row r's j-th best column at r * k + j
  std::vector<float> score;  // its score
};

// Selects the k highest scores of each row by one pass over the row that
// keeps the best k seen so far (a partial selection: nothing is sorted but
// the k kept). Equal scores rank by lower column first, so results are
// deterministic. A NaN score ranks below every number (a row of fewer than k
// numbers gets its NaN columns last, lowest column first), so a NaN never
// displaces a number. *top's buffers are reused: no allocation once they are
// large enough.
//
// The pass compares 16 scores at a time with the k-th best kept (AVX-512):
// past the row's first columns almost every block holds nothing better and
// costs one compare, so selecting is a read of the row at memory speed.
void SelectTopK(const ConstMatrixRef<float>& scores, int k, TopK* top);

// The same selection over one row of `columns` scores (1 <= k <= columns),
// best first into index[0..k) (columns) and score[0..k).
void SelectRowTopK(const float* row, int columns, int k, int* index, float* score);

// The largest of `values` (not empty), by a vectorised reduction.
float MaxOf(absl::Span<const float> values);

// Where the smallest of `values` (not empty, no NaN) first occurs: a
// vectorised minimum, then a scan that stops at it.
int FirstMinimum(absl::Span<const float> values);

}  // namespace mnemo::memory

#endif  // MNEMO_MEMORY_MODULES_COMMON_TOP_K_H_
