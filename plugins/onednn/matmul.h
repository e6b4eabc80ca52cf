#ifndef MNEMO_PLUGINS_ONEDNN_MATMUL_H_
#define MNEMO_PLUGINS_ONEDNN_MATMUL_H_

#include <array>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "plugins/onednn/shape_cache.h"

namespace mnemo::onednn {

// One matrix product on row-major float (or bf16: Options::bf16) buffers, as a oneDNN matmul
// primitive made once per shape:
//
//   dst (m x n)  = src (m x k) * weights (k x n) [+ bias (1 x n)]
//   dst (m x n) += src (m x k) * weights (k x n)          (accumulate)
//
// `src` may be given as its transpose (a k x m buffer) and `weights` as
// theirs (an n x k buffer): the transposes a dense layer's backward pass
// multiplies by are strides of a memory descriptor, never copies. The
// accumulation is a sum post-op, so parameter gradients are added in place
// without a temporary. Not thread-safe (the primitives' memory objects are
// rebound at every call), as layers are not.
class MatMul {
 public:
  struct Options {
    bool src_transposed = false;      // src is a k x m buffer
    bool weights_transposed = false;  // weights are an n x k buffer
    bool bias = false;                // adds a 1 x n row
    bool accumulate = false;          // dst += product
    // Up to this many rows, the weights are reordered into the layout
    // oneDNN's kernel prefers (blocked) once per weights_version, and that
    // copy is used until the version changes: worth it when few rows meet
    // the same weights many times (inference), where a kernel reading plain
    // rows of weights is slower. 0 = never.
    int pack_weights_up_to_rows = 0;
    // src and weights are bf16 (uint16 bit patterns) rather than float; the
    // products accumulate in fp32 and dst and bias stay float.
    bool bf16 = false;
  };

  // Up to `max_threads` threads per product (fewer for small ones).
  MatMul(Options options, int max_threads);
  ~MatMul();
  MatMul(MatMul&&) noexcept;
  MatMul& operator=(MatMul&&) noexcept;

  // The product for these sizes (each > 0), on contiguous row-major buffers
  // of the shapes above; `bias` only with Options::bias. `weights_version`
  // identifies the weights' values (Layer::parameter_version()): it must
  // change whenever they do, or packed weights would be stale.
  absl::Status Run(int m, int k, int n, const void* src, const void* weights, const float* bias,
                   float* dst, uint64_t weights_version = 0);

  // Shapes with a primitive now (at most ShapeCache's capacity).
  size_t cached_shapes() const { return cache_.size(); }

 private:
  struct Entry;
  absl::StatusOr<std::unique_ptr<Entry>> Make(int m, int k, int n) const;

  Options options_;
  int max_threads_;
  ShapeCache<std::array<int, 3>, Entry> cache_;
};

}  // namespace mnemo::onednn

#endif  // MNEMO_PLUGINS_ONEDNN_MATMUL_H_
