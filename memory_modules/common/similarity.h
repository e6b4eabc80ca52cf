#ifndef MNEMO_MEMORY_MODULES_COMMON_SIMILARITY_H_
#define MNEMO_MEMORY_MODULES_COMMON_SIMILARITY_H_

// Cosine similarity of a batch of queries with a memory's keys, and its
// backward pass, as whole-matrix operations: one GEMM forward, two backward,
// never a loop of per-sample dot products.
//
// Templated on the scalar so that the tests can check the float code the
// modules run against the same code in double. Instantiated for float and
// double only.

#include "absl/status/status.h"
#include "core/backend.h"
#include "core/tensor.h"

namespace mnemo::memory {

// Row-major like Tensor (Matrix<float> is Tensor).
template <typename T>
using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using ColumnVector = Eigen::Matrix<T, Eigen::Dynamic, 1>;

// A read-only view of a matrix or of a block of rows of one (a memory's filled
// slots), without a copy. Spelled through a struct so that T is never deduced
// from it: a Tensor or a block binds by conversion, and T comes from the
// other arguments.
template <typename T>
struct ConstRefOf {
  using type = Eigen::Ref<const Matrix<T>>;
};
template <typename T>
using ConstMatrixRef = typename ConstRefOf<T>::type;

// unit.row(i) = x.row(i) / |x.row(i)|, norms(i) = |x.row(i)|. A zero row (or
// one too small to divide by) stays zero with norm 0, so its cosine with
// anything is 0 and its gradient 0, never NaN.
template <typename T>
void NormalizeRows(const ConstMatrixRef<T>& x, Matrix<T>* unit, ColumnVector<T>* norms);

// A writable view of a matrix or of a block of its rows; T is not deduced
// from it either.
template <typename T>
struct MutableRefOf {
  using type = Eigen::Ref<Matrix<T>>;
};
template <typename T>
using MutableMatrixRef = typename MutableRefOf<T>::type;

// NormalizeRows in place, for learnable keys that an optimizer moves off the
// unit sphere: afterwards *norms holds the norms of the rows as they are now,
// 1 (or 0 for a zero row). Rows still unit to within a few ulps are not
// rewritten, so keys that did not move cost one read.
template <typename T>
void NormalizeRowsInPlace(MutableMatrixRef<T> x, ColumnVector<T>* norms);

// cosines(b, m) = unit_queries.row(b) . unit_keys.row(m): one GEMM, B x n.
template <typename T>
void CosineSimilarities(const ConstMatrixRef<T>& unit_queries, const ConstMatrixRef<T>& unit_keys,
                        Matrix<T>* cosines);

// The same GEMM on a compute backend (Backend::MatMulTransposed): what the
// memory modules run, so that a model on the oneDNN backend searches its
// memory with oneDNN too. Errors are the backend's.
absl::Status CosineSimilarities(const Backend& backend, const ConstMatrixRef<float>& unit_queries,
                                const ConstMatrixRef<float>& unit_keys, Tensor* cosines);

// The backward pass of cosines = normalize(Q) normalize(K)^T, from
// grad_cosines = dL/dcosines (B x n): writes dL/dQ (B x d) into
// *grad_queries and dL/dK (n x d) into *grad_keys, either of which may be
// null. The norms are NormalizeRows's; rows of norm 0 get zero gradient.
template <typename T>
void CosineSimilaritiesBackward(const ConstMatrixRef<T>& grad_cosines,
                                const ConstMatrixRef<T>& unit_queries,
                                const ColumnVector<T>& query_norms,
                                const ConstMatrixRef<T>& unit_keys,
                                const ColumnVector<T>& key_norms, Matrix<T>* grad_queries,
                                Matrix<T>* grad_keys);

}  // namespace mnemo::memory

#endif  // MNEMO_MEMORY_MODULES_COMMON_SIMILARITY_H_
