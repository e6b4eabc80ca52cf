#ifndef MNEMO_CORE_LAYERS_NORM_KERNELS_H_
#define MNEMO_CORE_LAYERS_NORM_KERNELS_H_

// The loops of LayerNorm and BatchNorm over one row of n floats, written so
// that an element's result depends on its column and the values alone, never
// on where the row lies in memory.
//
// Why not Eigen: its vectorised loops start a row with scalar steps up to the
// first aligned address, so in a batch whose width is not a multiple of 16
// the same sample in another row takes another mix of scalar and vector steps
// (an element multiplied and added in one, fused into an FMA in the other;
// partial sums in another order). A row's output would then depend on its
// place in the batch, which the memo (caching/memo: a frozen LayerNorm's rows
// are looked up, not recomputed) cannot allow. Here every row is taken in
// blocks of kBlock columns from its first element, then a scalar tail: the
// compiler turns each block into vector instructions (unaligned loads), and
// column j always takes the same path for a given n. Sums keep kBlock partial
// sums, one per column mod kBlock, combined in a fixed order.
//
// Pointers of one call must not overlap (they are declared __restrict).

namespace mnemo::norm {

inline constexpr int kBlock = 16;

// Sum of x[0, n).
float Sum(const float* x, int n);

// Sum of (x[j] - center)^2 over j in [0, n).
float SumSquaredDeviations(const float* x, int n, float center);

// sum[j] += x[j].
void AddTo(const float* x, int n, float* sum);

// sum[j] += (x[j] - center[j])^2.
void AddSquaredDeviations(const float* x, int n, const float* center, float* sum);

// y[j] = (x[j] - mean) * rstd * gamma[j] + beta[j]: LayerNorm's row, with the
// row's mean and 1 / sqrt(variance + epsilon).
void NormalizeRow(const float* x, int n, float mean, float rstd, const float* gamma,
                  const float* beta, float* y);

// y[j] = (x[j] - mean[j]) * k[j] + beta[j]: BatchNorm's row, with the
// per-feature k = gamma / sqrt(variance + epsilon). (Not x * k + (beta -
// mean * k), one operation fewer: a batch of one row, whose x is its mean,
// then gives beta exactly.)
void NormalizeColumns(const float* x, int n, const float* mean, const float* k, const float* beta,
                      float* y);

// With xhat[j] = (x[j] - mean[j]) * rstd[j] (BatchNorm's normalised input):
// sum_dy[j] += dy[j] and sum_dy_xhat[j] += dy[j] * xhat[j].
void AddColumnGradientSums(const float* x, const float* dy, int n, const float* mean,
                           const float* rstd, float* sum_dy, float* sum_dy_xhat);

// BatchNorm's input gradient: dx[j] = k[j] * (dy[j] - a[j] - xhat[j] * b[j])
// with xhat as above, k = gamma * rstd, a = mean of dy over the batch and b =
// mean of dy * xhat (a = b = 0 when the statistics are not the batch's).
void BatchNormInputGradient(const float* x, const float* dy, int n, const float* mean,
                            const float* rstd, const float* k, const float* a, const float* b,
                            float* dx);

// LayerNorm's row sums for its backward pass, with xhat[j] = (x[j] - mean) *
// rstd and g[j] = dy[j] * gamma[j]: returns sum g and sum g * xhat in *sum_g
// and *sum_g_xhat, and adds dy[j] * xhat[j] to dgamma[j] and dy[j] to
// dbeta[j].
void LayerNormRowSums(const float* x, const float* dy, int n, float mean, float rstd,
                      const float* gamma, float* sum_g, float* sum_g_xhat, float* dgamma,
                      float* dbeta);

// LayerNorm's input gradient for a row: dx[j] = rstd * (g[j] - mean_g -
// xhat[j] * mean_g_xhat), with xhat and g as above and the means over the
// row's n columns.
void LayerNormInputGradient(const float* x, const float* dy, int n, float mean, float rstd,
                            const float* gamma, float mean_g, float mean_g_xhat, float* dx);

}  // namespace mnemo::norm

#endif  // MNEMO_CORE_LAYERS_NORM_KERNELS_H_
