// What data augmentation costs (core/augmentation.h): a batch of 256
// Fashion-MNIST images changed, and an epoch of 40 such batches trained by a
// 784-1024-1024-10 MLP with and without it (the eigen backend, one thread).
//
//   ./bazelw run //tools/bench:augmentation_benchmark
//
// BM_AugmentBatch's time is one batch's changes; BM_TrainEpoch's is 40
// steps, their gathers and (when on) their changes: the difference between
// its arguments is augmentation's share of training.

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/augmentation.h"
#include "core/config_loader.h"
#include "core/model_builder.h"
#include "core/optimizer.h"
#include "core/trainer.h"
#include "tools/data/formats.h"
#include "tools/data/readers.h"

namespace mnemo {
namespace {

constexpr int kBatch = 256;
constexpr int kSteps = 40;

constexpr char kMlp[] = R"pb(
  model {
    input_size: 784
    init { scheme: HE_NORMAL }
    layer { type: "Dense" units: 1024 activation: "ReLU" }
    layer { type: "Dense" units: 1024 activation: "ReLU" }
    layer { type: "Dense" units: 10 }
  }
  data { train_limit: 10240 test_limit: 1 }
  trainer {
    optimizer { type: "sgd" learning_rate: 0.05 momentum: 0.9 }
    batch_size: 256
    epochs: 1
    seed: 1
  }
)pb";

[[noreturn]] void Fail(const absl::Status& status) {
  std::fprintf(stderr, "%s\n", std::string(status.message()).c_str());
  std::exit(1);
}

// The config and its data, read once.
struct Setup {
  std::unique_ptr<LoadedConfig> config;
  TrainTestData data;
};

const Setup& TheSetup() {
  static const Setup* const setup = [] {
    if (absl::Status s = RegisterDataFormats(); !s.ok()) Fail(s);
    absl::StatusOr<std::unique_ptr<LoadedConfig>> config =
        ConfigLoader().LoadText(kMlp, "augmentation_benchmark");
    if (!config.ok()) Fail(config.status());
    absl::StatusOr<TrainTestData> data = LoadData((*config)->experiment());
    if (!data.ok()) Fail(data.status());
    return new Setup{*std::move(config), *std::move(data)};
  }();
  return *setup;
}

// 0: none; 1: shifts of up to 2 pixels; 2: rotation (10 degrees), flip,
// shift (2) and crop (padding 2).
std::optional<config::Augmentation> Augmentation(int64_t which) {
  if (which == 0) return std::nullopt;
  config::Augmentation config;
  config.set_height(28);
  config.set_width(28);
  config.set_channels(1);
  config.set_max_shift(2);
  if (which == 2) {
    config.set_max_rotation_degrees(10);
    config.set_horizontal_flip(true);
    config.set_crop_padding(2);
  }
  return config;
}

const char* Label(int64_t which) {
  return which == 0 ? "none" : which == 1 ? "shift 2" : "rotation, flip, shift, crop";
}

void BM_AugmentBatch(benchmark::State& state) {
  const Setup& setup = TheSetup();
  absl::StatusOr<ImageAugmenter> augmenter =
      ImageAugmenter::Create(*Augmentation(state.range(0)), 784);
  if (!augmenter.ok()) Fail(augmenter.status());
  Tensor batch = setup.data.train.features.topRows(kBatch);
  std::vector<int32_t> samples(kBatch);
  for (int i = 0; i < kBatch; ++i) samples[i] = i;
  std::vector<float> scratch;
  int epoch = 0;
  for (auto _ : state) {
    augmenter->AugmentBatch(1, ++epoch, samples, &batch, &scratch);
    benchmark::DoNotOptimize(batch.data());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.SetLabel(Label(state.range(0)));
}
BENCHMARK(BM_AugmentBatch)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond);

void BM_TrainEpoch(benchmark::State& state) {
  const Setup& setup = TheSetup();
  absl::StatusOr<std::unique_ptr<Network>> network =
      BuildNetwork(*setup.config, Registries::Global());
  const config::Trainer& trainer_config = setup.config->experiment().trainer();
  absl::StatusOr<std::unique_ptr<Optimizer>> optimizer =
      CreateOptimizer(trainer_config.optimizer());
  if (!network.ok()) Fail(network.status());
  if (!optimizer.ok()) Fail(optimizer.status());
  absl::StatusOr<Trainer> trainer =
      Trainer::Create(trainer_config, network->get(), optimizer->get());
  if (!trainer.ok()) Fail(trainer.status());
  TrainTestData data;
  data.train = setup.data.train;
  data.augmentation = Augmentation(state.range(0));
  for (auto _ : state) {
    TrainingProgress progress;
    if (absl::Status s = trainer->Run(data, &progress); !s.ok()) Fail(s);
    benchmark::DoNotOptimize(progress.history.back().train_loss);
  }
  state.SetItemsProcessed(state.iterations() * kSteps * kBatch);
  state.SetLabel(Label(state.range(0)));
}
BENCHMARK(BM_TrainEpoch)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->MinTime(5.0);

}  // namespace
}  // namespace mnemo

BENCHMARK_MAIN();
