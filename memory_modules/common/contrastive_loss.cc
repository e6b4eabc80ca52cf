#include "memory_modules/common/contrastive_loss.h"

#include <cmath>
#include <limits>
#include <unordered_set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/avx512_warning_workaround.h"  // first: see there
#include "memory_modules/common/input_checks.h"

namespace mnemo::memory {

template <typename T>
T ContrastiveLossFromCosines(const ConstMatrixRef<T>& cosines, absl::Span<const int> labels,
                             absl::Span<const int> key_labels, T temperature,
                             Matrix<T>* grad_cosines, int* counted) {
  using Row = Eigen::Array<T, 1, Eigen::Dynamic>;
  const std::unordered_set<int> stored(key_labels.begin(), key_labels.end());
  int with_positive = 0;
  for (int label : labels) with_positive += stored.count(label) > 0 ? 1 : 0;
  if (counted != nullptr) *counted = with_positive;
  if (with_positive == 0) return T(0);

  const Eigen::Map<const Eigen::Array<int, 1, Eigen::Dynamic>> stored_labels(
      key_labels.data(), static_cast<Eigen::Index>(key_labels.size()));
  const T inverse_temperature = T(1) / temperature;
  // The mean's 1/count and the chain rule's 1/T in one factor.
  const T grad_scale = inverse_temperature / static_cast<T>(with_positive);
  double total = 0.0;
  Row logits, exp_all, exp_positive;
  for (Eigen::Index b = 0; b < cosines.rows(); ++b) {
    if (stored.count(labels[b]) == 0) continue;
    logits = cosines.row(b).array() * inverse_temperature;
    const auto positive = (stored_labels == labels[b]).template cast<T>();
    const T max_all = logits.maxCoeff();
    const T max_positive =
        (stored_labels == labels[b]).select(logits, -std::numeric_limits<T>::infinity()).maxCoeff();
    exp_all = (logits - max_all).exp();
    // min(., 0): a negative above the best positive would overflow exp()
    // before the mask drops it (inf * 0 is NaN).
    exp_positive = (logits - max_positive).min(T(0)).exp() * positive;
    const T sum_all = exp_all.sum();
    const T sum_positive = exp_positive.sum();
    total += static_cast<double>((max_all + std::log(sum_all)) -
                                 (max_positive + std::log(sum_positive)));
    if (grad_cosines != nullptr) {
      grad_cosines->row(b).array() +=
          grad_scale * (exp_all / sum_all - exp_positive / sum_positive);
    }
  }
  return static_cast<T>(total / with_positive);
}

template <typename T>
absl::StatusOr<T> MemoryContrastiveLoss(const ConstMatrixRef<T>& features,
                                        absl::Span<const int> labels, const ConstMatrixRef<T>& keys,
                                        absl::Span<const int> key_labels, T temperature,
                                        Matrix<T>* grad_features, Matrix<T>* grad_keys) {
  if (absl::Status s =
          CheckLossInputs(features.rows(), features.cols(), labels.size(), keys.rows(), keys.cols(),
                          key_labels.size(), static_cast<double>(temperature));
      !s.ok()) {
    return s;
  }
  Matrix<T> unit_features, unit_keys, cosines;
  ColumnVector<T> feature_norms, key_norms;
  NormalizeRows(features, &unit_features, &feature_norms);
  NormalizeRows(keys, &unit_keys, &key_norms);
  CosineSimilarities<T>(unit_features, unit_keys, &cosines);
  Matrix<T> grad_cosines = Matrix<T>::Zero(cosines.rows(), cosines.cols());
  const T loss =
      ContrastiveLossFromCosines<T>(cosines, labels, key_labels, temperature, &grad_cosines);
  CosineSimilaritiesBackward<T>(grad_cosines, unit_features, feature_norms, unit_keys, key_norms,
                                grad_features, grad_keys);
  return loss;
}

template float ContrastiveLossFromCosines<float>(const ConstMatrixRef<float>&,
                                                 absl::Span<const int>, absl::Span<const int>,
                                                 float, Matrix<float>*, int*);
template double ContrastiveLossFromCosines<double>(const ConstMatrixRef<double>&,
                                                   absl::Span<const int>, absl::Span<const int>,
                                                   double, Matrix<double>*, int*);
template absl::StatusOr<float> MemoryContrastiveLoss<float>(const ConstMatrixRef<float>&,
                                                            absl::Span<const int>,
                                                            const ConstMatrixRef<float>&,
                                                            absl::Span<const int>, float,
                                                            Matrix<float>*, Matrix<float>*);
template absl::StatusOr<double> MemoryContrastiveLoss<double>(const ConstMatrixRef<double>&,
                                                              absl::Span<const int>,
                                                              const ConstMatrixRef<double>&,
                                                              absl::Span<const int>, double,
                                                              Matrix<double>*, Matrix<double>*);

}  // namespace mnemo::memory
