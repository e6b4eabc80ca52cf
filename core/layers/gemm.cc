#include "core/layers/gemm.h"

#include <cassert>

namespace mnemo {
namespace {

// Eigen 3.4's own GEMM path (Eigen/src/Core/products/GeneralMatrixMatrix.h,
// generic_product_impl<..., GemmProduct>::scaleAndAddTo) with packing buffers
// that outlive the call. These are Eigen internals: the build pins one Eigen
// (Debian's; it is in the plugin ABI fingerprint too), and
// tests/numerics/gemm_test compares the result with Eigen's product bit for
// bit, so an Eigen that changes them fails there.
using EigenBlocking =
    Eigen::internal::gemm_blocking_space<Eigen::RowMajor, float, float, Eigen::Dynamic,
                                         Eigen::Dynamic, Eigen::Dynamic>;
using EigenGemm = Eigen::internal::general_matrix_matrix_product<
    Eigen::Index, float, Eigen::RowMajor, false, float, Eigen::RowMajor, false, Eigen::RowMajor, 1>;

// Grow-only packing buffers of this thread (Eigen's allocation is aligned as
// its kernels need).
struct PackingBuffers {
  Eigen::VectorXf a;
  Eigen::VectorXf b;
};

float* Reserve(Eigen::VectorXf& buffer, Eigen::Index size) {
  if (buffer.size() < size) buffer.resize(size);
  return buffer.data();
}

// Eigen's blocking for one product (block sizes computed by Eigen's own
// constructor, with the arguments its product passes: one thread, L3
// blocking), its buffers lent by `buffers` instead of allocated by Eigen.
class LentBlocking : public EigenBlocking {
 public:
  LentBlocking(Eigen::Index rows, Eigen::Index cols, Eigen::Index depth, PackingBuffers& buffers)
      : EigenBlocking(rows, cols, depth, 1, true) {
    this->m_blockA = Reserve(buffers.a, this->mc() * this->kc());
    this->m_blockB = Reserve(buffers.b, this->kc() * this->nc());
  }
  // Eigen's destructor frees what the pointers hold: they are not its own.
  ~LentBlocking() {
    this->m_blockA = nullptr;
    this->m_blockB = nullptr;
  }
};

}  // namespace

void MultiplyAdd(const Tensor& a, const Tensor& b, Tensor* c) {
  assert(a.cols() == b.rows() && c->rows() == a.rows() && c->cols() == b.cols());
  const Eigen::Index rows = a.rows(), cols = b.cols(), depth = a.cols();
  if (rows == 0 || cols == 0 || depth == 0) return;
  // Where Eigen would not run its GEMM (a small product computed coefficient
  // by coefficient, or a matrix-vector product) it packs nothing: let it
  // compute as always.
  if (depth + rows + cols < EIGEN_GEMM_TO_COEFFBASED_THRESHOLD || rows == 1 || cols == 1) {
    c->noalias() += a * b;
    return;
  }
  thread_local PackingBuffers buffers;
  LentBlocking blocking(rows, cols, depth, buffers);
  EigenGemm::run(rows, cols, depth, a.data(), a.outerStride(), b.data(), b.outerStride(), c->data(),
                 c->innerStride(), c->outerStride(), 1.0f, blocking, nullptr);
}

}  // namespace mnemo
