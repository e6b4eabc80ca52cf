#ifndef MNEMO_PLUGINS_ONEDNN_VNNI_GEMV_H_
#define MNEMO_PLUGINS_ONEDNN_VNNI_GEMV_H_

#include <cstdint>
#include <vector>

namespace mnemo::onednn {

// int8 weights (k x n, row-major) in the layout AVX512-VNNI's vpdpbusd
// reads, and the column sums that undo its unsigned operand:
//
//   block (g, v), 64 bytes: byte 4 c + t = w[4 g + t][16 v + c]
//   (t < 4, c < 16), blocks ordered by g then v; k padded to a multiple of 4
//   and n to one of 16 with zero weights.
//
// vpdpbusd multiplies unsigned by signed bytes, so a row of q (int8) enters
// as q + 128 (uint8) and sum_r (q_r + 128) w_rj = sum_r q_r w_rj + 128 s_j:
// the accumulators start at -128 s_j, s_j the column sum. int32 arithmetic
// wraps, so the result is exact whenever the true sum fits in int32
// (k <= 2^17 always does: 127 * 127 * 2^17 < 2^31).
class VnniWeights {
 public:
  // Packs `w`; buffers are grown, never shrunk.
  void Pack(const int8_t* w, int k, int n);

  int k() const { return k_; }
  int n() const { return n_; }
  int groups() const { return groups_; }    // ceil(k / 4)
  int vectors() const { return vectors_; }  // ceil(n / 16)
  const int8_t* blocks() const { return reinterpret_cast<const int8_t*>(blocks_.data()); }
  const int32_t* offsets() const { return offsets_.data(); }  // -128 s_j, vectors * 16

 private:
  struct alignas(64) Block {
    int8_t bytes[64];
  };
  int k_ = 0, n_ = 0, groups_ = 0, vectors_ = 0;
  std::vector<Block> blocks_;
  std::vector<int32_t> offsets_;
};

// y (m x n) = dequantized q W + bias for a few rows, on AVX512-VNNI:
// y[i][j] = Dequantize16 (int8_quantize.h) of sum_r q[i][r] w[r][j] (exact
// int32), the same floats as the oneDNN path of Int8Linear gives. Rows of q
// are `q_stride` bytes, q_stride >= 4 * w.groups() (the bytes past k are
// read and multiply zero weights); weight_scale has n floats, bias n or null.
//
// Rows are taken 4, 2 or 1 at a time with 16 int32 accumulators in
// registers (16, 8 or 4 vectors of 16 columns), so that a weight block
// loaded once serves every row in flight. For a batch of 1 this is one pass
// over the weights at the L2's bandwidth, a quarter of the bytes of the
// float weights RowGemv reads (row_gemv.h).
void VnniGemv(int m, const int8_t* q, int q_stride, const float* row_scale, const VnniWeights& w,
              const float* weight_scale, const float* bias, float* y);

}  // namespace mnemo::onednn

#endif  // MNEMO_PLUGINS_ONEDNN_VNNI_GEMV_H_
