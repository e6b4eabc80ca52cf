// The seed MLP (784-256 ReLU-10) forward in int8 (Int8Linear, dynamic input
// scales) against mnemo's float path on oneDNN (onednn::Dense: RowGemv and
// DotProductForward at batch 1, oneDNN's matmul at 256), in one process:
//
//   BM_Mlp/<precision>/batch:<b>/threads:<t>     precision 0 float, 1 int8
//   BM_FirstLayer/<path>/rows:<m>/threads:<t>    784 x 256 alone: path 0 the
//       VNNI kernel, 1 oneDNN's int8 matmul (where Int8Linear switches,
//       kVnniRowsUpTo; and oneDNN's at batch 256 on 1 and 2 threads)
//
//   ./bazelw run //tools/bench:int8_linear_benchmark -- FLAGS
//
// with FLAGS --benchmark_repetitions=9 --benchmark_enable_random_interleaving=true.
//
// With random interleaving the repetitions of all benchmarks are shuffled
// together, so a noisy spell on the shared machine hits both precisions;
// min and max are reported beside Google Benchmark's mean and median.
// Weights are random (He-uniform), quantized per output column as the
// quantize tool does (scale max|w_j| / 127); inputs uniform in [0, 1) like
// the Fashion-MNIST pixels. Everything is made and warmed up once, outside
// the timed loops.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "core/layer.h"
#include "core/layers/dense.h"
#include "plugins/onednn/dense.h"
#include "plugins/onednn/int8_linear.h"
#include "plugins/onednn/int8_quantize.h"
#include "plugins/onednn/row_gemv.h"
#include "plugins/onednn/runtime.h"
#include "plugins/onednn/vnni_gemv.h"
#include "tests/testing/tensors.h"

namespace mnemo::onednn {
namespace {

constexpr int kInputs = 784;
constexpr int kHidden = 256;
constexpr int kClasses = 10;

struct QuantizedDense {
  std::vector<int8_t> weights;
  std::vector<float> scale;
  std::vector<float> bias;
};

// `dense`'s weights, quantized per output column.
QuantizedDense Quantize(const mnemo::Dense& dense) {
  const Tensor& w = dense.weight();
  QuantizedDense q;
  q.weights.resize(w.size());
  q.scale.resize(w.cols());
  q.bias.assign(dense.bias().data(), dense.bias().data() + dense.bias().size());
  for (int j = 0; j < w.cols(); ++j) {
    float max_abs = 0.0f;
    for (int r = 0; r < w.rows(); ++r) max_abs = std::max(max_abs, std::fabs(w(r, j)));
    q.scale[j] = max_abs / 127.0f;
    for (int r = 0; r < w.rows(); ++r) {
      q.weights[r * w.cols() + j] = static_cast<int8_t>(std::nearbyint(w(r, j) / q.scale[j]));
    }
  }
  return q;
}

void Relu(Tensor* t) {
  float* p = t->data();
  for (Eigen::Index i = 0; i < t->size(); ++i) p[i] = std::max(p[i], 0.0f);
}

struct Mlp {
  std::unique_ptr<Dense> first, second;  // the float path
  QuantizedDense first_q, second_q;
  Int8Linear first_int8, second_int8;
  Tensor input, hidden, output;

  Mlp(int batch, int threads) : first_int8(threads), second_int8(threads) {
    mnemo::testing::TestRng rng(1);
    auto first_ref = std::make_unique<mnemo::Dense>(kInputs, kHidden, /*gradients=*/false);
    auto second_ref = std::make_unique<mnemo::Dense>(kHidden, kClasses, /*gradients=*/false);
    const float a1 = std::sqrt(6.0f / kInputs), a2 = std::sqrt(6.0f / kHidden);
    first_ref->weight() = rng.Random(kInputs, kHidden, -a1, a1);
    first_ref->bias() = rng.Random(1, kHidden, -0.1f, 0.1f);
    second_ref->weight() = rng.Random(kHidden, kClasses, -a2, a2);
    second_ref->bias() = rng.Random(1, kClasses, -0.1f, 0.1f);
    first_q = Quantize(*first_ref);
    second_q = Quantize(*second_ref);
    first = std::make_unique<Dense>(std::move(first_ref), threads, /*bf16=*/false);
    second = std::make_unique<Dense>(std::move(second_ref), threads, /*bf16=*/false);
    input = rng.Random(batch, kInputs, 0.0f, 1.0f);
  }

