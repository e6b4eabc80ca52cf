#ifndef MNEMO_TESTS_MEMORY_REFERENCE_H_
#define MNEMO_TESTS_MEMORY_REFERENCE_H_

// Brute-force references for the memory math, in double, written straight
// from the formulas (loops, no GEMM, no log-sum-exp tricks), and central
// finite differences.

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <utility>
#include <vector>

#include "core/memory_module.h"
#include "memory_modules/common/similarity.h"
#include "tests/testing/tensors.h"

namespace mnemo::memory::testing {

using MatrixD = Matrix<double>;

inline MatrixD RandomD(mnemo::testing::TestRng& rng, int rows, int cols) {
  return rng.Random(rows, cols).cast<double>();
}

// cos(a, b), 0 when either is zero.
inline double Cosine(const double* a, const double* b, int d) {
  double ab = 0, aa = 0, bb = 0;
  for (int i = 0; i < d; ++i) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa == 0 || bb == 0 ? 0.0 : ab / std::sqrt(aa * bb);
}

inline MatrixD BruteCosines(const MatrixD& queries, const MatrixD& keys) {
  MatrixD cosines(queries.rows(), keys.rows());
  for (int b = 0; b < queries.rows(); ++b) {
    for (int m = 0; m < keys.rows(); ++m) {
      cosines(b, m) =
          Cosine(queries.row(b).data(), keys.row(m).data(), static_cast<int>(queries.cols()));
    }
  }
  return cosines;
}

// -log(sum_{P} exp(s) / sum exp(s)), mean over queries with a positive.
inline double BruteContrastive(const MatrixD& queries, const std::vector<int>& labels,
                               const MatrixD& keys, const std::vector<int>& key_labels,
                               double temperature) {
  const MatrixD cosines = BruteCosines(queries, keys);
  double total = 0;
  int counted = 0;
  for (int b = 0; b < queries.rows(); ++b) {
    double all = 0, positive = 0;
    for (int m = 0; m < keys.rows(); ++m) {
      const double e = std::exp(cosines(b, m) / temperature);
      all += e;
      if (key_labels[m] == labels[b]) positive += e;
    }
    if (positive == 0) continue;
    total += -std::log(positive / all);
    ++counted;
  }
  return counted == 0 ? 0.0 : total / counted;
}

// -log p_b[y_b], p_b = sum_m softmax_m(cos/T) softmax(values_m), mean over b.
inline double BruteReadout(const MatrixD& queries, const std::vector<int>& labels,
                           const MatrixD& keys, const MatrixD& values, double temperature) {
  if (keys.rows() == 0 || queries.rows() == 0) return 0.0;
  const MatrixD cosines = BruteCosines(queries, keys);
  double total = 0;
  for (int b = 0; b < queries.rows(); ++b) {
    double attention_sum = 0;
    for (int m = 0; m < keys.rows(); ++m) attention_sum += std::exp(cosines(b, m) / temperature);
    double p = 0;
    for (int m = 0; m < keys.rows(); ++m) {
      double value_sum = 0;
      for (int c = 0; c < values.cols(); ++c) value_sum += std::exp(values(m, c));
      p += std::exp(cosines(b, m) / temperature) / attention_sum * std::exp(values(m, labels[b])) /
           value_sum;
    }
    total += -std::log(p);
  }
  return total / queries.rows();
}

// d f / d x(k) for every k, by central differences of step h.
inline MatrixD NumericGradient(const std::function<double()>& f, MatrixD* x, double h) {
  MatrixD gradient(x->rows(), x->cols());
  for (Eigen::Index k = 0; k < x->size(); ++k) {
    const double saved = x->data()[k];
    x->data()[k] = saved + h;
    const double plus = f();
    x->data()[k] = saved - h;
    const double minus = f();
    x->data()[k] = saved;
    gradient.data()[k] = (plus - minus) / (2 * h);
  }
  return gradient;
}

// The documented vote (memory_modules/common/vote.h), from the cosines by brute force:
// neighbours sorted by cosine (ties: lower slot), the k best vote for
// slot_class with weight clip(cos) * certainty.
inline Retrieval BruteVote(const MatrixD& cosines, int k, const std::vector<int>& slot_class,
                           const std::vector<double>& certainty) {
  Retrieval answer;
  for (int b = 0; b < cosines.rows(); ++b) {
    std::vector<int> order(cosines.cols());
    for (int m = 0; m < cosines.cols(); ++m) order[m] = m;
    std::stable_sort(order.begin(), order.end(),
                     [&](int x, int y) { return cosines(b, x) > cosines(b, y); });
    const int used = std::min<int>(k, static_cast<int>(order.size()));
    if (used == 0) {
      answer.label.push_back(-1);
      answer.slot.push_back(-1);
      answer.confidence.push_back(0);
      continue;
    }
    std::map<int, std::pair<double, int>> by_class;  // class -> (sum, best rank)
    for (int j = 0; j < used; ++j) {
      const int m = order[j];
      const double w = std::clamp(cosines(b, m), 0.0, 1.0) * certainty[m];
      auto [it, inserted] = by_class.emplace(slot_class[m], std::make_pair(0.0, j));
      it->second.first += w;
    }
    int best_class = -1;
    std::pair<double, int> best{-1.0, 0};
    for (const auto& [c, sum_rank] : by_class) {
      if (sum_rank.first > best.first ||
          (sum_rank.first == best.first && sum_rank.second < best.second)) {
        best_class = c;
        best = sum_rank;
      }
    }
    answer.label.push_back(best_class);
    answer.slot.push_back(order[best.second]);
    answer.confidence.push_back(static_cast<float>(std::clamp(best.first / used, 0.0, 1.0)));
  }
  return answer;
}

}  // namespace mnemo::memory::testing

#endif  // MNEMO_TESTS_MEMORY_REFERENCE_H_
