// Activation checkpointing on a deep MLP, side by side with keep_all in one
// run: 784 -> 32 x (Dense 512 + ReLU) -> Dense 10, batch 4096, random data,
// one SGD step (forward, softmax cross-entropy, backward, optimizer step).
//
//   ./bazelw run //tools/bench:checkpoint_benchmark [-- ROUNDS]
//
// For keep_all, every_n 4, sqrt and a budget of 25% of keep_all's peak it
// prints the peak activation bytes (as keep_all counts them: input and
// output included), the median step time over ROUNDS rounds (default 5; the
// modes take turns within a round, so drift hits them alike; a warm-up round
// first), both as ratios to keep_all, the layer forwards recomputed per step,
// and whether the gradients after the first step and the weights after the
// last are bit-identical to keep_all's. PyTorch's checkpoint_sequential on
// the same network: 45% of keep-all memory at +31% time (shared notes).

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/config_loader.h"
#include "core/loss.h"
#include "core/model_builder.h"
#include "core/network.h"
#include "core/optimizer.h"
#include "core/registry.h"
#include "core/stopwatch.h"
#include "tests/testing/tensors.h"

namespace mnemo {
namespace {

using ::mnemo::testing::SameBits;

constexpr int kBatch = 4096;
constexpr int kInput = 784;
constexpr int kWidth = 512;
constexpr int kBlocks = 32;
constexpr int kClasses = 10;

// The network with the given cache_strategy block, as a config.
std::string ConfigText(const std::string& cache_strategy) {
  std::string text = absl::StrCat(
      "plugin: \"caching/checkpoint/libcheckpoint_plugin.so\"\n"
      "model {\n  input_size: ", kInput, "\n  init { scheme: HE_NORMAL }\n");
  for (int i = 0; i < kBlocks; ++i) {
    absl::StrAppend(&text, "  layer { type: \"Dense\" units: ", kWidth,
                    " activation: \"ReLU\" }\n");
  }
  absl::StrAppend(&text, "  layer { type: \"Dense\" units: ", kClasses, " }\n}\n",
                  "cache_strategy { ", cache_strategy, " }\n",
                  "trainer {\n  optimizer { type: \"sgd\" learning_rate: 0.01 momentum: 0.9 }\n"
                  "  batch_size: ", kBatch, "\n  epochs: 1\n  seed: 1\n}\n");
  return text;
}

std::string CheckpointOptions(const std::string& schedule) {
  return absl::StrCat(
      "type: \"checkpoint\" options { "
      "[type.googleapis.com/mnemo.caching.checkpoint.CheckpointOptions] { ",
      schedule, " } }");
}

struct Mode {
  std::string name;
  std::string cache_strategy;
  std::unique_ptr<LoadedConfig> config;
  std::unique_ptr<Network> network;
  std::unique_ptr<Optimizer> optimizer;
  Tensor grad_logits;
  std::vector<double> seconds;  // timed rounds
  double last_seconds = 0;
  CacheStats stats;
  bool same_gradients = true;
  bool same_weights = true;
};

void Fail(const absl::Status& status) {
  std::fprintf(stderr, "checkpoint_benchmark: %s\n", std::string(status.message()).c_str());
  std::exit(1);
}

void Build(Mode& mode) {
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config =
      ConfigLoader().LoadText(ConfigText(mode.cache_strategy), "checkpoint_benchmark.pbtxt");
  if (!config.ok()) Fail(config.status());
  absl::StatusOr<std::unique_ptr<Network>> network =
      BuildNetwork(**config, Registries::Global());
  if (!network.ok()) Fail(network.status());
  absl::StatusOr<std::unique_ptr<Optimizer>> optimizer =
      CreateOptimizer((*config)->experiment().trainer().optimizer());
  if (!optimizer.ok()) Fail(optimizer.status());
  mode.config = std::move(*config);
  mode.network = std::move(*network);
  mode.optimizer = std::move(*optimizer);
}

// One training step; returns its wall time in seconds.
double Step(Mode& mode, const Tensor& input, const std::vector<int32_t>& labels,
            uint64_t step) {
  const ForwardContext context{/*training=*/true, /*seed=*/1, step};
  const Stopwatch stopwatch;
  absl::StatusOr<const Tensor*> logits = mode.network->Forward(input, context);
  if (!logits.ok()) Fail(logits.status());
  SoftmaxCrossEntropy::Compute(**logits, labels, &mode.grad_logits, nullptr);
  mode.network->ZeroGradients();
  if (absl::Status s = mode.network->Backward(mode.grad_logits, context); !s.ok()) Fail(s);
  mode.optimizer->Step(*mode.network);
  const double seconds = stopwatch.ElapsedSeconds();
  mode.stats = mode.network->strategy().stats();
  return seconds;
}

// Compares every trainable tensor (or its gradient) of two networks.
bool SameParameters(Network& a, Network& b, bool gradients) {
  for (int t = 0; t < a.num_layers(); ++t) {
    std::vector<Parameter> pa = a.layer(t).parameters(), pb = b.layer(t).parameters();
    for (size_t p = 0; p < pa.size(); ++p) {
      if (!SameBits(gradients ? *pa[p].gradient : *pa[p].value,
                    gradients ? *pb[p].gradient : *pb[p].value)) {
        return false;
      }
    }
  }
  return true;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double Counter(const CacheStats& stats, const std::string& name) {
  for (const auto& [key, value] : stats.counters) {
    if (key == name) return value;
  }
  return -1;
}

int Run(int rounds) {
  // keep_all's peak: the input and every activation, as it counts them.
  const int64_t keep_all_bytes = int64_t{kBatch} * sizeof(float) *
                                 (kInput + 2 * kBlocks * kWidth + kClasses);
  std::vector<Mode> modes(4);
  modes[0].name = "keep_all";
  modes[0].cache_strategy = "type: \"keep_all\"";
  modes[1].name = "every_n 4";
  modes[1].cache_strategy = CheckpointOptions("every_n: 4");
  modes[2].name = "sqrt";
  modes[2].cache_strategy = CheckpointOptions("sqrt: true");
  modes[3].name = "budget 25%";
  modes[3].cache_strategy =
      CheckpointOptions(absl::StrCat("memory_budget_bytes: ", keep_all_bytes / 4));
  for (Mode& mode : modes) Build(mode);

  std::mt19937 rng(7);
  Tensor input(kBatch, kInput);
  for (Eigen::Index k = 0; k < input.size(); ++k) {
    input.data()[k] = static_cast<float>(rng() >> 8) * 0x1.0p-24f;  // pixels in [0, 1)
  }
  std::vector<int32_t> labels(kBatch);
  for (int32_t& label : labels) label = static_cast<int32_t>(rng() % kClasses);

  absl::PrintF("deep MLP %d -> %d x (Dense %d + ReLU) -> Dense %d (%d network layers), "
               "batch %d, SGD step; %d timed rounds after a warm-up\n",
               kInput, kBlocks, kWidth, kClasses, 2 * kBlocks + 1, kBatch, rounds);
  for (int round = 0; round <= rounds; ++round) {
    for (size_t m = 0; m < modes.size(); ++m) {
      Mode& mode = modes[(m + round) % modes.size()];  // take turns going first
      mode.last_seconds = Step(mode, input, labels, round);
      if (round > 0) mode.seconds.push_back(mode.last_seconds);
    }
    if (round == 0) {
      for (Mode& mode : modes) {
        mode.same_gradients = SameParameters(*modes[0].network, *mode.network, true);
      }
    }
    absl::PrintF("round %d:", round);
    for (const Mode& mode : modes) {
      absl::PrintF("  %s %.2fs", mode.name, mode.last_seconds);
    }
    absl::PrintF("%s\n", round == 0 ? " (warm-up)" : "");
    std::fflush(stdout);
  }
  for (Mode& mode : modes) {
    mode.same_weights = SameParameters(*modes[0].network, *mode.network, false);
  }

  const double base_bytes = static_cast<double>(modes[0].stats.peak_bytes_held);
  const double base_time = Median(modes[0].seconds);
  absl::PrintF("\n%-11s %12s %8s %11s %8s %11s %11s %10s %9s\n", "mode", "peak (MiB)",
               "memory", "step (s)", "time", "recomputed", "alloc (MiB)", "gradients",
               "weights");
  for (const Mode& mode : modes) {
    const double peak = static_cast<double>(mode.stats.peak_bytes_held);
    const double allocated = std::max(Counter(mode.stats, "peak_allocated_bytes"), peak);
    const double time = Median(mode.seconds);
    absl::PrintF("%-11s %12.1f %7.1f%% %11.3f %+7.1f%% %11d %11.1f %10s %9s\n", mode.name,
                 peak / (1 << 20), 100 * peak / base_bytes, time,
                 100 * (time / base_time - 1), mode.stats.recomputed_forwards,
                 allocated / (1 << 20), mode.same_gradients ? "identical" : "DIFFER",
                 mode.same_weights ? "identical" : "DIFFER");
  }
  absl::PrintF(
      "\nmemory, time: ratios to keep_all (peak activation bytes; median step time).\n"
      "recomputed: layer forwards recomputed per step. alloc: the most bytes the strategy's\n"
      "buffers (pooled ones included) and the input took at once. gradients after the first\n"
      "step, weights after the last, bit for bit against keep_all.\n"
      "PyTorch checkpoint_sequential, same network (shared notes): 45%% memory, +31%% time.\n");
  const Mode& sqrt = modes[2];
  const double sqrt_memory = sqrt.stats.peak_bytes_held / base_bytes;
  const double sqrt_time = Median(sqrt.seconds) / base_time - 1;
  const bool done = sqrt_memory <= 0.30 && sqrt_time <= 0.35 && sqrt.same_gradients;
  absl::PrintF("sqrt: %.1f%% of keep_all's memory at %+.1f%% time, gradients %s: %s\n",
               100 * sqrt_memory, 100 * sqrt_time,
               sqrt.same_gradients ? "identical" : "DIFFER",
               done ? "within 30% memory and +35% time" : "MISSES 30% memory / +35% time");
  bool identical = true;
  for (const Mode& mode : modes) identical &= mode.same_gradients && mode.same_weights;
  return identical ? 0 : 1;
}

}  // namespace
}  // namespace mnemo

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  return mnemo::Run(rounds);
}
