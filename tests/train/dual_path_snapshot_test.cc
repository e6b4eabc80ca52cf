// Training snapshots of the dual path, with both real memory plugins: a run
// stopped mid-epoch or at an epoch's end, snapshotted, restored into a
// classifier and optimizer built afresh and finished, ends with the
// parameters, optimizer state, memory contents and metrics of a run that
// never stopped, bit for bit; and what a restore refuses, it leaves alone.
#include "core/classifier/dual_path_snapshot.h"

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/classifier/dual_path_classifier.h"
#include "core/classifier/dual_path_trainer.h"
#include "core/config_loader.h"
#include "core/plugin_loader.h"
#include "core/snapshot.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/plugins/test_args.h"
#include "tests/train/small_run.h"

namespace mnemo {
namespace {

using ::mnemo::testing::SameBits;
using ::mnemo::testing::SmallData;
using ::mnemo::testing::StopAt;
using ::mnemo::testing::TestArg;
using ::testing::HasSubstr;

// 6 -> Dense 8 ReLU ("features") + Dropout -> Dense 3, Adam (state of every
// kind), 3 epochs of 7 batches over 50 samples into a memory of 20 (full
// after the first epoch: replacement runs from then on).
std::string DualPathConfig(const std::string& memory_type, int capacity = 20) {
  return absl::StrCat(R"pb(
                        model {
                          input_size: 6
                          init { scheme: HE_UNIFORM }
                          layer { type: "Dense" units: 8 activation: "ReLU" name: "features" }
                          layer { type: "Dropout" rate: 0.25 }
                          layer { type: "Dense" units: 3 }
                        }
                        memory_module { type: ")pb",
                      memory_type, R"pb("
                                        capacity:)pb",
                      capacity, R"pb(
      features_after: "features"
      memory_loss_weight: 0.4
    }
          trainer {
      optimizer { type: "adam" learning_rate: 0.01 }
      batch_size: 8
      epochs: 3
      seed: 5
    })pb");
}

struct DualPathRun {
  std::unique_ptr<LoadedConfig> config;
  std::unique_ptr<DualPathClassifier> classifier;
  std::unique_ptr<Optimizer> optimizer;
  std::unique_ptr<DualPathTrainer> trainer;
  std::string training_text;  // TrainingConfigText
};

DualPathRun MakeRun(const std::string& text) {
  DualPathRun run;
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config =
      ConfigLoader().LoadText(text, "dual_path.pbtxt");
  EXPECT_TRUE(config.ok()) << config.status();
  if (!config.ok()) return run;
  run.config = *std::move(config);
  absl::StatusOr<std::unique_ptr<DualPathClassifier>> classifier =
      DualPathClassifier::Create(*run.config);
  EXPECT_TRUE(classifier.ok()) << classifier.status();
  absl::StatusOr<std::unique_ptr<Optimizer>> optimizer =
      CreateOptimizer(run.config->experiment().trainer().optimizer());
  EXPECT_TRUE(optimizer.ok()) << optimizer.status();
  if (!classifier.ok() || !optimizer.ok()) return run;
  run.classifier = *std::move(classifier);
  run.optimizer = *std::move(optimizer);
  absl::StatusOr<DualPathTrainer> trainer = DualPathTrainer::Create(
      run.config->experiment().trainer(), run.classifier.get(), run.optimizer.get());
  EXPECT_TRUE(trainer.ok()) << trainer.status();
  if (trainer.ok()) run.trainer = std::make_unique<DualPathTrainer>(*std::move(trainer));
  run.training_text = TrainingConfigText(run.config->experiment());
  return run;
}

// Every parameter of the trained networks, the optimizer's state and the
// memory's contents, by name.
std::map<std::string, Tensor> Everything(DualPathRun& run) {
  std::map<std::string, Tensor> all;
  for (Network* network : run.classifier->trained_networks()) {
    for (int i = 0; i < network->num_layers(); ++i) {
      for (const Parameter& p : network->layer(i).parameters()) {
        all.emplace(absl::StrCat("param ", network->layer(i).name(), ".", p.name), *p.value);
      }
    }
  }
  for (const auto& [key, tensor] : run.optimizer->State()) {
    all.emplace(absl::StrCat("optimizer ", key), *tensor);
  }
  for (auto& [name, tensor] : run.classifier->memory().ExportState()) {
    all.emplace(absl::StrCat("memory ", name), std::move(tensor));
  }
  return all;
}

void ExpectSameBits(const std::map<std::string, Tensor>& a,
                    const std::map<std::string, Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, tensor] : a) {
    auto it = b.find(name);
    ASSERT_NE(it, b.end()) << name;
    EXPECT_TRUE(SameBits(tensor, it->second)) << name;
  }
}

