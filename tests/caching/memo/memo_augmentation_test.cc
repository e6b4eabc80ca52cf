// The memo under data augmentation: it keys entries on the input row's
// bytes, so an augmented row is a new input. Its hits and misses are those of
// the rows the augmentation makes (counted here on their own, from the
// trainer's order and the augmenter's draws), and training with it equals
// training without it, bit for bit.

#include <cstring>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/augmentation.h"
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

// A frozen 24-32-32 backbone (what the memo covers) and a trainable head; the
// 24 features are a 4 x 6 image.
std::string Config(const std::string& cache_strategy) {
  return "plugin: \"" + TestArg("memo_plugin") +
         "\"\n"
         "model { input_size: 24 init { scheme: HE_NORMAL }\n"
         "  layer { type: \"Dense\" units: 32 activation: \"ReLU\" trainable: false }\n"
         "  layer { type: \"Dense\" units: 32 activation: \"ReLU\" trainable: false }\n"
         "  layer { type: \"Dense\" units: 16 activation: \"ReLU\" }\n"
         "  layer { type: \"Dense\" units: 10 } }\n"
         "cache_strategy {" +
         cache_strategy +
         "}\n"
         "trainer { optimizer { type: \"sgd\" learning_rate: 0.05 momentum: 0.9 }\n"
         "  batch_size: 16 epochs: 3 seed: 5 }\n";
}

constexpr char kMemo[] =
    " type: \"memo\" options { [type.googleapis.com/mnemo.caching.memo.MemoOptions] {"
    "  capacity_bytes: 100000000 } } ";
constexpr char kKeepAll[] = " type: \"keep_all\" ";
constexpr int kSamples = 96;

// Shifts of one pixel and flips: a sample's row in one epoch is the row of
// another epoch now and then (the same draw), so there are hits too.
config::Augmentation ShiftAndFlip() {
  config::Augmentation config;
  config.set_height(4);
  config.set_width(6);
  config.set_channels(1);
  config.set_max_shift(1);
  config.set_horizontal_flip(true);
  return config;
}

struct Trained {
  std::unique_ptr<LoadedConfig> config;
  std::unique_ptr<Network> network;
  std::unique_ptr<Optimizer> optimizer;
};

// Trains `cache_strategy`'s network on `data` (three epochs, no evaluation).
void Train(const std::string& cache_strategy, const TrainTestData& data, Trained* run) {
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config =
      ConfigLoader().LoadText(Config(cache_strategy), "memo.pbtxt");
  ASSERT_TRUE(config.ok()) << config.status();
  run->config = *std::move(config);
  absl::StatusOr<std::unique_ptr<Network>> network =
      BuildNetwork(*run->config, Registries::Global());
  ASSERT_TRUE(network.ok()) << network.status();
  run->network = *std::move(network);
  const config::Trainer& trainer_config = run->config->experiment().trainer();
  run->optimizer = *CreateOptimizer(trainer_config.optimizer());
  absl::StatusOr<Trainer> trainer =
      Trainer::Create(trainer_config, run->network.get(), run->optimizer.get());
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  TrainingProgress progress;
  ASSERT_TRUE(trainer->Run(data, &progress).ok());
  ASSERT_EQ(progress.epoch, 4);
}

TrainTestData RandomData(bool augmented) {
  std::mt19937 rng(11);
  TrainTestData data;
  data.train.features.resize(kSamples, 24);
  for (Eigen::Index k = 0; k < data.train.features.size(); ++k) {
    data.train.features.data()[k] = static_cast<float>(rng() % 1000 + 1) / 1000.0f;
  }
  for (int i = 0; i < kSamples; ++i) data.train.labels.push_back(static_cast<int32_t>(rng() % 10));
  data.train.num_classes = 10;
  if (augmented) data.augmentation = ShiftAndFlip();
  return data;
}

double Counter(const CacheStats& stats, const std::string& name) {
  for (const auto& [key, value] : stats.counters) {
    if (key == name) return value;
  }
  return -1;
}

struct Lookups {
  int hits = 0;
  int misses = 0;
};

// The memo's lookups as the rows' bytes predict them: a row is a hit when an
// earlier batch had the same bytes (the rows of a batch are all looked up
// before any is stored).
Lookups PredictedLookups(const config::Trainer& trainer, const TrainTestData& data) {
  absl::StatusOr<ImageAugmenter> augmenter = ImageAugmenter::Create(ShiftAndFlip(), 24);
  EXPECT_TRUE(augmenter.ok()) << augmenter.status();
  std::set<std::string> stored;
  Lookups lookups;
  std::vector<int32_t> order;
  std::vector<float> row(24);
  for (int epoch = 1; epoch <= trainer.epochs(); ++epoch) {
    EpochOrder(trainer, epoch, kSamples, &order);
    for (int begin = 0; begin < kSamples; begin += trainer.batch_size()) {
      std::vector<std::string> batch;
      for (int i = begin; i < begin + trainer.batch_size(); ++i) {
        const float* original = data.train.features.data() + order[i] * 24;
        augmenter->Apply(augmenter->Draw(trainer.seed(), epoch, order[i]), original, row.data());
        batch.emplace_back(reinterpret_cast<const char*>(row.data()), 24 * sizeof(float));
        ++(stored.count(batch.back()) > 0 ? lookups.hits : lookups.misses);
      }
      stored.insert(batch.begin(), batch.end());
    }
  }
  return lookups;
}

TEST(MemoAugmentationTest, AnAugmentedRowIsANewInput) {
  const TrainTestData data = RandomData(/*augmented=*/true);
  Trained memo;
  Train(kMemo, data, &memo);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  const Lookups predicted = PredictedLookups(memo.config->experiment().trainer(), data);
  // Most rows are new; some come again.
  EXPECT_GT(predicted.misses, 2 * kSamples);
  EXPECT_GT(predicted.hits, 0);
  const CacheStats stats = memo.network->strategy().stats();
  EXPECT_EQ(Counter(stats, "memoized_layers"), 4);
  EXPECT_EQ(Counter(stats, "misses"), predicted.misses);
  EXPECT_EQ(Counter(stats, "hits"), predicted.hits);
  EXPECT_EQ(Counter(stats, "rows_computed"), predicted.misses);
  EXPECT_EQ(Counter(stats, "rows_reused"), predicted.hits);

  // Without augmentation every sample is computed once, then found.
  Trained plain;
  Train(kMemo, RandomData(/*augmented=*/false), &plain);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  const CacheStats plain_stats = plain.network->strategy().stats();
  EXPECT_EQ(Counter(plain_stats, "misses"), kSamples);
  EXPECT_EQ(Counter(plain_stats, "hits"), 2 * kSamples);
}

TEST(MemoAugmentationTest, TrainingWithTheMemoEqualsTrainingWithoutBitForBit) {
  const TrainTestData data = RandomData(/*augmented=*/true);
  Trained memo, reference;
  Train(kMemo, data, &memo);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  Train(kKeepAll, data, &reference);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  ASSERT_EQ(memo.network->num_layers(), reference.network->num_layers());
  for (int i = 0; i < memo.network->num_layers(); ++i) {
    const std::vector<Parameter> a = memo.network->layer(i).parameters();
    const std::vector<Parameter> b = reference.network->layer(i).parameters();
    ASSERT_EQ(a.size(), b.size());
    for (size_t p = 0; p < a.size(); ++p) {
      EXPECT_TRUE(SameBits(*a[p].value, *b[p].value)) << "layer " << i << " " << a[p].name;
    }
  }
}

}  // namespace
}  // namespace mnemo
