// LayerNorm and BatchNorm at the Fashion-MNIST recipe's shape (batch 256,
// 1024 features): one training pass (forward, backward with the input
// gradient, CommitStep) on each backend, beside a Dense 1024 -> 1024 layer's
// for scale.
//
//   BM_NormPass/<type>/<backend>   type LayerNorm, BatchNorm or Dense
//
//   ./bazelw run //tools/bench:norm_benchmark
//   MNEMO_THREADS=1 ./bazelw run //tools/bench:norm_benchmark
//
// MNEMO_THREADS sets the oneDNN backend's threads (default: one per core).
// Each layer is built and warmed up once (oneDNN makes its primitives in the
// first pass), outside the timed loop.

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/backend.h"
#include "core/plugin_loader.h"
#include "core/registry.h"

namespace mnemo {
namespace {

constexpr int kRows = 256;
constexpr int kFeatures = 1024;

[[noreturn]] void Die(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "norm_benchmark: %s: %s\n", what.c_str(),
               std::string(status.message()).c_str());
  std::exit(1);
}

int Threads() {
  const char* env = std::getenv("MNEMO_THREADS");
  return env != nullptr ? std::atoi(env) : 0;
}

struct Pass {
  std::shared_ptr<const Backend> backend;
  std::unique_ptr<Layer> layer;
  Tensor input, grad_output, grad_input;
};

// The layer as a model on `backend` gets it ("onednn/LayerNorm" for
// backend onednn; Dense with its weights initialised), with random inputs
// and output gradients.
Pass& GetPass(const std::string& type, const std::string& backend) {
  static auto* cache = new std::map<std::string, std::unique_ptr<Pass>>;
  std::unique_ptr<Pass>& pass = (*cache)[type + "/" + backend];
  if (pass != nullptr) return *pass;
  pass = std::make_unique<Pass>();
  if (backend == "onednn") {
    absl::StatusOr<std::string> path = PluginLoader::Resolve("plugins/onednn/libonednn_plugin.so",
                                                             /*config_dir=*/"", /*search_path=*/{});
    if (!path.ok()) Die("the oneDNN plugin", path.status());
    if (absl::Status s = PluginLoader::Global().Load(*path).status(); !s.ok()) Die(*path, s);
  }
  absl::StatusOr<std::unique_ptr<Backend>> made =
      Registries::Global().backends.Create(backend, BackendArgs{Threads()});
  if (!made.ok()) Die(backend, made.status());
  pass->backend = *std::move(made);
  config::Layer config;
  config.set_type(type);
  if (type == "Dense") config.set_units(kFeatures);
  config::Init init;
  init.set_scheme(config::Init::HE_NORMAL);
  const std::string registered = backend == "onednn" ? "onednn/" + type : type;
  absl::StatusOr<std::unique_ptr<Layer>> layer = Registries::Global().layers.Create(
      registered, LayerArgs{config, kFeatures, init, /*seed=*/1, pass->backend.get()});
  if (!layer.ok()) Die(registered, layer.status());
  pass->layer = *std::move(layer);
  pass->input = Tensor::Random(kRows, kFeatures);
  pass->grad_output = Tensor::Random(kRows, kFeatures);
  return *pass;
}

void NormPass(benchmark::State& state, const std::string& type, const std::string& backend) {
  Pass& pass = GetPass(type, backend);
  Layer& layer = *pass.layer;
  const ForwardContext context{/*training=*/true, 1, 0};
  Tensor output;
  auto run = [&] {
    layer.Forward(pass.input, context, &output);
    layer.Backward(pass.input, output, pass.grad_output, context, &pass.grad_input);
    layer.CommitStep();
  };
  run();  // warm-up
  for (auto _ : state) {
    run();
    benchmark::DoNotOptimize(pass.grad_input.data());
  }
  state.counters["threads"] = pass.backend->threads();
  state.SetItemsProcessed(state.iterations() * kRows);
}

void Register() {
  for (const char* type : {"LayerNorm", "BatchNorm", "Dense"}) {
    for (const char* backend : {"eigen", "onednn"}) {
      benchmark::RegisterBenchmark(absl::StrCat("BM_NormPass/", type, "/", backend).c_str(),
                                   [type = std::string(type), backend = std::string(backend)](
                                       benchmark::State& state) { NormPass(state, type, backend); })
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime();
    }
  }
}

}  // namespace
}  // namespace mnemo

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  mnemo::Register();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
