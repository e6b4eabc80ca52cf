#include "core/layers/norm_kernels.h"

namespace mnemo::norm {
namespace {

// The kBlock partial sums, halved pairwise down to one: a fixed order.
float Combine(float* lanes) {
  for (int width = kBlock / 2; width > 0; width /= 2) {
    for (int k = 0; k < width; ++k) lanes[k] += lanes[k + width];
  }
  return lanes[0];
}

}  // namespace

// Every loop below has the same shape: whole blocks of kBlock columns, whose
// inner loop of constant length the compiler vectorises, then the tail one
// column at a time.

float Sum(const float* __restrict x, int n) {
  float lanes[kBlock] = {};
  int j = 0;
  for (; j + kBlock <= n; j += kBlock) {
    for (int k = 0; k < kBlock; ++k) lanes[k] += x[j + k];
  }
  float sum = Combine(lanes);
  for (; j < n; ++j) sum += x[j];
  return sum;
}

float SumSquaredDeviations(const float* __restrict x, int n, float center) {
  float lanes[kBlock] = {};
  int j = 0;
  for (; j + kBlock <= n; j += kBlock) {
    for (int k = 0; k < kBlock; ++k) {
      const float d = x[j + k] - center;
      lanes[k] += d * d;
    }
  }
  float sum = Combine(lanes);
  for (; j < n; ++j) {
    const float d = x[j] - center;
    sum += d * d;
  }
  return sum;
}

void AddTo(const float* __restrict x, int n, float* __restrict sum) {
  int j = 0;
  for (; j + kBlock <= n; j += kBlock) {
    for (int k = 0; k < kBlock; ++k) sum[j + k] += x[j + k];
  }
  for (; j < n; ++j) sum[j] += x[j];
}

void AddSquaredDeviations(const float* __restrict x, int n, const float* __restrict center,
                          float* __restrict sum) {
  int j = 0;
  for (; j + kBlock <= n; j += kBlock) {
    for (int k = 0; k < kBlock; ++k) {
      const float d = x[j + k] - center[j + k];
      sum[j + k] += d * d;
    }
  }
  for (; j < n; ++j) {
    const float d = x[j] - center[j];
    sum[j] += d * d;
  }
}

void NormalizeRow(const float* __restrict x, int n, float mean, float rstd,
                  const float* __restrict gamma, const float* __restrict beta,
                  float* __restrict y) {
  int j = 0;
  for (; j + kBlock <= n; j += kBlock) {
    for (int k = 0; k < kBlock; ++k) {
      y[j + k] = (x[j + k] - mean) * rstd * gamma[j + k] + beta[j + k];
    }
  }
  for (; j < n; ++j) y[j] = (x[j] - mean) * rstd * gamma[j] + beta[j];
}

void NormalizeColumns(const float* __restrict x, int n, const float* __restrict mean,
                      const float* __restrict k, const float* __restrict beta,
                      float* __restrict y) {
  int j = 0;
  for (; j + kBlock <= n; j += kBlock) {
    for (int i = 0; i < kBlock; ++i) {
      const int c = j + i;
      y[c] = (x[c] - mean[c]) * k[c] + beta[c];
    }
  }
  for (; j < n; ++j) y[j] = (x[j] - mean[j]) * k[j] + beta[j];
}

void AddColumnGradientSums(const float* __restrict x, const float* __restrict dy, int n,
                           const float* __restrict mean, const float* __restrict rstd,
                           float* __restrict sum_dy, float* __restrict sum_dy_xhat) {
  int j = 0;
  for (; j + kBlock <= n; j += kBlock) {
    for (int k = 0; k < kBlock; ++k) {
      const float xhat = (x[j + k] - mean[j + k]) * rstd[j + k];
      sum_dy[j + k] += dy[j + k];
      sum_dy_xhat[j + k] += dy[j + k] * xhat;
    }
  }
  for (; j < n; ++j) {
    const float xhat = (x[j] - mean[j]) * rstd[j];
    sum_dy[j] += dy[j];
    sum_dy_xhat[j] += dy[j] * xhat;
  }
}

void BatchNormInputGradient(const float* __restrict x, const float* __restrict dy, int n,
                            const float* __restrict mean, const float* __restrict rstd,
                            const float* __restrict k, const float* __restrict a,
                            const float* __restrict b, float* __restrict dx) {
  int j = 0;
  for (; j + kBlock <= n; j += kBlock) {
    for (int i = 0; i < kBlock; ++i) {
      const int c = j + i;
      const float xhat = (x[c] - mean[c]) * rstd[c];
      dx[c] = k[c] * (dy[c] - a[c] - xhat * b[c]);
    }
  }
  for (; j < n; ++j) {
    const float xhat = (x[j] - mean[j]) * rstd[j];
    dx[j] = k[j] * (dy[j] - a[j] - xhat * b[j]);
  }
}

void LayerNormRowSums(const float* __restrict x, const float* __restrict dy, int n, float mean,
                      float rstd, const float* __restrict gamma, float* sum_g, float* sum_g_xhat,
                      float* __restrict dgamma, float* __restrict dbeta) {
  float lanes_g[kBlock] = {};
  float lanes_g_xhat[kBlock] = {};
  int j = 0;
  for (; j + kBlock <= n; j += kBlock) {
    for (int k = 0; k < kBlock; ++k) {
      const int c = j + k;
      const float xhat = (x[c] - mean) * rstd;
      const float g = dy[c] * gamma[c];
      lanes_g[k] += g;
      lanes_g_xhat[k] += g * xhat;
      dgamma[c] += dy[c] * xhat;
      dbeta[c] += dy[c];
    }
  }
  float total_g = Combine(lanes_g);
  float total_g_xhat = Combine(lanes_g_xhat);
  for (; j < n; ++j) {
    const float xhat = (x[j] - mean) * rstd;
    const float g = dy[j] * gamma[j];
    total_g += g;
    total_g_xhat += g * xhat;
    dgamma[j] += dy[j] * xhat;
    dbeta[j] += dy[j];
  }
  *sum_g = total_g;
  *sum_g_xhat = total_g_xhat;
}

void LayerNormInputGradient(const float* __restrict x, const float* __restrict dy, int n,
                            float mean, float rstd, const float* __restrict gamma, float mean_g,
                            float mean_g_xhat, float* __restrict dx) {
  int j = 0;
  for (; j + kBlock <= n; j += kBlock) {
    for (int k = 0; k < kBlock; ++k) {
      const int c = j + k;
      const float xhat = (x[c] - mean) * rstd;
      dx[c] = rstd * (dy[c] * gamma[c] - mean_g - xhat * mean_g_xhat);
    }
  }
  for (; j < n; ++j) {
    const float xhat = (x[j] - mean) * rstd;
    dx[j] = rstd * (dy[j] * gamma[j] - mean_g - xhat * mean_g_xhat);
  }
}

}  // namespace mnemo::norm
