#ifndef MNEMO_CORE_LAYERS_GEMM_H_
#define MNEMO_CORE_LAYERS_GEMM_H_

#include "core/tensor.h"

namespace mnemo {

// c += a * b for row-major float tensors (a.cols() == b.rows(), c already
// a.rows() x b.cols()), bit for bit what Eigen's `c.noalias() += a * b` gives
// (the same kernel with the same blocking) but without its allocation per
// call.
//
// For a matrix-matrix product Eigen packs blocks of both operands into
// buffers sized from the shape and the cache sizes: for the seed MLP's
// 784 x 256 weight they exceed its 128 KiB stack limit, so it mallocs and
// frees them on every call. Here they are kept per thread and only grow, so
// once a thread has needed buffers as large, products allocate nothing. The
// price: each thread that multiplied keeps its largest buffers until it ends
// (1.2 MiB for the seed MLP at batch 256, 14 MiB for 4096-wide layers at
// large batches). Vector products (one row or one column) and tiny ones,
// which Eigen computes without such buffers, go to Eigen unchanged.
void MultiplyAdd(const Tensor& a, const Tensor& b, Tensor* c);

}  // namespace mnemo

#endif  // MNEMO_CORE_LAYERS_GEMM_H_