  void Float() {
    first->Forward(input, ForwardContext{}, &hidden);
    Relu(&hidden);
    second->Forward(hidden, ForwardContext{}, &output);
  }

  bool Int8() {
    const int batch = static_cast<int>(input.rows());
    hidden.resize(batch, kHidden);
    output.resize(batch, kClasses);
    if (!first_int8
             .Run(batch, kInputs, kHidden, input.data(), 0.0f, first_q.weights.data(),
                  first_q.scale.data(), first_q.bias.data(), hidden.data(), 1)
             .ok()) {
      return false;
    }
    Relu(&hidden);
    return second_int8
        .Run(batch, kHidden, kClasses, hidden.data(), 0.0f, second_q.weights.data(),
             second_q.scale.data(), second_q.bias.data(), output.data(), 1)
        .ok();
  }
};

Mlp& GetMlp(int batch, int threads) {
  static auto* cache = new std::map<std::pair<int, int>, std::unique_ptr<Mlp>>;
  std::unique_ptr<Mlp>& mlp = (*cache)[{batch, threads}];
  if (mlp == nullptr) mlp = std::make_unique<Mlp>(batch, threads);
  return *mlp;
}

void BM_Mlp(benchmark::State& state) {
  const bool int8 = state.range(0) == 1;
  const int batch = static_cast<int>(state.range(1));
  const int threads = static_cast<int>(state.range(2));
  Mlp& mlp = GetMlp(batch, threads);
  if (int8 && !Int8Linear::Available()) {
    state.SkipWithError("no AVX-512 VNNI");
    return;
  }
  for (int warm = 0; warm < 3; ++warm) int8 ? (void)mlp.Int8() : mlp.Float();
  for (auto _ : state) {
    if (int8) {
      if (!mlp.Int8()) {
        state.SkipWithError("Int8Linear::Run failed");
        return;
      }
    } else {
      mlp.Float();
    }
    benchmark::DoNotOptimize(mlp.output.data());
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

struct FirstLayer {
  QuantizedDense weights;
  Int8Linear linear;
  std::vector<float> x, y;
  FirstLayer(int rows, int path, int threads) : linear(threads, path == 0 ? (1 << 30) : 0) {
    mnemo::testing::TestRng rng(2);
    mnemo::Dense dense(kInputs, kHidden, false);
    dense.weight() = rng.Random(kInputs, kHidden, -0.08f, 0.08f);
    weights = Quantize(dense);
    x.resize(static_cast<size_t>(rows) * kInputs);
    for (float& v : x) v = rng.Uniform(0.0f, 1.0f);
    y.resize(static_cast<size_t>(rows) * kHidden);
  }
  bool Run(int rows) {
    return linear
        .Run(rows, kInputs, kHidden, x.data(), 0.0f, weights.weights.data(), weights.scale.data(),
             weights.bias.data(), y.data(), 1)
        .ok();
  }
};

void BM_FirstLayer(benchmark::State& state) {
  const int path = static_cast<int>(state.range(0));
  const int rows = static_cast<int>(state.range(1));
  const int threads = static_cast<int>(state.range(2));
  if (!Int8Linear::Available()) {
    state.SkipWithError("no AVX-512 VNNI");
    return;
  }
  FirstLayer layer(rows, path, threads);
  if (!layer.Run(rows)) {
    state.SkipWithError("Int8Linear::Run failed");
    return;
  }
  for (auto _ : state) {
    layer.Run(rows);
    benchmark::DoNotOptimize(layer.y.data());
  }
  state.SetItemsProcessed(state.iterations() * rows);
}

// The batch-1 layers' parts, one thread: 0 quantizing x (QuantizeRows),
// 1 the VNNI kernel on quantized x (VnniGemv), 2 the float RowGemv that
// Dense runs there; 3 the whole int8 head (Int8Linear 1 x 256 -> 10).
void BM_FirstLayerPart(benchmark::State& state) {
  const int part = static_cast<int>(state.range(0));
  mnemo::testing::TestRng rng(3);
  const Tensor w = rng.Random(kInputs, kHidden, -0.08f, 0.08f);
  const Tensor b = rng.Random(1, kHidden);
  mnemo::Dense dense(kInputs, kHidden, false);
  dense.weight() = w;
  const QuantizedDense q = Quantize(dense);
  VnniWeights packed;
  packed.Pack(q.weights.data(), kInputs, kHidden);
  const Tensor x = rng.Random(1, kInputs, 0.0f, 1.0f);
  const int stride = packed.groups() * 4;
  std::vector<int8_t> xq(stride);
  float row_scale = 0.0f;
  QuantizeRows(1, kInputs, x.data(), 0.0f, xq.data(), stride, &row_scale);
  std::vector<float> y(kHidden);
  Int8Linear head(1);
  const std::vector<int8_t> head_weights(kHidden * kClasses, 3);
  const std::vector<float> head_scale(kClasses, 0.01f);
  UseThreads(1);
  for (auto _ : state) {
    switch (part) {
      case 0:
        QuantizeRows(1, kInputs, x.data(), 0.0f, xq.data(), stride, &row_scale);
        benchmark::DoNotOptimize(xq.data());
        break;
      case 1:
        VnniGemv(1, xq.data(), stride, &row_scale, packed, q.scale.data(), b.data(), y.data());
        benchmark::DoNotOptimize(y.data());
        break;
      case 2:
        RowGemv(x.data(), w.data(), b.data(), y.data(), kInputs, kHidden);
        benchmark::DoNotOptimize(y.data());
        break;
      default:
        if (!head.Run(1, kHidden, kClasses, x.data(), 0.0f, head_weights.data(), head_scale.data(),
                      b.data(), y.data(), 1)
                 .ok()) {
          state.SkipWithError("Int8Linear::Run failed");
          return;
        }
        benchmark::DoNotOptimize(y.data());
    }
  }
}

double Min(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }
double Max(const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); }

BENCHMARK(BM_Mlp)
    ->ArgNames({"int8", "batch", "threads"})
    ->Args({0, 1, 1})
    ->Args({1, 1, 1})
    ->Args({0, 256, 1})
    ->Args({1, 256, 1})
    ->Args({0, 256, 2})
    ->Args({1, 256, 2})
    ->ComputeStatistics("min", Min)
    ->ComputeStatistics("max", Max)
    ->Unit(benchmark::kMicrosecond);

BENCHMARK(BM_FirstLayer)
    ->ArgNames({"onednn", "rows", "threads"})
    ->ArgsProduct({{0, 1}, {1, 2, 4, 8, 16, 32, 64}, {1}})
    ->Args({1, 256, 1})
    ->Args({1, 256, 2})
    ->Args({0, 256, 1})
    ->Args({0, 256, 2})
    ->ComputeStatistics("min", Min)
    ->ComputeStatistics("max", Max)
    ->Unit(benchmark::kMicrosecond);

BENCHMARK(BM_FirstLayerPart)
    ->ArgNames({"part"})
    ->DenseRange(0, 3)
    ->ComputeStatistics("min", Min)
    ->ComputeStatistics("max", Max)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace mnemo::onednn

BENCHMARK_MAIN();
