// The oneDNN backend against the Eigen reference on the workloads,
// with the fp32 GEMM roof they are measured against:
//
//   BM_SeedEpoch/{eigen,onednn,bf16}  one training epoch of the seed MLP on
//                                 Fashion-MNIST (shuffle and gather included)
//   BM_DeepStep/{eigen,onednn,bf16}   one SGD step of 32 x (Dense 512 + ReLU) +
//                                 Dense 10 at batch 4096 (keep_all)
//   BM_Infer/{eigen,onednn,bf16,int8}/{1,256}  forward + arg-max of the seed MLP on a
//                                 batch of test images, per call, through
//                                 Network::Forward
//   BM_GemmRoof                   oneDNN's sgemm, 2048^3 fp32
//
// Backend "bf16" is the oneDNN backend with model.precision BF16; "int8"
// (BM_Infer only) the seed MLP as tools/quantize writes it in INT8.
//
//   ./bazelw run //tools/bench:backend_benchmark
//   ./bazelw run //tools/bench:backend_benchmark -- --benchmark_format=csv
//   MNEMO_THREADS=1 ./bazelw run //tools/bench:backend_benchmark
//
// The names are exactly those above (tools/bench/compare_pytorch.py reads
// them), so per-benchmark settings that Google Benchmark would append to a
// name (min_time, iterations, real_time) are not used: the minimum time
// defaults to 1.5 s for all (--benchmark_min_time overrides it), and the
// GFLOP/s counters are computed from wall-clock time measured here. Time per
// iteration: see the real_time column (the oneDNN runs use every core).
// MNEMO_THREADS sets the oneDNN backend's threads and sgemm's (default: one
// per core). Each workload is built and warmed up once (oneDNN makes its
// primitives in the first pass), outside the timed loop.

#include <benchmark/benchmark.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/config_loader.h"
#include "core/loss.h"
#include "core/io/safetensors.h"
#include "core/model_builder.h"
#include "core/model_io.h"
#include "core/network.h"
#include "core/optimizer.h"
#include "core/status_macros.h"
#include "core/stopwatch.h"
#include "core/trainer.h"
#include "tools/data/formats.h"
#include "tools/data/readers.h"
#include "tools/quantization/quantize_model.h"