// Every figure of two histories that does not depend on the clock.
void ExpectSameMetrics(const std::vector<DualPathEpochMetrics>& a,
                       const std::vector<DualPathEpochMetrics>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t e = 0; e < a.size(); ++e) {
    SCOPED_TRACE(absl::StrCat("epoch ", e + 1));
    EXPECT_EQ(a[e].epoch, b[e].epoch);
    EXPECT_EQ(a[e].train_loss, b[e].train_loss);
    EXPECT_EQ(a[e].train_classification_loss, b[e].train_classification_loss);
    EXPECT_EQ(a[e].train_memory_loss, b[e].train_memory_loss);
    EXPECT_EQ(a[e].train_accuracy, b[e].train_accuracy);
    EXPECT_EQ(a[e].memory_size, b[e].memory_size);
    EXPECT_EQ(a[e].test.loss, b[e].test.loss);
    EXPECT_EQ(a[e].test.accuracy, b[e].test.accuracy);
    EXPECT_EQ(a[e].test.network_accuracy, b[e].test.network_accuracy);
    EXPECT_EQ(a[e].test.memory_accuracy, b[e].test.memory_accuracy);
    EXPECT_EQ(a[e].test.memory_answered, b[e].test.memory_answered);
    EXPECT_EQ(a[e].test.memory_corrected, b[e].test.memory_corrected);
    EXPECT_EQ(a[e].test.memory_broke, b[e].test.memory_broke);
  }
}

class DualPathSnapshotTest : public ::testing::TestWithParam<const char*> {
 protected:
  static void SetUpTestSuite() {
    for (const char* plugin : {"cached_memory_plugin", "trainable_memory_plugin"}) {
      absl::StatusOr<LoadedPlugin> loaded = PluginLoader::Global().Load(TestArg(plugin));
      ASSERT_TRUE(loaded.ok()) << loaded.status();
    }
  }

  // A file of this test's own (parametrized tests' names hold a '/').
  static std::string PathFor(const std::string& name) {
    const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string unique = absl::StrCat(test->name(), "_", name);
    std::replace(unique.begin(), unique.end(), '/', '_');
    return ::testing::TempDir() + unique;
  }

  const Dataset train_ = SmallData(50, 1);
  const Dataset test_ = SmallData(30, 2);
};

