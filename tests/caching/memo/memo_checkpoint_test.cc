// Both caching plugins from one config: the memo covers the frozen backbone
// and hands the trainable rest to the checkpoint strategy (options.inner).
// Training must match keep_all bit for bit, with the backbone computed once
// per sample and the head's activations recomputed by the checkpoints.

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/config_loader.h"
#include "core/dataset.h"
#include "core/model_builder.h"
#include "core/optimizer.h"
#include "core/trainer.h"
#include "gtest/gtest.h"
#include "tests/plugins/test_args.h"
#include "tests/testing/tensors.h"

namespace mnemo {
namespace {

using ::mnemo::testing::SameBits;

using ::mnemo::testing::TestArg;

// Frozen 24-32-32 backbone (4 network layers), trainable head of three
// Dense 32 + ReLU and a Dense 10 (7 layers).
std::string Config(const std::string& cache_strategy) {
  return "plugin: \"" + TestArg("memo_plugin") + "\"\nplugin: \"" +
         TestArg("checkpoint_plugin") +
         "\"\n"
         "model { input_size: 24 init { scheme: HE_NORMAL }\n"
         "  layer { type: \"Dense\" units: 32 activation: \"ReLU\" trainable: false }\n"
         "  layer { type: \"Dense\" units: 32 activation: \"ReLU\" trainable: false }\n"
         "  layer { type: \"Dense\" units: 32 activation: \"ReLU\" }\n"
         "  layer { type: \"Dense\" units: 32 activation: \"ReLU\" }\n"
         "  layer { type: \"Dense\" units: 32 activation: \"ReLU\" }\n"
         "  layer { type: \"Dense\" units: 10 } }\n"
         "cache_strategy {" +
         cache_strategy +
         "}\n"
         "trainer { optimizer { type: \"sgd\" learning_rate: 0.05 momentum: 0.9 }\n"
         "  batch_size: 16 epochs: 3 seed: 5 }\n";
}

constexpr char kMemoWithCheckpoint[] =
    " type: \"memo\" options { [type.googleapis.com/mnemo.caching.memo.MemoOptions] {"
    "  capacity_bytes: 10000000"
    "  inner { type: \"checkpoint\" options {"
    "    [type.googleapis.com/mnemo.caching.checkpoint.CheckpointOptions] { every_n: 2 } } }"
    " } } ";

struct Trained {
  std::unique_ptr<LoadedConfig> config;
  std::unique_ptr<Network> network;
  std::unique_ptr<Optimizer> optimizer;
  std::unique_ptr<Trainer> trainer;
};

void Build(const std::string& text, Trained* run) {
  ConfigLoader loader;
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = loader.LoadText(text, "both.pbtxt");
  ASSERT_TRUE(config.ok()) << config.status();
  run->config = *std::move(config);
  absl::StatusOr<std::unique_ptr<Network>> network =
      BuildNetwork(*run->config, Registries::Global());
  ASSERT_TRUE(network.ok()) << network.status();
  run->network = *std::move(network);
  const config::Trainer& trainer = run->config->experiment().trainer();
  run->optimizer = *CreateOptimizer(trainer.optimizer());
  absl::StatusOr<Trainer> created =
      Trainer::Create(trainer, run->network.get(), run->optimizer.get());
  ASSERT_TRUE(created.ok()) << created.status();
  run->trainer = std::make_unique<Trainer>(*std::move(created));
}

Dataset RandomData(int n) {
  std::mt19937 rng(11);
  Dataset data;
  data.features.resize(n, 24);
  for (Eigen::Index k = 0; k < data.features.size(); ++k) {
    data.features.data()[k] = static_cast<float>(rng() % 1000) / 1000.0f;
  }
  for (int i = 0; i < n; ++i) data.labels.push_back(static_cast<int32_t>(rng() % 10));
  data.num_classes = 10;
  return data;
}

double Counter(const CacheStats& stats, const std::string& name) {
  for (const auto& [key, value] : stats.counters) {
    if (key == name) return value;
  }
  return -1;
}

TEST(MemoCheckpointTest, MemoOnTheBackboneCheckpointsInTheHeadBitForBit) {
  Trained both, reference;
  Build(Config(kMemoWithCheckpoint), &both);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  Build(Config(" type: \"keep_all\" "), &reference);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  const Dataset data = RandomData(96);

  CacheStats stats;
  for (int epoch = 1; epoch <= 3; ++epoch) {
    absl::StatusOr<EpochMetrics> a = both.trainer->TrainEpoch(data, epoch);
    absl::StatusOr<EpochMetrics> b = reference.trainer->TrainEpoch(data, epoch);
    ASSERT_TRUE(a.ok()) << a.status();
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_EQ(a->train_loss, b->train_loss) << "epoch " << epoch;
    if (epoch == 1) stats = both.network->strategy().stats();
  }
  // The checkpoints recomputed head activations in the backward pass.
  EXPECT_GT(stats.recomputed_forwards, 0u);
  for (int i = 0; i < both.network->num_layers(); ++i) {
    std::vector<Parameter> a = both.network->layer(i).parameters();
    std::vector<Parameter> b = reference.network->layer(i).parameters();
    for (size_t p = 0; p < a.size(); ++p) {
      EXPECT_TRUE(SameBits(*a[p].value, *b[p].value)) << "layer " << i;
    }
  }
  absl::StatusOr<Evaluation> a = Evaluate(*both.network, data, 16);
  absl::StatusOr<Evaluation> b = Evaluate(*reference.network, data, 16);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->loss, b->loss);

  stats = both.network->strategy().stats();
  EXPECT_EQ(Counter(stats, "memoized_layers"), 4);
  EXPECT_EQ(Counter(stats, "rows_computed"), 96);  // the backbone ran once per sample
  EXPECT_EQ(Counter(stats, "rows_reused"), 2 * 96 + 96);
  bool has_checkpoint_counters = false;
  for (const auto& [name, value] : stats.counters) {
    has_checkpoint_counters |= name.rfind("checkpoint.", 0) == 0;
  }
  EXPECT_TRUE(has_checkpoint_counters) << "the inner's counters, prefixed";
}

TEST(MemoCheckpointTest, TheInnersOptionsAreCheckedByItsOwnFactory) {
  ConfigLoader loader;
  // Line 10 holds `cache_strategy {`.
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = loader.LoadText(
      Config(" type: \"memo\" options { [type.googleapis.com/mnemo.caching.memo.MemoOptions] {"
             "  capacity_bytes: 1000 inner { type: \"checkpoint\" options {"
             "    [type.googleapis.com/mnemo.caching.checkpoint.CheckpointOptions] {"
             "      every_n: 0 } } } } } "),
      "both.pbtxt");
  absl::Status status = config.status();
  if (config.ok()) status = BuildNetwork(**config, Registries::Global()).status();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("both.pbtxt:10:1: memo: options.inner: checkpoint: every_n"),
            std::string::npos)
      << status;
}

}  // namespace
}  // namespace mnemo
