#ifndef MNEMO_PLUGINS_ONEDNN_NORMALIZATION_H_
#define MNEMO_PLUGINS_ONEDNN_NORMALIZATION_H_

#include <array>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "plugins/onednn/shape_cache.h"

namespace mnemo::onednn {

// oneDNN's layer or batch normalisation on a row-major float buffer of rows x
// features (oneDNN's plain `ab`, no copy), with a per-feature scale (gamma)
// and shift (beta), as primitives made once per (rows, features, mode):
//
//   kLayer  dnnl::layer_normalization_{forward,backward}: statistics per row
//           (`rows` floats each), always computed from the input
//   kBatch  dnnl::batch_normalization_{forward,backward}: statistics per
//           feature (`features` floats each), computed from the batch, or
//           given (`global_stats`: the running statistics, constants for
//           the backward pass too)
//
// The variance is the biased one (over n). Not thread-safe (the primitives'
// memory objects are rebound at every call), as layers are not.
class Normalization {
 public:
  enum class Kind { kLayer, kBatch };

  // Up to `max_threads` threads per pass (fewer for small ones).
  Normalization(Kind kind, float epsilon, int max_threads);
  ~Normalization();
  Normalization(Normalization&&) noexcept;
  Normalization& operator=(Normalization&&) noexcept;

  // dst = (src - mean) / sqrt(variance + epsilon) * scale + shift. The mean
  // and variance are written (computed from src) or, with `global_stats`
  // (kBatch only), read.
  absl::Status Forward(int rows, int features, const float* src, const float* scale,
                       const float* shift, bool global_stats, float* mean, float* variance,
                       float* dst);

  // The backward pass of a Forward with the same arguments, given its mean
  // and variance: diff_src, and diff_scale and diff_shift (written, not
  // added to). (oneDNN 2.6 asks for the shift too, which it does not need.)
  absl::Status Backward(int rows, int features, const float* src, const float* mean,
                        const float* variance, const float* diff_dst, const float* scale,
                        const float* shift, bool global_stats, float* diff_src, float* diff_scale,
                        float* diff_shift);

 private:
  struct Entry;
  absl::StatusOr<Entry*> Find(int rows, int features, bool global_stats);
  absl::Status MakeBackward(Entry& entry) const;

  Kind kind_;
  float epsilon_;
  int max_threads_;
  ShapeCache<std::array<int, 3>, Entry> cache_;
};

}  // namespace mnemo::onednn

#endif  // MNEMO_PLUGINS_ONEDNN_NORMALIZATION_H_
