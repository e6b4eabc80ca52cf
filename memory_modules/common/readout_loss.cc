#include "memory_modules/common/readout_loss.h"

#include <cmath>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/avx512_warning_workaround.h"  // first: see there
#include "memory_modules/common/input_checks.h"

namespace mnemo::memory {
namespace {

// Turns *row into softmax(row) and returns log-sum-exp(row).
template <typename T>
T SoftmaxInPlace(Eigen::Array<T, 1, Eigen::Dynamic>* row) {
  const T max = row->maxCoeff();
  *row = (*row - max).exp();
  const T sum = row->sum();
  *row /= sum;
  return max + std::log(sum);
}

}  // namespace

template <typename T>
T ReadoutLossFromCosines(const ConstMatrixRef<T>& cosines, const ConstMatrixRef<T>& values,
                         absl::Span<const int> labels, T temperature, Matrix<T>* grad_cosines,
                         Matrix<T>* grad_values) {
  using Row = Eigen::Array<T, 1, Eigen::Dynamic>;
  const Eigen::Index batch = cosines.rows();
  const Eigen::Index slots = values.rows();
  const Eigen::Index classes = values.cols();
  if (grad_values != nullptr) grad_values->setZero(slots, classes);
  if (batch == 0 || slots == 0) return T(0);

  // log softmax(v_m), transposed so that the column of a class is a
  // contiguous row: z_b gathers one per query.
  Matrix<T> log_probs_by_class(classes, slots);
  Matrix<T> probs(slots, classes);
  Row row;
  for (Eigen::Index m = 0; m < slots; ++m) {
    row = values.row(m).array();
    const T lse = SoftmaxInPlace(&row);
    probs.row(m) = row.matrix();
    log_probs_by_class.col(m) = (values.row(m).array() - lse).transpose().matrix();
  }

  const T inverse_temperature = T(1) / temperature;
  const T grad_scale = inverse_temperature / static_cast<T>(batch);
  // sum_b r_bm, and sum_b r_bm [y_b = c] by class: dLoss/dv from these two.
  Row responsibility_sum = Row::Zero(slots);
  Matrix<T> responsibility_by_class = Matrix<T>::Zero(classes, slots);
  double total = 0.0;
  Row attention, responsibility;
  for (Eigen::Index b = 0; b < batch; ++b) {
    const int label = labels[b];
    attention = cosines.row(b).array() * inverse_temperature;
    responsibility = attention + log_probs_by_class.row(label).array();
    const T lse_s = SoftmaxInPlace(&attention);
    const T lse_z = SoftmaxInPlace(&responsibility);
    total += static_cast<double>(lse_s - lse_z);
    if (grad_cosines != nullptr) {
      grad_cosines->row(b).array() += grad_scale * (attention - responsibility);
    }
    responsibility_sum += responsibility;
    responsibility_by_class.row(label).array() += responsibility;
  }
  if (grad_values != nullptr) {
    grad_values->array() = (probs.array().colwise() * responsibility_sum.transpose() -
                            responsibility_by_class.transpose().array()) /
                           static_cast<T>(batch);
  }
  return static_cast<T>(total / batch);
}

template <typename T>
absl::StatusOr<T> MemoryReadoutLoss(const ConstMatrixRef<T>& features, absl::Span<const int> labels,
                                    const ConstMatrixRef<T>& keys, const ConstMatrixRef<T>& values,
                                    T temperature, Matrix<T>* grad_features, Matrix<T>* grad_keys,
                                    Matrix<T>* grad_values) {
  // The keys' labels do not enter this loss; values stand in for them.
  if (absl::Status s =
          CheckLossInputs(features.rows(), features.cols(), labels.size(), keys.rows(), keys.cols(),
                          static_cast<size_t>(values.rows()), static_cast<double>(temperature));
      !s.ok()) {
    return s;
  }
  for (int label : labels) {
    if (label < 0 || label >= values.cols()) {
      return absl::InvalidArgumentError(
          absl::StrCat("memory read-out loss: label ", label, " outside [0, ", values.cols(), ")"));
    }
  }
  Matrix<T> unit_features, unit_keys, cosines;
  ColumnVector<T> feature_norms, key_norms;
  NormalizeRows(features, &unit_features, &feature_norms);
  NormalizeRows(keys, &unit_keys, &key_norms);
  CosineSimilarities<T>(unit_features, unit_keys, &cosines);
  Matrix<T> grad_cosines = Matrix<T>::Zero(cosines.rows(), cosines.cols());
  const T loss =
      ReadoutLossFromCosines<T>(cosines, values, labels, temperature, &grad_cosines, grad_values);
  CosineSimilaritiesBackward<T>(grad_cosines, unit_features, feature_norms, unit_keys, key_norms,
                                grad_features, grad_keys);
  return loss;
}

template float ReadoutLossFromCosines<float>(const ConstMatrixRef<float>&,
                                             const ConstMatrixRef<float>&, absl::Span<const int>,
                                             float, Matrix<float>*, Matrix<float>*);
template double ReadoutLossFromCosines<double>(const ConstMatrixRef<double>&,
                                               const ConstMatrixRef<double>&, absl::Span<const int>,
                                               double, Matrix<double>*, Matrix<double>*);
template absl::StatusOr<float> MemoryReadoutLoss<float>(
    const ConstMatrixRef<float>&, absl::Span<const int>, const ConstMatrixRef<float>&,
    const ConstMatrixRef<float>&, float, Matrix<float>*, Matrix<float>*, Matrix<float>*);
template absl::StatusOr<double> MemoryReadoutLoss<double>(
    const ConstMatrixRef<double>&, absl::Span<const int>, const ConstMatrixRef<double>&,
    const ConstMatrixRef<double>&, double, Matrix<double>*, Matrix<double>*, Matrix<double>*);

}  // namespace mnemo::memory
