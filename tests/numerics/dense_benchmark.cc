// Dense forward + backward at the seed MLP's first layer: batch 256, 784 -> 256.
#include <benchmark/benchmark.h>

#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/layers/dense.h"
#include "tests/testing/tensors.h"

namespace mnemo {
namespace {

void BM_DenseForwardBackward(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  const int in = static_cast<int>(state.range(1));
  const int out = static_cast<int>(state.range(2));
  testing::TestRng rng(1);
  Dense dense(in, out);
  dense.weight() = rng.Random(in, out, -0.05f, 0.05f);
  const Tensor input = rng.Random(batch, in);
  const Tensor grad_output = rng.Random(batch, out);
  Tensor output, grad_input;
  for (auto _ : state) {
    dense.Forward(input, ForwardContext{}, &output);
    dense.Backward(input, output, grad_output, ForwardContext{}, &grad_input);
    benchmark::DoNotOptimize(output.data());
    benchmark::DoNotOptimize(grad_input.data());
    benchmark::ClobberMemory();
  }
  // Three GEMMs of batch x in x out multiply-adds each.
  state.counters["GFLOP/s"] = benchmark::Counter(
      6.0 * batch * in * out, benchmark::Counter::kIsIterationInvariantRate,
      benchmark::Counter::kIs1000);
}
BENCHMARK(BM_DenseForwardBackward)->Args({256, 784, 256})->Args({256, 256, 10});

// The first layer of a network passes no grad_input: one GEMM fewer.
void BM_DenseForwardBackwardFirstLayer(benchmark::State& state) {
  testing::TestRng rng(2);
  Dense dense(784, 256);
  dense.weight() = rng.Random(784, 256, -0.05f, 0.05f);
  const Tensor input = rng.Random(256, 784);
  const Tensor grad_output = rng.Random(256, 256);
  Tensor output;
  for (auto _ : state) {
    dense.Forward(input, ForwardContext{}, &output);
    dense.Backward(input, output, grad_output, ForwardContext{}, nullptr);
    benchmark::DoNotOptimize(output.data());
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_DenseForwardBackwardFirstLayer);

}  // namespace
}  // namespace mnemo