TEST_P(DualPathSnapshotTest, ResumedRunsEndBitForBitAsAnUninterruptedOne) {
  DualPathRun whole = MakeRun(DualPathConfig(GetParam()));
  ASSERT_NE(whole.trainer, nullptr);
  DualPathProgress done;
  ASSERT_TRUE(whole.trainer->Run(train_, test_, &done).ok());
  ASSERT_EQ(done.history.size(), 3u);
  // The memory filled and replaced: the resume has to carry real contents.
  EXPECT_EQ(done.history.back().memory_size, 20);
  const std::map<std::string, Tensor> expected = Everything(whole);

  // Mid-epoch 1, the end of epoch 1 (step 7), mid-epoch 2, and twice in a row.
  for (const std::vector<uint64_t>& stops :
       std::vector<std::vector<uint64_t>>{{3}, {7}, {10}, {4, 16}}) {
    SCOPED_TRACE(absl::StrCat("stops at step ", stops[0], stops.size() > 1 ? " and more" : ""));
    const std::string path = PathFor("snapshot.safetensors");
    DualPathProgress progress;
    for (uint64_t stop : stops) {
      DualPathRun part = MakeRun(DualPathConfig(GetParam()));
      ASSERT_NE(part.trainer, nullptr);
      if (progress.position.step > 0) {
        absl::StatusOr<DualPathProgress> restored =
            RestoreDualPathSnapshot(path, part.training_text, *part.classifier, *part.optimizer);
        ASSERT_TRUE(restored.ok()) << restored.status();
        progress = *std::move(restored);
      }
      StopAt hook(stop == 7 ? 0 : stop, stop == 7 ? 1 : 0);
      ASSERT_TRUE(part.trainer->Run(train_, test_, &progress, nullptr, &hook).ok());
      ASSERT_EQ(progress.position.step, stop);
      ASSERT_TRUE(WriteDualPathSnapshot(path, *part.classifier, *part.optimizer, progress,
                                        part.training_text)
                      .ok());
    }
    DualPathRun last = MakeRun(DualPathConfig(GetParam()));
    ASSERT_NE(last.trainer, nullptr);
    absl::StatusOr<DualPathProgress> restored =
        RestoreDualPathSnapshot(path, last.training_text, *last.classifier, *last.optimizer);
    ASSERT_TRUE(restored.ok()) << restored.status();
    progress = *std::move(restored);
    ASSERT_TRUE(last.trainer->Run(train_, test_, &progress).ok());
    EXPECT_EQ(progress.position.epoch, 4);
    ExpectSameBits(Everything(last), expected);
    ExpectSameMetrics(progress.history, done.history);
  }
}

TEST_P(DualPathSnapshotTest, ASnapshotOfAnotherConfigIsRefusedAndChangesNothing) {
  DualPathRun run = MakeRun(DualPathConfig(GetParam()));
  ASSERT_NE(run.trainer, nullptr);
  DualPathProgress progress;
  StopAt hook(5);
  ASSERT_TRUE(run.trainer->Run(train_, test_, &progress, nullptr, &hook).ok());
  const std::string path = PathFor("other.safetensors");
  ASSERT_TRUE(
      WriteDualPathSnapshot(path, *run.classifier, *run.optimizer, progress, run.training_text)
          .ok());

  DualPathRun other = MakeRun(DualPathConfig(GetParam(), /*capacity=*/21));
  ASSERT_NE(other.trainer, nullptr);
  const std::map<std::string, Tensor> before = Everything(other);
  absl::StatusOr<DualPathProgress> restored =
      RestoreDualPathSnapshot(path, other.training_text, *other.classifier, *other.optimizer);
  ASSERT_FALSE(restored.ok());
  EXPECT_THAT(std::string(restored.status().message()),
              HasSubstr("the snapshot has `memory_module.capacity: 20` where this run has "
                        "`memory_module.capacity: 21`"));
  ExpectSameBits(Everything(other), before);
}

TEST_P(DualPathSnapshotTest, ACoreSnapshotIsNotADualPathOne) {
  DualPathRun run = MakeRun(DualPathConfig(GetParam()));
  ASSERT_NE(run.trainer, nullptr);
  const std::string path = PathFor("core.safetensors");
  ASSERT_TRUE(WriteSnapshot(path, run.classifier->trained_networks(), *run.optimizer,
                            TrainingProgress(), run.training_text)
                  .ok());
  const std::map<std::string, Tensor> before = Everything(run);
  absl::StatusOr<DualPathProgress> restored =
      RestoreDualPathSnapshot(path, run.training_text, *run.classifier, *run.optimizer);
  ASSERT_FALSE(restored.ok());
  EXPECT_EQ(restored.status().message(),
            path +
                ": metadata \"mnemo.extra.dual_path.classification_sum\" is missing or no "
                "number: not a dual-path snapshot, or a damaged one");
  ExpectSameBits(Everything(run), before);
}

INSTANTIATE_TEST_SUITE_P(BothMemories, DualPathSnapshotTest,
                         ::testing::Values("cached_memory", "trainable_memory"));

}  // namespace
}  // namespace mnemo
