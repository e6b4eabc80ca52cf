// Per-call latency of the Predictor on the default model (784-256-10, the
// reference Eigen layers, random weights), for one sample and batches:
//   ./bazelw run //tests/inference:predictor_benchmark
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdio>
#include <memory>
#include <string>

#include "core/config_loader.h"
#include "core/inference/predictor.h"
#include "core/model_builder.h"
#include "core/model_io.h"
#include "tests/testing/tensors.h"

namespace mnemo {
namespace {

constexpr char kConfig[] = R"pb(
  model {
    input_size: 784
    init { scheme: NORMAL std: 0.01 }
    layer { type: "Dense" units: 256 activation: "ReLU" }
    layer { type: "Dense" units: 10 }
  }
)pb";

// The model saved to a temporary file and loaded back, as a host would.
std::unique_ptr<Predictor> LoadPredictor() {
  char dir[] = "/tmp/predictor_benchmark.XXXXXX";
  if (mkdtemp(dir) == nullptr) return nullptr;
  const std::string path = std::string(dir) + "/model.safetensors";
  auto config = ConfigLoader(Registries::Global(), ConfigUse::kInference).LoadText(kConfig, "b");
  if (!config.ok()) return nullptr;
  auto network = BuildNetwork(**config, Registries::Global());
  if (!network.ok() || !SaveModel(path, **network, kConfig).ok()) return nullptr;
  auto predictor = Predictor::Load(**config, path);
  std::remove(path.c_str());
  rmdir(dir);
  if (!predictor.ok()) {
    std::fprintf(stderr, "%s\n", std::string(predictor.status().message()).c_str());
    return nullptr;
  }
  return *std::move(predictor);
}

Predictor& SharedPredictor() {
  static Predictor* predictor = LoadPredictor().release();
  if (predictor == nullptr) std::abort();
  return *predictor;
}

void BM_Classify(benchmark::State& state) {
  Predictor& predictor = SharedPredictor();
  const Tensor batch = testing::TestRng(1).Random(static_cast<int>(state.range(0)), 784, 0, 1);
  for (auto _ : state) {
    absl::StatusOr<Predictions> predictions = predictor.Classify(batch);
    benchmark::DoNotOptimize(predictions->labels.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Classify)->Arg(1)->Arg(16)->Arg(256)->Arg(1024);

void BM_ClassifyOne(benchmark::State& state) {
  Predictor& predictor = SharedPredictor();
  const Tensor sample = testing::TestRng(2).Random(1, 784, 0, 1);
  for (auto _ : state) {
    absl::StatusOr<int32_t> label = predictor.ClassifyOne(absl::MakeConstSpan(sample.data(), 784));
    benchmark::DoNotOptimize(*label);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ClassifyOne);

}  // namespace
}  // namespace mnemo
