#ifndef MNEMO_PLUGINS_ONEDNN_ELTWISE_H_
#define MNEMO_PLUGINS_ONEDNN_ELTWISE_H_

#include <array>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "plugins/onednn/shape_cache.h"

namespace mnemo::onednn {

// An element-wise activation on row-major float buffers, forward and
// backward, as oneDNN eltwise primitives made once per shape. The algorithm
// is a "use_dst_for_bwd" one (relu, logistic, tanh): its backward pass reads
// the forward output, as the Layer interface provides it, instead of the
// input. Not thread-safe, as layers are not.
class Eltwise {
 public:
  // Up to `max_threads` threads per pass (fewer for small ones).
  Eltwise(dnnl::algorithm algorithm, int max_threads);
  ~Eltwise();
  Eltwise(Eltwise&&) noexcept;
  Eltwise& operator=(Eltwise&&) noexcept;

  // dst = f(src), rows x cols each (> 0).
  absl::Status Forward(int rows, int cols, const float* src, float* dst);

  // diff_src = diff_dst * f'(x), from dst = f(x).
  absl::Status Backward(int rows, int cols, const float* dst, const float* diff_dst,
                        float* diff_src);

 private:
  struct Entry;
  absl::StatusOr<Entry*> Find(int rows, int cols);
  absl::Status MakeBackward(Entry& entry) const;

  dnnl::algorithm algorithm_;
  int max_threads_;
  ShapeCache<std::array<int, 2>, Entry> cache_;
};

}  // namespace mnemo::onednn

#endif  // MNEMO_PLUGINS_ONEDNN_ELTWISE_H_
