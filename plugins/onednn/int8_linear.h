#ifndef MNEMO_PLUGINS_ONEDNN_INT8_LINEAR_H_
#define MNEMO_PLUGINS_ONEDNN_INT8_LINEAR_H_

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "plugins/onednn/shape_cache.h"
#include "plugins/onednn/vnni_gemv.h"

namespace mnemo::onednn {

// The product of a quantized dense layer, y = x W + b with int8 weights:
//
//   y[i][j] = sx_i * weight_scale[j] * sum_r q(x)[i][r] * Wq[r][j] + bias[j]
//
// Wq (k x n, row-major, values in [-127, 127]) holds w[r][j] ~= Wq[r][j] *
// weight_scale[j] (symmetric, a scale per output). q(x) is x quantized
// symmetrically to [-127, 127] (QuantizeRows, int8_quantize.h): with
// input_scale > 0 by that one scale (static), with input_scale == 0 by a
// scale per row, max|x_i| / 127 (dynamic: a sample's answer never depends on
// the other rows of its batch; an all-zero row gives y = bias). The sums are
// exact in int32; the epilogue is one float FMA per output,
// fma(float(sum), sx_i * weight_scale[j], bias[j]).
//
// Few rows (up to `vnni_rows_up_to`, batch-1 inference) run on VnniGemv
// (vnni_gemv.h), one pass over weights packed for AVX512-VNNI; more on a
// oneDNN int8 matmul (s8 x s8 -> s32, weights reordered into its layout)
// followed by the same epilogue. Both give the same int32 sums and the same
// float operations on them, so the same floats, bit for bit.
//
// Not thread-safe (buffers and packed weights are members), as layers are
// not. No allocation in the steady state: buffers are grown, never shrunk,
// and primitives made once per shape (ShapeCache).
class Int8Linear {
 public:
  // Up to this many rows the VNNI kernel (int8_linear_benchmark, on the
  // 2-core Zen 4 of notes/anchors.md, 784 x 256: 1.3 us at 1 row against
  // oneDNN's 2.5; level with it from 8 to 256 rows on one thread, both
  // running vpdpbusd at the core's rate). Beyond, oneDNN's matmul, though
  // at 256 rows on two threads the VNNI kernel with the rows split was
  // faster (92 against 108 us, 5 quiet repetitions): worth measuring on
  // more shapes before moving the threshold.
  static constexpr int kVnniRowsUpTo = 16;

  // Up to `max_threads` threads per product, fewer for small ones (the VNNI
  // kernel splits rows among them; batch 1 runs on the calling thread).
  // `vnni_rows_up_to` other than the default: tests and benchmarks forcing
  // a path.
  explicit Int8Linear(int max_threads, int vnni_rows_up_to = kVnniRowsUpTo);
  ~Int8Linear();
  Int8Linear(Int8Linear&&) noexcept;
  Int8Linear& operator=(Int8Linear&&) noexcept;

  // Whether this build and this CPU have what the kernels use (AVX-512 BW,
  // VL and VNNI). Run() fails when not; a layer checks this first.
  static bool Available();

  // y (m x n) for x (m x k, row-major floats, finite), weights Wq (k x n
  // int8), weight_scale (n floats), bias (n floats or null); m >= 0,
  // 1 <= k <= 2^17 (int32 sums stay exact), n >= 1, input_scale >= 0.
  // `weights_version` identifies the values of weights and weight_scale
  // (Layer::parameter_version()): it must change whenever they do, as
  // anything made from the weights (packed layouts) is kept until it does.
  absl::Status Run(int m, int k, int n, const float* x, float input_scale, const int8_t* weights,
                   const float* weight_scale, const float* bias, float* y,
                   uint64_t weights_version);

 private:
  struct Entry;  // a oneDNN primitive for one shape
  absl::StatusOr<std::unique_ptr<Entry>> Make(int m, int k, int n) const;
  absl::Status RunOneDnn(int m, int k, int n, const int8_t* weights, uint64_t weights_version);

  int max_threads_;
  int vnni_rows_up_to_;
  // q(x), rows padded to a multiple of 4 bytes (VnniGemv reads whole groups),
  // its row scales, and oneDNN's int32 sums.
  std::vector<int8_t> quantized_;
  std::vector<float> row_scales_;
  std::vector<int32_t> sums_;
  // The weights packed for VnniGemv, and the version they were packed from.
  VnniWeights vnni_;
  bool vnni_valid_ = false;
  uint64_t vnni_version_ = 0;
  ShapeCache<std::array<int, 3>, Entry> cache_;
};

}  // namespace mnemo::onednn

#endif  // MNEMO_PLUGINS_ONEDNN_INT8_LINEAR_H_
