#include "memory_modules/common/similarity.h"

#include <cmath>
#include <limits>

#include "core/avx512_warning_workaround.h"  // first: see there

namespace mnemo::memory {
namespace {

// 1 / norm, or 0 for a norm too small to divide by: the smallest normal
// number rather than 0, so that a denormal norm cannot overflow the inverse.
template <typename T>
ColumnVector<T> SafeInverse(const ColumnVector<T>& norms) {
  return (norms.array() >= std::numeric_limits<T>::min())
      .select(norms.array().inverse(), T(0))
      .matrix();
}

// dL/dx from dL/du for u = x / |x|: (g - u (u . g)) / |x|, the component of g
// along u dropped (scaling x does not move u), zero where |x| is 0.
template <typename T>
void NormalizationBackward(const Matrix<T>& grad_unit, const ConstMatrixRef<T>& unit,
                           const ColumnVector<T>& norms, Matrix<T>* grad_x) {
  const ColumnVector<T> along = grad_unit.cwiseProduct(unit).rowwise().sum();
  const ColumnVector<T> inverse = SafeInverse(norms);
  grad_x->resize(grad_unit.rows(), grad_unit.cols());
  grad_x->array() =
      (grad_unit.array() - unit.array().colwise() * along.array()).colwise() * inverse.array();
}

}  // namespace

template <typename T>
void NormalizeRows(const ConstMatrixRef<T>& x, Matrix<T>* unit, ColumnVector<T>* norms) {
  *norms = x.rowwise().norm();
  const ColumnVector<T> inverse = SafeInverse(*norms);
  unit->resize(x.rows(), x.cols());
  unit->array() = x.array().colwise() * inverse.array();
  // A row whose norm was too small is zero from here on, norm included, so
  // that the backward pass agrees with the forward one.
  *norms = (inverse.array() == T(0)).select(T(0), norms->array()).matrix();
}

template <typename T>
void NormalizeRowsInPlace(MutableMatrixRef<T> x, ColumnVector<T>* norms) {
  *norms = x.rowwise().norm();
  const T tolerance = 8 * std::numeric_limits<T>::epsilon();
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    T& norm = (*norms)(r);
    if (norm < std::numeric_limits<T>::min()) {
      x.row(r).setZero();
      norm = T(0);
      continue;
    }
    if (std::abs(norm - T(1)) > tolerance) x.row(r) /= norm;
    norm = T(1);
  }
}

template <typename T>
void CosineSimilarities(const ConstMatrixRef<T>& unit_queries, const ConstMatrixRef<T>& unit_keys,
                        Matrix<T>* cosines) {
  cosines->resize(unit_queries.rows(), unit_keys.rows());
  if (cosines->size() == 0) return;
  cosines->noalias() = unit_queries * unit_keys.transpose();
}

absl::Status CosineSimilarities(const Backend& backend, const ConstMatrixRef<float>& unit_queries,
                                const ConstMatrixRef<float>& unit_keys, Tensor* cosines) {
  return backend.MatMulTransposed(unit_queries, unit_keys, cosines);
}

template <typename T>
void CosineSimilaritiesBackward(const ConstMatrixRef<T>& grad_cosines,
                                const ConstMatrixRef<T>& unit_queries,
                                const ColumnVector<T>& query_norms,
                                const ConstMatrixRef<T>& unit_keys,
                                const ColumnVector<T>& key_norms, Matrix<T>* grad_queries,
                                Matrix<T>* grad_keys) {
  Matrix<T> grad_unit;
  if (grad_queries != nullptr) {
    grad_unit.setZero(unit_queries.rows(), unit_queries.cols());
    if (unit_keys.rows() > 0) grad_unit.noalias() = grad_cosines * unit_keys;
    NormalizationBackward(grad_unit, unit_queries, query_norms, grad_queries);
  }
  if (grad_keys != nullptr) {
    grad_unit.setZero(unit_keys.rows(), unit_keys.cols());
    if (unit_queries.rows() > 0) grad_unit.noalias() = grad_cosines.transpose() * unit_queries;
    NormalizationBackward(grad_unit, unit_keys, key_norms, grad_keys);
  }
}

template void NormalizeRows<float>(const ConstMatrixRef<float>&, Matrix<float>*,
                                   ColumnVector<float>*);
template void NormalizeRows<double>(const ConstMatrixRef<double>&, Matrix<double>*,
                                    ColumnVector<double>*);
template void NormalizeRowsInPlace<float>(MutableMatrixRef<float>, ColumnVector<float>*);
template void NormalizeRowsInPlace<double>(MutableMatrixRef<double>, ColumnVector<double>*);
template void CosineSimilarities<float>(const ConstMatrixRef<float>&, const ConstMatrixRef<float>&,
                                        Matrix<float>*);
template void CosineSimilarities<double>(const ConstMatrixRef<double>&,
                                         const ConstMatrixRef<double>&, Matrix<double>*);
template void CosineSimilaritiesBackward<float>(
    const ConstMatrixRef<float>&, const ConstMatrixRef<float>&, const ColumnVector<float>&,
    const ConstMatrixRef<float>&, const ColumnVector<float>&, Matrix<float>*, Matrix<float>*);
template void CosineSimilaritiesBackward<double>(
    const ConstMatrixRef<double>&, const ConstMatrixRef<double>&, const ColumnVector<double>&,
    const ConstMatrixRef<double>&, const ColumnVector<double>&, Matrix<double>*, Matrix<double>*);

}  // namespace mnemo::memory
