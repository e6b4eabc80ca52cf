// The memo on a frozen backbone (issue 3): configs/frozen_backbone.pbtxt
// (keep_all) and configs/frozen_backbone_memo.pbtxt (memo) trained side by
// side, epoch by epoch, in one process, on the full Fashion-MNIST.
//
//   ./bazelw run //tools/bench:memo_benchmark                  # 5 epochs
//   ./bazelw run //tools/bench:memo_benchmark -- --epochs=10
//
// Prints each epoch's training time with and without the memo (the order of
// the two alternates, so neither always runs on a warmer machine), the ratio
// for epochs 2..N (min / median / max), evaluation times, test accuracies, the
// memo's statistics and the process's peak memory. Then checks that the two
// runs agree bit for bit (test-set logits and every parameter) and that the
// memo stayed within its capacity; exits 1 if not.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/config_loader.h"
#include "core/format_bytes.h"
#include "core/model_builder.h"
#include "core/optimizer.h"
#include "core/status_macros.h"
#include "core/stopwatch.h"
#include "core/trainer.h"
#include "tools/data/readers.h"
#include "tools/model_summary.h"
#include "tools/paths.h"
#include "tools/resident_memory.h"
#include "tools/strategy_stats.h"
#include "tools/tool_main.h"

ABSL_FLAG(int, epochs, 5, "epochs to train each config");
ABSL_FLAG(std::string, without, "configs/frozen_backbone.pbtxt", "the config without the memo");
ABSL_FLAG(std::string, with, "configs/frozen_backbone_memo.pbtxt", "the config with the memo");

namespace mnemo {
namespace {

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// The process's peak resident memory (VmHWM), or "?".
std::string PeakResidentMemory() {
  absl::StatusOr<ResidentMemory> memory = ReadResidentMemory();
  return memory.ok() ? FormatBytes(static_cast<double>(memory->peak_bytes)) : "?";
}

double Counter(const CacheStats& stats, const std::string& name) {
  for (const auto& [key, value] : stats.counters) {
    if (key == name) return value;
  }
  return -1;
}

// One config's network, optimizer and trainer, and what it measured.
struct Side {
  std::string name;
  std::unique_ptr<LoadedConfig> config;
  std::unique_ptr<Network> network;
  std::unique_ptr<Optimizer> optimizer;
  std::unique_ptr<Trainer> trainer;
  std::vector<double> train_seconds, eval_seconds, accuracy;
};

absl::Status Setup(const std::string& flag, const std::string& name, int epochs, Side* run) {
  run->name = name;
  MNEMO_ASSIGN_OR_RETURN(std::string path, FindInputFile(flag));
  ConfigLoader loader;
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<LoadedConfig> config, loader.LoadFile(path));
  run->config = std::move(config);
  config::Trainer& trainer = *run->config->mutable_experiment().mutable_trainer();
  trainer.set_epochs(epochs);
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Network> network,
                         BuildNetwork(*run->config, Registries::Global()));
  run->network = std::move(network);
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Optimizer> optimizer,
                         CreateOptimizer(trainer.optimizer()));
  run->optimizer = std::move(optimizer);
  MNEMO_ASSIGN_OR_RETURN(Trainer created,
                         Trainer::Create(trainer, run->network.get(), run->optimizer.get()));
  run->trainer = std::make_unique<Trainer>(std::move(created));
  return absl::OkStatus();
}

absl::Status TrainAndEvaluate(Side& run, const TrainTestData& data, int epoch) {
  MNEMO_ASSIGN_OR_RETURN(EpochMetrics metrics, run.trainer->TrainEpoch(data.train, epoch));
  run.train_seconds.push_back(metrics.train_seconds);
  const Stopwatch stopwatch;
  MNEMO_ASSIGN_OR_RETURN(
      Evaluation evaluation,
      Evaluate(*run.network, data.test, run.config->experiment().trainer().batch_size()));
  run.eval_seconds.push_back(stopwatch.ElapsedSeconds());
  run.accuracy.push_back(evaluation.accuracy);
  return absl::OkStatus();
}

// The test set's logits, batch by batch, compared bit for bit; returns the
// number of differing floats.
absl::StatusOr<int64_t> LogitDifferences(Side& a, Side& b, const Dataset& test, int batch_size) {
  int64_t differing = 0;
  Tensor batch;
  for (int begin = 0; begin < test.size(); begin += batch_size) {
    const int count = std::min(batch_size, test.size() - begin);
    batch = test.features.middleRows(begin, count);
    const ForwardContext eval{false, 0, 0};
    MNEMO_ASSIGN_OR_RETURN(const Tensor* x, a.network->Forward(batch, eval));
    const Tensor logits = *x;
    a.network->strategy().EndPass();
    MNEMO_ASSIGN_OR_RETURN(const Tensor* y, b.network->Forward(batch, eval));
    for (Eigen::Index k = 0; k < logits.size(); ++k) {
      differing += std::memcmp(&logits.data()[k], &y->data()[k], sizeof(float)) != 0;
    }
    b.network->strategy().EndPass();
  }
  return differing;
}