namespace mnemo {
namespace {

// Floating-point operations of each workload, counted as its GEMMs (forward,
// weight gradient, input gradient but the first layer's), as
// tools/bench/compare_pytorch.py counts them.
constexpr double kSeedSamples = 60000;
constexpr double kSeedFlop = kSeedSamples * 2 * (2 * (784.0 * 256 + 256 * 10) + 256 * 10);
constexpr int kDeepBatch = 4096;
double DeepFlop() {
  std::vector<std::pair<double, double>> dense = {{784, 512}};
  for (int i = 0; i < 31; ++i) dense.push_back({512, 512});
  dense.push_back({512, 10});
  double all = 0, above_first = 0;
  for (size_t i = 0; i < dense.size(); ++i) {
    all += dense[i].first * dense[i].second;
    if (i > 0) above_first += dense[i].first * dense[i].second;
  }
  return kDeepBatch * 2 * (2 * all + above_first);
}
constexpr int kGemmSize = 2048;

[[noreturn]] void Die(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "backend_benchmark: %s: %s\n", what.c_str(),
               std::string(status.message()).c_str());
  std::exit(1);
}

// MNEMO_THREADS, or 0 (one per core).
int Threads() {
  const char* env = std::getenv("MNEMO_THREADS");
  return env != nullptr ? std::atoi(env) : 0;
}

// A config file of configs/, with the backend as given and MNEMO_THREADS.
// The files are the oneDNN ones (their plugin line loads the backend); with
// backend "eigen" they are the reference workloads (configs/fashion_mlp.pbtxt
// is the seed MLP's file with the same model).
std::unique_ptr<LoadedConfig> LoadConfig(const std::string& path, const std::string& backend) {
  ConfigLoader loader;
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = loader.LoadFile(path);
  if (!config.ok()) Die(path, config.status());
  config::Model& model = *(*config)->mutable_experiment().mutable_model();
  // "bf16": the oneDNN backend with model.precision BF16.
  model.set_backend(backend == "bf16" ? "onednn" : backend);
  if (backend == "bf16") model.set_precision(config::Model::BF16);
  model.set_threads(Threads());
  return *std::move(config);
}

std::unique_ptr<Network> Build(const LoadedConfig& config) {
  absl::StatusOr<std::unique_ptr<Network>> network = BuildNetwork(config, Registries::Global());
  if (!network.ok()) Die(config.path(), network.status());
  return *std::move(network);
}

// Fashion-MNIST, read once (the read would dominate otherwise).
const TrainTestData& FashionMnist() {
  static const TrainTestData* const data = [] {
    config::Data config;  // the defaults: Debian's dataset-fashion-mnist
    absl::StatusOr<TrainTestData> loaded = LoadData(config);
    if (!loaded.ok()) Die("Fashion-MNIST", loaded.status());
    return new TrainTestData(*std::move(loaded));
  }();
  return *data;
}

// Everything a training workload keeps between the benchmark's runs (Google
// Benchmark calls a benchmark function several times while it sizes the
// iteration count): built and warmed up at the first.
struct Training {
  std::unique_ptr<LoadedConfig> config;
  std::unique_ptr<Network> network;
  std::unique_ptr<Optimizer> optimizer;
  std::unique_ptr<Trainer> trainer;  // the seed epoch
  Tensor input;                      // the deep step's batch
  std::vector<int32_t> labels;
  Tensor grad_logits;
  int epoch = 0;
};

Training& GetTraining(const std::string& key, const std::string& config_path,
                      const std::string& backend) {
  static auto* cache = new std::map<std::string, std::unique_ptr<Training>>;
  std::unique_ptr<Training>& t = (*cache)[key];
  if (t != nullptr) return *t;
  t = std::make_unique<Training>();
  t->config = LoadConfig(config_path, backend);
  t->network = Build(*t->config);
  absl::StatusOr<std::unique_ptr<Optimizer>> optimizer =
      CreateOptimizer(t->config->experiment().trainer().optimizer());
  if (!optimizer.ok()) Die(config_path, optimizer.status());
  t->optimizer = *std::move(optimizer);
  return *t;
}

void SeedEpoch(benchmark::State& state, const std::string& backend) {
  const TrainTestData& data = FashionMnist();
  Training& t = GetTraining("seed/" + backend, "configs/fashion_mlp_onednn.pbtxt", backend);
  if (t.trainer == nullptr) {
    absl::StatusOr<Trainer> trainer =
        Trainer::Create(t.config->experiment().trainer(), t.network.get(), t.optimizer.get());
    if (!trainer.ok()) Die("trainer", trainer.status());
    t.trainer = std::make_unique<Trainer>(*std::move(trainer));
    // Warm-up: oneDNN makes its primitives for both batch sizes (256 and
    // the last, 96) in the first epoch.
    if (absl::StatusOr<EpochMetrics> m = t.trainer->TrainEpoch(data.train, ++t.epoch); !m.ok()) {
      Die("warm-up epoch", m.status());
    }
  }
  const Stopwatch stopwatch;
  for (auto _ : state) {
    absl::StatusOr<EpochMetrics> metrics = t.trainer->TrainEpoch(data.train, ++t.epoch);
    if (!metrics.ok()) {
      state.SkipWithError(std::string(metrics.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(metrics->train_loss);
  }
  const double seconds = stopwatch.ElapsedSeconds();
  state.counters["gflops"] = kSeedFlop * state.iterations() / seconds / 1e9;
  state.counters["threads"] = t.network->backend().threads();
  state.SetItemsProcessed(state.iterations() * data.train.size());
}

// One SGD step on a fixed random batch, as PyTorch's side does it.
absl::Status DeepStep(Training& t) {
  const ForwardContext context{/*training=*/true, 1, 0};
  MNEMO_ASSIGN_OR_RETURN(const Tensor* logits, t.network->Forward(t.input, context));
  MNEMO_RETURN_IF_ERROR(t.network->backend()
                            .SoftmaxCrossEntropy(*logits, t.labels, &t.grad_logits, nullptr)
                            .status());
  t.network->ZeroGradients();
  MNEMO_RETURN_IF_ERROR(t.network->Backward(t.grad_logits, context));
  t.optimizer->Step(*t.network);
  return absl::OkStatus();
}

void DeepStepBenchmark(benchmark::State& state, const std::string& backend) {
  Training& t = GetTraining("deep/" + backend, "configs/deep_mlp_onednn.pbtxt", backend);
  if (t.input.size() == 0) {
    // Uniform [0, 1) inputs and random labels from a fixed generator.
    uint64_t x = 42;
    auto next = [&x] {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      return static_cast<uint32_t>(x >> 40);  // 24 bits
    };
    t.input.resize(kDeepBatch, 784);
    for (Eigen::Index i = 0; i < t.input.size(); ++i) {
      t.input.data()[i] = static_cast<float>(next()) * 0x1.0p-24f;
    }
    t.labels.resize(kDeepBatch);
    for (int32_t& label : t.labels) label = static_cast<int32_t>(next() % 10);
    if (absl::Status s = DeepStep(t); !s.ok()) Die("warm-up step", s);
  }
  const Stopwatch stopwatch;
  for (auto _ : state) {
    if (absl::Status s = DeepStep(t); !s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      return;
    }
  }
  const double seconds = stopwatch.ElapsedSeconds();
  state.counters["gflops"] = DeepFlop() * state.iterations() / seconds / 1e9;
  state.counters["threads"] = t.network->backend().threads();
}

// The seed MLP as tools/quantize writes it in INT8 (dynamic activations) and
// as Predictor loads it: its initial weights quantized (the time does not
// depend on their values), through a temporary file.
std::unique_ptr<Network> Int8SeedMlp() {
  std::unique_ptr<LoadedConfig> config = LoadConfig("configs/fashion_mlp_onednn.pbtxt", "onednn");
  std::unique_ptr<Network> fp32 = Build(*config);
  absl::StatusOr<TensorFile> file =
      QuantizeModel(*fp32, config->experiment(), config::DataNames(), QuantizeOptions());
  if (!file.ok()) Die("quantizing the seed MLP", file.status());
  const char* tmp = std::getenv("TMPDIR");
  const std::string path =
      absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/backend_benchmark_int8.safetensors");
  if (absl::Status s = WriteSafetensors(path, *file); !s.ok()) Die(path, s);
  absl::StatusOr<std::unique_ptr<LoadedConfig>> int8 =
      ConfigLoader(Registries::Global(), ConfigUse::kInference).LoadForModel("", path);
  if (!int8.ok()) Die(path, int8.status());
  (*int8)->mutable_experiment().mutable_model()->set_threads(Threads());
  std::unique_ptr<Network> network = Build(**int8);
  if (absl::Status s = LoadModel(path, *network); !s.ok()) Die(path, s);
  std::remove(path.c_str());
  return network;
}

void Infer(benchmark::State& state, const std::string& backend, int batch) {
  Training& t = GetTraining(absl::StrCat("infer/", backend), "configs/fashion_mlp_onednn.pbtxt",
                            backend == "int8" ? "onednn" : backend);
  if (backend == "int8" && t.network->layer(0).int8_buffers().empty()) t.network = Int8SeedMlp();
  const Tensor input = FashionMnist().test.features.topRows(batch);
  std::vector<int32_t> predicted(batch);
  const ForwardContext context{/*training=*/false, 0, 0};
  auto call = [&]() -> absl::Status {
    MNEMO_ASSIGN_OR_RETURN(const Tensor* logits, t.network->Forward(input, context));
    ArgMaxRows(*logits, predicted.data());
    t.network->strategy().EndPass();
    return absl::OkStatus();
  };
  if (absl::Status s = call(); !s.ok()) Die("warm-up call", s);  // makes the primitives
  for (auto _ : state) {
    if (absl::Status s = call(); !s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(predicted.data());
  }
  state.counters["threads"] = t.network->backend().threads();
  state.SetItemsProcessed(state.iterations() * batch);
}

// oneDNN's sgemm, C = A B with 2048^3 floats, at the default thread count (or
// MNEMO_THREADS): the roof the training workloads' GFLOP/s are compared with.
void GemmRoof(benchmark::State& state) {
  const int n = kGemmSize;
  std::vector<float> a(static_cast<size_t>(n) * n), b(a.size()), c(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = static_cast<float>(i % 97) / 97.0f;
    b[i] = static_cast<float>(i % 89) / 89.0f;
  }
  omp_set_num_threads(Threads() > 0 ? Threads() : omp_get_num_procs());
  auto gemm = [&] {
    return dnnl_sgemm('N', 'N', n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
  };
  if (gemm() != dnnl_success) {
    state.SkipWithError("dnnl_sgemm failed");
    return;
  }
  const Stopwatch stopwatch;
  for (auto _ : state) {
    gemm();
    benchmark::DoNotOptimize(c.data());
  }
  const double seconds = stopwatch.ElapsedSeconds();
  state.counters["gflops"] = 2.0 * n * n * n * state.iterations() / seconds / 1e9;
  state.counters["threads"] = omp_get_max_threads();
}

void RegisterAll() {
  for (const char* backend : {"eigen", "onednn", "bf16"}) {
    const std::string b = backend;
    benchmark::RegisterBenchmark(("BM_SeedEpoch/" + b).c_str(), SeedEpoch, b)
        ->Unit(benchmark::kMillisecond);
  }
  for (const char* backend : {"eigen", "onednn", "bf16"}) {
    const std::string b = backend;
    benchmark::RegisterBenchmark(("BM_DeepStep/" + b).c_str(), DeepStepBenchmark, b)
        ->Unit(benchmark::kMillisecond);
  }
  for (const char* backend : {"onednn", "eigen", "bf16", "int8"}) {
    for (int batch : {1, 256}) {
      const std::string b = backend;
      benchmark::RegisterBenchmark(absl::StrCat("BM_Infer/", b, "/", batch).c_str(), Infer, b,
                                   batch)
          ->Unit(benchmark::kMicrosecond);
    }
  }
  benchmark::RegisterBenchmark("BM_GemmRoof", GemmRoof)->Unit(benchmark::kMillisecond);
}

}  // namespace
}  // namespace mnemo

int main(int argc, char** argv) {
  // A minimum time for every benchmark without naming it in each (which
  // would append it to the names), unless the command line sets one.
  std::vector<char*> args(argv, argv + argc);
  bool has_min_time = false;
  for (int i = 1; i < argc; ++i) {
    has_min_time |= std::strncmp(argv[i], "--benchmark_min_time", 20) == 0;
  }
  static char min_time[] = "--benchmark_min_time=1.5";
  if (!has_min_time) args.insert(args.begin() + 1, min_time);
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;
  // The configs name their data format, which the loader checks.
  if (absl::Status s = mnemo::RegisterDataFormats(); !s.ok()) mnemo::Die("data formats", s);
  mnemo::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
