// Int8Linear (plugins/onednn/int8_linear.h) against an independent
// computation in this file: x quantized by the formula of the contract
// (scalar code), exact integer dot products in int64, scales applied in
// double. The kernel's epilogue is one float FMA per output on an exact
// int32 sum (converted to float: exact below 2^24, else one rounding) and a
// float product of the scales, a few float roundings: its outputs are held
// to kEpilogueTolerance (1e-6) relative to |scaled sum| + |bias|. The VNNI
// kernel and oneDNN's int8 matmul are run on the same inputs and must agree
// bit for bit; against the float product of the unquantized weights, the
// error must stay within the bound that quantization allows.
#include "plugins/onednn/int8_linear.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "tests/testing/tensors.h"

namespace mnemo::onednn {
namespace {

using ::mnemo::testing::SameBits;
using ::mnemo::testing::TestRng;

constexpr double kEpilogueTolerance = 1e-6;

// Forces a path: every row count on the VNNI kernel, or none.
constexpr int kAlwaysVnni = 1 << 30;
constexpr int kNeverVnni = 0;

struct Problem {
  int m, k, n;
  std::vector<float> x;             // m x k
  std::vector<int8_t> weights;      // k x n
  std::vector<float> weight_scale;  // n
  std::vector<float> bias;          // n
};

Problem RandomProblem(int m, int k, int n, uint32_t seed) {
  TestRng rng(seed);
  Problem p{m, k, n, {}, {}, {}, {}};
  p.x.resize(static_cast<size_t>(m) * k);
  for (float& v : p.x) v = rng.Uniform(-2.0f, 3.0f);  // negative and positive
  p.weights.resize(static_cast<size_t>(k) * n);
  for (int8_t& w : p.weights) {
    w = static_cast<int8_t>(std::clamp(std::floor(rng.Uniform(-127.0f, 128.0f)), -127.0f, 127.0f));
  }
  p.weight_scale.resize(n);
  for (float& s : p.weight_scale) s = rng.Uniform(0.001f, 0.02f);
  p.bias.resize(n);
  for (float& b : p.bias) b = rng.Uniform(-1.0f, 1.0f);
  return p;
}

// q(x) of row i and its scale, as the contract says, in scalar code.
std::vector<int> QuantizeRow(const Problem& p, int i, float input_scale, float* scale) {
  const float* row = p.x.data() + static_cast<size_t>(i) * p.k;
  float max_abs = 0.0f;
  for (int r = 0; r < p.k; ++r) max_abs = std::max(max_abs, std::fabs(row[r]));
  *scale = input_scale > 0.0f ? input_scale : max_abs / 127.0f;
  std::vector<int> q(p.k, 0);
  if (*scale == 0.0f) return q;
  const float inverse = 1.0f / *scale;
  for (int r = 0; r < p.k; ++r) {
    const float scaled = std::isfinite(inverse) ? row[r] * inverse : row[r] / *scale;
    const float rounded = std::nearbyint(scaled);  // ties to even
    q[r] = static_cast<int>(std::clamp(rounded, -127.0f, 127.0f));
  }
  return q;
}

// Checks y against the reference within kEpilogueTolerance.
void ExpectMatchesReference(const Problem& p, float input_scale, const std::vector<float>& y,
                            bool with_bias) {
  ASSERT_EQ(y.size(), static_cast<size_t>(p.m) * p.n);
  for (int i = 0; i < p.m; ++i) {
    float scale = 0.0f;
    const std::vector<int> q = QuantizeRow(p, i, input_scale, &scale);
    for (int j = 0; j < p.n; ++j) {
      int64_t sum = 0;
      for (int r = 0; r < p.k; ++r)
        sum += int64_t{q[r]} * p.weights[static_cast<size_t>(r) * p.n + j];
      const double product =
          static_cast<double>(scale) * p.weight_scale[j] * static_cast<double>(sum);
      const double bias = with_bias ? p.bias[j] : 0.0;
      const double expected = product + bias;
      const double got = y[static_cast<size_t>(i) * p.n + j];
      ASSERT_LE(std::fabs(got - expected),
                kEpilogueTolerance * (std::fabs(product) + std::fabs(bias)) + 1e-30)
          << "m=" << p.m << " k=" << p.k << " n=" << p.n << " input_scale=" << input_scale
          << " at (" << i << ", " << j << "): " << got << " vs " << expected;
    }
  }
}

std::vector<float> RunLinear(Int8Linear& linear, const Problem& p, float input_scale,
                             bool with_bias, uint64_t version = 1) {
  std::vector<float> y(static_cast<size_t>(p.m) * p.n, -12345.0f);
  const absl::Status status =
      linear.Run(p.m, p.k, p.n, p.x.data(), input_scale, p.weights.data(), p.weight_scale.data(),
                 with_bias ? p.bias.data() : nullptr, y.data(), version);
  EXPECT_TRUE(status.ok()) << status;
  return y;
}

class Int8LinearTest : public ::testing::Test {
 protected:
  // The machine this project runs on (Zen 4) has VNNI; a CPU without it
  // would refuse int8 layers, and these tests would say so here.
  void SetUp() override { ASSERT_TRUE(Int8Linear::Available()); }
};

// Odd k and n (padding of the packed layout), rows in blocks of 4, 2 and 1,
// column blocks of up to 16 vectors; 64 x 785 x 257 is large enough for two
// threads on both paths (rows split between them).
TEST_F(Int8LinearTest, BothPathsMatchReferenceAndEachOther) {
  uint32_t seed = 1;
  for (const int m : {1, 2, 3, 4, 7, 33, 64}) {
    for (const int k : {3, 4, 64, 785}) {
      for (const int n : {1, 10, 17, 257}) {
        for (const float input_scale : {0.0f, 0.02f}) {
          const bool with_bias = (seed % 3) != 0;
          const Problem p = RandomProblem(m, k, n, seed++);
          Int8Linear vnni(/*max_threads=*/2, kAlwaysVnni);
          Int8Linear onednn(/*max_threads=*/2, kNeverVnni);
          const std::vector<float> by_vnni = RunLinear(vnni, p, input_scale, with_bias);
          const std::vector<float> by_onednn = RunLinear(onednn, p, input_scale, with_bias);
          ExpectMatchesReference(p, input_scale, by_vnni, with_bias);
          ExpectMatchesReference(p, input_scale, by_onednn, with_bias);
          EXPECT_TRUE(SameBits(by_vnni, by_onednn))
              << "m=" << m << " k=" << k << " n=" << n << " input_scale=" << input_scale;
          if (HasFatalFailure()) return;
        }
      }
    }
  }
}

TEST_F(Int8LinearTest, ZeroRowGivesBiasAndOtherRowsDoNotChangeIt) {
  for (const int paths : {kAlwaysVnni, kNeverVnni}) {
    Problem p = RandomProblem(5, 785, 17, 7);
    std::fill(p.x.begin() + 2 * p.k, p.x.begin() + 3 * p.k, 0.0f);  // row 2
    Int8Linear linear(1, paths);
    const std::vector<float> y = RunLinear(linear, p, /*input_scale=*/0.0f, true);
    for (int j = 0; j < p.n; ++j) EXPECT_EQ(y[2 * p.n + j], p.bias[j]) << j;
    ExpectMatchesReference(p, 0.0f, y, true);

    // Dynamic scales are per row: row 0 alone gives its answer in the batch.
    Problem alone = p;
    alone.m = 1;
    alone.x.resize(p.k);
    const std::vector<float> y0 = RunLinear(linear, alone, 0.0f, true);
    EXPECT_TRUE(SameBits(y0, std::vector<float>(y.begin(), y.begin() + p.n)));
  }
}

TEST_F(Int8LinearTest, TinyRowsQuantizeLikeOthers) {
  // A row of denormals: its scale's reciprocal overflows, and its zeros
  // must still be zeros (not NaN from 0 * inf, clamped to -127).
  for (const int paths : {kAlwaysVnni, kNeverVnni}) {
    Problem p = RandomProblem(2, 19, 10, 17);
    for (int r = 0; r < p.k; ++r) p.x[r] = r % 3 == 0 ? 0.0f : (r % 3 == 1 ? 1e-39f : -3e-40f);
    Int8Linear linear(1, paths);
    ExpectMatchesReference(p, 0.0f, RunLinear(linear, p, 0.0f, true), true);
    // The same row scaled by 2^100 quantizes to the same q, so without bias
    // the outputs scale by 2^100, up to the precision of the tiny row's
    // float scales: its scale (8e-42) and the product with a weight scale
    // (1e-43) are denormals of a few significant digits, hence 5%. Zeros
    // quantized to -127 would be off by far more.
    Problem scaled = p;
    for (int r = 0; r < p.k; ++r) scaled.x[r] = p.x[r] * 0x1p100f;
    const std::vector<float> y = RunLinear(linear, p, 0.0f, /*with_bias=*/false);
    const std::vector<float> y_scaled = RunLinear(linear, scaled, 0.0f, false);
    for (int j = 0; j < p.n; ++j) {
      EXPECT_NE(y_scaled[j], 0.0f) << j;
      EXPECT_NEAR(y[j], y_scaled[j] * 0x1p-100f, 0.05 * std::fabs(y_scaled[j] * 0x1p-100f)) << j;
    }
  }
}

TEST_F(Int8LinearTest, StaticScaleSaturates) {
  // Inputs far beyond 127 * input_scale, both signs: q clamps to +-127, so
  // scaling them up further changes nothing.
  const float input_scale = 0.01f;
  for (const int paths : {kAlwaysVnni, kNeverVnni}) {
    Problem p = RandomProblem(3, 131, 10, 11);
    for (size_t r = 0; r < p.x.size(); r += 2) p.x[r] *= 100.0f;  // |x| up to 300 > 1.27
    Int8Linear linear(1, paths);
    const std::vector<float> y = RunLinear(linear, p, input_scale, true);
    ExpectMatchesReference(p, input_scale, y, true);
    Problem further = p;
    for (size_t r = 0; r < p.x.size(); r += 2) {
      if (std::fabs(p.x[r]) > 1.3f) further.x[r] *= 1000.0f;
    }
    EXPECT_TRUE(SameBits(y, RunLinear(linear, further, input_scale, true)));
  }
}

TEST_F(Int8LinearTest, WithinQuantizationBoundOfFloatProduct) {
  // Float weights quantized per output column as the quantize tool does
  // (scale max|w_j| / 127), dynamic input scales. With x_r = s q_r + e_r,
  // |e_r| <= s / 2, and w_rj = sw_j Wq_rj + d_rj, |d_rj| <= sw_j / 2:
  //   |x W - s sw_j sum_r q_r Wq_rj| = |sum_r x_r d_rj + e_r sw_j Wq_rj|
  //                                  <= sw_j / 2 sum_r |x_r| + s / 2 sw_j sum_r |Wq_rj|.
  const int m = 4, k = 785, n = 257;
  TestRng rng(5);
  Problem p = RandomProblem(m, k, n, 5);
  std::vector<double> w(static_cast<size_t>(k) * n);
  for (double& v : w) v = rng.Uniform(-0.1f, 0.1f);
  for (int j = 0; j < n; ++j) {
    double max_abs = 0.0;
    for (int r = 0; r < k; ++r) max_abs = std::max(max_abs, std::fabs(w[r * n + j]));
    p.weight_scale[j] = static_cast<float>(max_abs / 127.0);
    for (int r = 0; r < k; ++r) {
      p.weights[r * n + j] = static_cast<int8_t>(std::nearbyint(w[r * n + j] / p.weight_scale[j]));
    }
  }
  for (const int paths : {kAlwaysVnni, kNeverVnni}) {
    Int8Linear linear(1, paths);
    const std::vector<float> y = RunLinear(linear, p, 0.0f, true);
    double largest_error = 0.0;
    for (int i = 0; i < m; ++i) {
      float s = 0.0f;
      QuantizeRow(p, i, 0.0f, &s);
      for (int j = 0; j < n; ++j) {
        double exact = p.bias[j], sum_abs_x = 0.0, sum_abs_q = 0.0;
        for (int r = 0; r < k; ++r) {
          exact += p.x[i * k + r] * w[r * n + j];
          sum_abs_x += std::fabs(p.x[i * k + r]);
          sum_abs_q += std::abs(p.weights[r * n + j]);
        }
        const double bound = p.weight_scale[j] / 2.0 * sum_abs_x +
                             s / 2.0 * p.weight_scale[j] * sum_abs_q + 1e-5 * std::fabs(exact);
        const double error = std::fabs(y[i * n + j] - exact);
        ASSERT_LE(error, bound) << "(" << i << ", " << j << ")";
        largest_error = std::max(largest_error, error);
      }
    }
    // Quantized, not exact: the comparison is with a different product.
    EXPECT_GT(largest_error, 0.0);
  }
}

TEST_F(Int8LinearTest, WeightsVersionRebuildsPackedWeights) {
  for (const int paths : {kAlwaysVnni, kNeverVnni}) {
    for (const int m : {1, 40}) {
      Problem p = RandomProblem(m, 37, 19, 13);
      Int8Linear linear(1, paths);
      const std::vector<float> before = RunLinear(linear, p, 0.0f, true, /*version=*/1);
      for (int8_t& w : p.weights) w = static_cast<int8_t>(-w);
      // Same version: the VNNI kernel still uses the weights it packed from
      // the old values, as the contract allows (stale). oneDNN's kernel may
      // read the weights in place when it wants them in their own layout,
      // so its answer at the same version is not asserted.
      if (paths == kAlwaysVnni) {
        EXPECT_TRUE(SameBits(before, RunLinear(linear, p, 0.0f, true, /*version=*/1))) << m;
      }
      // A new version: the new weights.
      const std::vector<float> after = RunLinear(linear, p, 0.0f, true, /*version=*/2);
      ExpectMatchesReference(p, 0.0f, after, true);
      EXPECT_FALSE(SameBits(before, after));
    }
  }
}

TEST_F(Int8LinearTest, RejectsBadArguments) {
  const Problem p = RandomProblem(1, 8, 4, 3);
  Int8Linear linear(1);
  std::vector<float> y(4);
  const auto run = [&](int m, int k, int n, float input_scale) {
    return linear.Run(m, k, n, p.x.data(), input_scale, p.weights.data(), p.weight_scale.data(),
                      nullptr, y.data(), 1);
  };
  EXPECT_EQ(run(1, 0, 4, 0.0f).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(run(1, 8, 0, 0.0f).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(run(-1, 8, 4, 0.0f).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(run(1, 8, 4, -0.5f).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(run(1, 8, 4, NAN).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(run(0, 8, 4, 0.0f).ok());
}

}  // namespace
}  // namespace mnemo::onednn
