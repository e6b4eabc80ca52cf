// The memory modules at the seed's size: 10,000 stored items. Retrieval of a
// batch of queries (cosine GEMM + top-k + vote), the training-time loss and
// the store of a batch into a full memory, on one thread.
//
//   ./bazelw run //tools/bench:memory_benchmark
//
// Reference (notes/anchors.md): FAISS IndexFlatIP, 100 queries x 10,000
// vectors x 128 dims, k = 1, one thread: 7.7 ms. BM_Retrieve/100/10000/128/1
// is that shape. GFLOP/s counts one B x n x d GEMM (2 B n d) per call: the
// loss runs three (the trainable memory's) or two, the rest one or two.

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "memory_modules/cached_memory/cached_memory.h"
#include "memory_modules/trainable_memory/trainable_memory.h"

namespace mnemo::memory_modules {
namespace {

constexpr int kClasses = 10;

template <typename Module>
std::unique_ptr<Module> FullMemory(int capacity, int dim, int top_k) {
  typename Module::Settings settings;
  settings.feature_dim = dim;
  settings.num_classes = kClasses;
  settings.capacity = capacity;
  settings.top_k = top_k;
  auto memory = std::make_unique<Module>(settings);
  std::vector<int> labels(capacity);
  for (int i = 0; i < capacity; ++i) labels[i] = i % kClasses;
  if (!memory->Store(Tensor::Random(capacity, dim), labels).ok() || memory->size() != capacity) {
    std::fprintf(stderr, "could not fill the memory\n");
    std::exit(1);
  }
  return memory;
}

void SetGemmCounters(benchmark::State& state, int batch, int keys, int dim) {
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * batch * keys * dim * state.iterations(), benchmark::Counter::kIsRate,
                         benchmark::Counter::kIs1000);
}

// Args: queries, stored items, feature dim, top_k.
template <typename Module>
void BM_Retrieve(benchmark::State& state) {
  const int batch = state.range(0), keys = state.range(1), dim = state.range(2);
  std::unique_ptr<Module> memory = FullMemory<Module>(keys, dim, state.range(3));
  const Tensor queries = Tensor::Random(batch, dim);
  for (auto _ : state) {
    absl::StatusOr<Retrieval> answer = memory->Retrieve(queries);
    benchmark::DoNotOptimize(answer->slot.data());
  }
  SetGemmCounters(state, batch, keys, dim);
}
BENCHMARK_TEMPLATE(BM_Retrieve, CachedMemory)
    ->Args({128, 10000, 256, 1})
    ->Args({128, 10000, 256, 5})
    ->Args({100, 10000, 128, 1})
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_Retrieve, TrainableMemory)
    ->Args({128, 10000, 256, 1})
    ->Unit(benchmark::kMillisecond);

// The training-time loss and its gradients (forward GEMM + two backward).
template <typename Module>
void BM_Loss(benchmark::State& state) {
  const int batch = state.range(0), keys = state.range(1), dim = state.range(2);
  std::unique_ptr<Module> memory = FullMemory<Module>(keys, dim, 1);
  const Tensor features = Tensor::Random(batch, dim);
  std::vector<int> labels(batch);
  for (int i = 0; i < batch; ++i) labels[i] = i % kClasses;
  Tensor grad;
  for (auto _ : state) {
    absl::StatusOr<float> loss = memory->Loss(features, labels, &grad);
    benchmark::DoNotOptimize(*loss);
  }
  SetGemmCounters(state, batch, keys, dim);
}
BENCHMARK_TEMPLATE(BM_Loss, CachedMemory)->Args({128, 10000, 256})->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_Loss, TrainableMemory)
    ->Args({128, 10000, 256})
    ->Unit(benchmark::kMillisecond);

// A batch into a full memory: novelty of every example, replacements. Fresh
// random features each time are all novel (cosines near 0): every example
// replaces a slot, the slowest case.
template <typename Module>
void BM_StoreWhenFull(benchmark::State& state) {
  const int batch = state.range(0), keys = state.range(1), dim = state.range(2);
  std::unique_ptr<Module> memory = FullMemory<Module>(keys, dim, 1);
  Tensor features;
  std::vector<int> labels(batch);
  for (int i = 0; i < batch; ++i) labels[i] = i % kClasses;
  for (auto _ : state) {
    state.PauseTiming();
    features = Tensor::Random(batch, dim);
    state.ResumeTiming();
    absl::Status status = memory->Store(features, labels);
    benchmark::DoNotOptimize(status.ok());
  }
  SetGemmCounters(state, batch, keys, dim);
}
BENCHMARK_TEMPLATE(BM_StoreWhenFull, CachedMemory)
    ->Args({128, 10000, 256})
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_StoreWhenFull, TrainableMemory)
    ->Args({128, 10000, 256})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mnemo::memory_modules

BENCHMARK_MAIN();
