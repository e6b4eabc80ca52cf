#include "memory_modules/common/top_k.h"

#include <algorithm>

#include "core/avx512_warning_workaround.h"  // first: see there

namespace mnemo::memory {
namespace {

// The first column holding the row's maximum: the vectorised maxCoeff finds
// the value, a scan that usually stops early finds where it is.
void SelectBest(const float* row, int columns, int* index, float* score) {
  const float best = Eigen::Map<const Eigen::VectorXf>(row, columns).maxCoeff();
  int at = 0;
  while (row[at] != best) ++at;
  *index = at;
  *score = best;
}

// The k best of a row, kept sorted best first in index[0..k), score[0..k).
// A column enters only when it beats the k-th best kept (strictly, so the
// lower of two equal columns stays ahead); for all but the first few columns
// of a row that is one well-predicted comparison.
void SelectBestK(const float* row, int columns, int k, int* index, float* score) {
  int kept = 0;
  for (int c = 0; c < columns; ++c) {
    const float value = row[c];
    if (kept == k && !(value > score[k - 1])) continue;
    int at = kept == k ? k - 1 : kept++;
    while (at > 0 && value > score[at - 1]) {
      score[at] = score[at - 1];
      index[at] = index[at - 1];
      --at;
    }
    score[at] = value;
    index[at] = c;
  }
}

}  // namespace

void SelectTopK(const ConstMatrixRef<float>& scores, int k, TopK* top) {
  const int rows = static_cast<int>(scores.rows());
  const int columns = static_cast<int>(scores.cols());
  top->rows = rows;
  top->k = std::max(0, std::min(k, columns));
  top->index.resize(static_cast<size_t>(rows) * top->k);
  top->score.resize(top->index.size());
  if (top->k == 0) return;
  for (int r = 0; r < rows; ++r) {
    const float* row = scores.row(r).data();
    int* index = top->index.data() + static_cast<size_t>(r) * top->k;
    float* score = top->score.data() + static_cast<size_t>(r) * top->k;
    if (top->k == 1) {
      SelectBest(row, columns, index, score);
    } else {
      SelectBestK(row, columns, top->k, index, score);
    }
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
