#ifndef MNEMO_PLUGINS_ONEDNN_ROW_GEMV_H_
#define MNEMO_PLUGINS_ONEDNN_ROW_GEMV_H_

namespace mnemo::onednn {

// y = b + x W for one row x (1 x k) and row-major weights W (k x n), in one
// sequential pass over W with up to 256 outputs held in vector registers.
//
// The one computation of the plugin not on a oneDNN primitive, for the one
// case where oneDNN 2.6 is far from the machine: a dense layer's forward
// pass at batch 1 reads each weight once, so it runs at the speed weights
// come from the core's L2. oneDNN's matmul (brgemm, weights packed) reads
// the seed MLP's 784 x 256 (800 KB) in 6.7 to 7 us, about 120 GB/s; this
// loop in 4.2 us, the L2's bandwidth (about 190 GB/s; a bare read of 800 KB
// takes 4 us), measured on the 2-core machine of notes/anchors.md. Sums run
// over k in order, one FMA each, so the result agrees with a GEMM to within
// float rounding (tests/onednn/layer_test: 1e-5 relative at k = 1000).
//
// Available only when compiled for AVX-512 (the build uses -march=native);
// the layer uses oneDNN otherwise.
bool RowGemvAvailable();

// All pointers to contiguous float arrays of the sizes above; n >= 1.
void RowGemv(const float* x, const float* w, const float* b, float* y, int k, int n);

}  // namespace mnemo::onednn

#endif  // MNEMO_PLUGINS_ONEDNN_ROW_GEMV_H_
