// Training throughput of the seed MLP (configs/fashion_mlp.pbtxt) on the real
// Fashion-MNIST training set: one full epoch per iteration, including the
// per-epoch shuffle and batch gather, as PyTorch's DataLoader loop does.
//
//   ./bazelw run //tools/bench:train_benchmark
//
// items_per_second is training samples per second. BM_SeedMlpGradientCheck
// times the numerical guard's pass over the gradients, once a step.

#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <vector>

#include "core/config_loader.h"
#include "core/model_builder.h"
#include "core/nonfinite.h"
#include "core/optimizer.h"
#include "core/trainer.h"
#include "tools/data/readers.h"

namespace mnemo {
namespace {

struct SeedMlp {
  std::unique_ptr<LoadedConfig> config;
  TrainTestData data;
};

// Loaded once: the data set read dominates otherwise.
const SeedMlp& Seed() {
  static const SeedMlp* const seed = [] {
    ConfigLoader loader;
    absl::StatusOr<std::unique_ptr<LoadedConfig>> config =
        loader.LoadFile("configs/fashion_mlp.pbtxt");
    if (!config.ok()) {
      std::fprintf(stderr, "%s\n", std::string(config.status().message()).c_str());
      std::exit(1);
    }
    absl::StatusOr<TrainTestData> data = LoadData((*config)->experiment());
    if (!data.ok()) {
      std::fprintf(stderr, "%s\n", std::string(data.status().message()).c_str());
      std::exit(1);
    }
    return new SeedMlp{std::move(*config), std::move(*data)};
  }();
  return *seed;
}

void BM_SeedMlpTrainEpoch(benchmark::State& state) {
  const SeedMlp& seed = Seed();
  config::Trainer trainer_config = seed.config->experiment().trainer();
  trainer_config.set_batch_size(static_cast<int>(state.range(0)));
  auto network = BuildNetwork(*seed.config, Registries::Global());
  auto optimizer = CreateOptimizer(trainer_config.optimizer());
  auto trainer = Trainer::Create(trainer_config, network->get(), optimizer->get());
  if (!network.ok() || !optimizer.ok() || !trainer.ok()) {
    state.SkipWithError("could not build the seed MLP");
    return;
  }
  int epoch = 0;
  for (auto _ : state) {
    auto metrics = trainer->TrainEpoch(seed.data.train, ++epoch);
    if (!metrics.ok()) {
      state.SkipWithError(std::string(metrics.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(metrics->train_loss);
  }
  state.SetItemsProcessed(state.iterations() * seed.data.train.size());
}
BENCHMARK(BM_SeedMlpTrainEpoch)->Arg(256)->Unit(benchmark::kMillisecond)->MinTime(3.0);

// The numerical guard's pass over every trainable gradient, which the
// trainer runs once a step (core/nonfinite.h): set beside the epoch above
// (235 steps at batch 256), it is the guard's share of training time.
void BM_SeedMlpGradientCheck(benchmark::State& state) {
  const SeedMlp& seed = Seed();
  auto network = BuildNetwork(*seed.config, Registries::Global());
  if (!network.ok()) {
    state.SkipWithError("could not build the seed MLP");
    return;
  }
  // Gradients of one real batch, so that they are what a step checks.
  const Tensor batch = seed.data.train.features.topRows(256);
  const std::vector<int32_t> labels(seed.data.train.labels.begin(),
                                    seed.data.train.labels.begin() + 256);
  auto logits = (*network)->Forward(batch, ForwardContext{true, 1, 0});
  Tensor grad;
  auto loss = logits.ok()
                  ? (*network)->backend().SoftmaxCrossEntropy(**logits, labels, &grad, nullptr)
                  : absl::StatusOr<float>(logits.status());
  if (!loss.ok() || !(*network)->Backward(grad, ForwardContext{true, 1, 0}).ok()) {
    state.SkipWithError("could not run a step");
    return;
  }
  const std::vector<ModelParameter> parameters = (*network)->TrainableParameters();
  for (auto _ : state) {
    benchmark::DoNotOptimize(FindNonFiniteGradient(parameters));
  }
}
BENCHMARK(BM_SeedMlpGradientCheck)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace mnemo

BENCHMARK_MAIN();