int64_t ParameterDifferences(Network& a, Network& b) {
  int64_t differing = 0;
  for (int i = 0; i < a.num_layers(); ++i) {
    std::vector<Parameter> pa = a.layer(i).parameters(), pb = b.layer(i).parameters();
    for (size_t p = 0; p < pa.size(); ++p) {
      for (Eigen::Index k = 0; k < pa[p].value->size(); ++k) {
        differing += std::memcmp(&pa[p].value->data()[k], &pb[p].value->data()[k],
                                 sizeof(float)) != 0;
      }
    }
  }
  return differing;
}

absl::Status Run() {
  const int epochs = absl::GetFlag(FLAGS_epochs);
  if (epochs < 2) return absl::InvalidArgumentError("--epochs must be >= 2");
  Side without, with;
  MNEMO_RETURN_IF_ERROR(Setup(absl::GetFlag(FLAGS_without), "keep_all", epochs, &without));
  MNEMO_RETURN_IF_ERROR(Setup(absl::GetFlag(FLAGS_with), "memo", epochs, &with));
  MNEMO_ASSIGN_OR_RETURN(TrainTestData data, LoadData(with.config->experiment()));
  absl::PrintF("frozen backbone, %d training and %d test samples; %s vs %s\n", data.train.size(),
               data.test.size(), without.config->path(), with.config->path());
  absl::PrintF("model   %s\n\n", DescribeNetwork(*with.network));
  absl::PrintF("%5s  %12s  %12s  %7s  %11s  %11s  %9s  %9s\n", "epoch", "keep_all s",
               "memo s", "ratio", "eval kept s", "eval memo s", "acc kept", "acc memo");
  std::fflush(stdout);

  std::vector<double> ratios;
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    Side* order[2] = {&without, &with};
    if (epoch % 2 == 0) std::swap(order[0], order[1]);
    for (Side* run : order) {
      MNEMO_RETURN_IF_ERROR(TrainAndEvaluate(*run, data, epoch));
    }
    const double ratio = without.train_seconds.back() / with.train_seconds.back();
    if (epoch >= 2) ratios.push_back(ratio);
    absl::PrintF("%5d  %12.3f  %12.3f  %6.2fx  %11.3f  %11.3f  %9.4f  %9.4f\n", epoch,
                 without.train_seconds.back(), with.train_seconds.back(), ratio,
                 without.eval_seconds.back(), with.eval_seconds.back(),
                 without.accuracy.back(), with.accuracy.back());
    std::fflush(stdout);
  }
  const double min = *std::min_element(ratios.begin(), ratios.end());
  const double max = *std::max_element(ratios.begin(), ratios.end());
  absl::PrintF(
      "\nepochs 2..%d: keep_all time / memo time  min %.2fx  median %.2fx  max %.2fx\n",
      epochs, min, Median(ratios), max);
  absl::PrintF("epoch 1 (the memo fills): memo %.3f s vs keep_all %.3f s\n",
               with.train_seconds[0], without.train_seconds[0]);

  const CacheStats stats = with.network->strategy().stats();
  absl::PrintF("memo    %s\n", FormatCacheStats(stats));
  const double bytes = Counter(stats, "bytes");
  const double capacity = Counter(stats, "capacity_bytes");
  absl::PrintF("memo    %s held of %s capacity (%.1f%%); process peak resident memory %s\n",
               FormatBytes(bytes), FormatBytes(capacity), 100 * bytes / capacity,
               PeakResidentMemory());

  const int batch_size = with.config->experiment().trainer().batch_size();
  MNEMO_ASSIGN_OR_RETURN(int64_t logits, LogitDifferences(without, with, data.test, batch_size));
  const int64_t parameters = ParameterDifferences(*without.network, *with.network);
  bool accuracies_equal = without.accuracy == with.accuracy;
  absl::PrintF(
      "check   test logits: %d floats differ; parameters: %d differ; test accuracies "
      "%s\n",
      logits, parameters, accuracies_equal ? "identical every epoch" : "DIFFER");
  if (logits != 0 || parameters != 0 || !accuracies_equal) {
    return absl::InternalError("the memo changed the results");
  }
  if (bytes > capacity) return absl::InternalError("the memo exceeded its capacity");
  absl::PrintF("ok      bit-identical results, memo within its capacity\n");
  return absl::OkStatus();
}

}  // namespace
}  // namespace mnemo

int main(int argc, char** argv) {
  return mnemo::RunTool(argc, argv, "memo_benchmark",
                        "Frozen-backbone training with and without the memo, side by side.\n"
                        "  bazel run //tools/bench:memo_benchmark -- [--epochs=N]",
                        &mnemo::Run);
}
