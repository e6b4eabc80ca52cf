// Training snapshots of the dual path, with both real memory plugins: a run
// stopped mid-epoch or at an epoch's end, snapshotted, restored into a
// classifier and optimizer built afresh and finished, ends with the
// parameters, optimizer state, memory contents and metrics of a run that
// never stopped, bit for bit; and what a restore refuses, it leaves alone.
#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/config_loader.h"
#include "core/plugin_loader.h"
#include "core/snapshot.h"
#include "core/trainer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "memory_modules/classifier/dual_path_classifier.h"
#include "tests/plugins/test_args.h"
#include "tests/train/small_run.h"

namespace mnemo {
namespace {

using ::mnemo::testing::ExpectSameMetrics;
using ::mnemo::testing::SameBits;
using ::mnemo::testing::SmallData;
using ::mnemo::testing::StopAt;
using ::mnemo::testing::TestArg;
using ::testing::HasSubstr;

// 6 -> Dense 8 ReLU ("features") + Dropout -> Dense 3, Adam (state of every
// kind), 3 epochs of 7 batches over 50 samples into a memory of 20 (full
// after the first epoch: replacement runs from then on).
constexpr char kLayers[] = R"pb(
  layer { type: "Dense" units: 8 activation: "ReLU" name: "features" }
  layer { type: "Dropout" rate: 0.25 }
  layer { type: "Dense" units: 3 }
)pb";

// The same with a BatchNorm in the backbone (the features are normalised
// with the batch's statistics in training, the running ones in evaluation)
// and a LayerNorm in the head.
constexpr char kNormLayers[] = R"pb(
  layer { type: "Dense" units: 8 }
  layer { type: "BatchNorm" momentum: 0.3 activation: "ReLU" name: "features" }
  layer { type: "LayerNorm" }
  layer { type: "Dropout" rate: 0.25 }
  layer { type: "Dense" units: 3 }
)pb";

std::string DualPathConfig(const std::string& memory_type, int capacity = 20,
                           const std::string& layers = kLayers) {
  return absl::StrCat(R"pb(
                        model { input_size: 6
                                init { scheme: HE_UNIFORM })pb",
                      layers, R"pb(
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
  std::unique_ptr<Trainer> trainer;
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
  absl::StatusOr<Trainer> trainer = Trainer::Create(run.config->experiment().trainer(),
                                                    run.classifier.get(), run.optimizer.get());
  EXPECT_TRUE(trainer.ok()) << trainer.status();
  if (trainer.ok()) run.trainer = std::make_unique<Trainer>(*std::move(trainer));
  run.training_text = TrainingConfigText(run.config->experiment());
  return run;
}

// Every parameter (the memory's own too) and buffer, the optimizer's state
// and the memory's contents, by name.
std::map<std::string, Tensor> Everything(DualPathRun& run) {
  std::map<std::string, Tensor> all;
  for (const ModelParameter& p : run.classifier->Parameters()) {
    all.emplace(absl::StrCat("param ", p.name), *p.value);
  }
  for (const ModelParameter& b : run.classifier->Buffers()) {
    all.emplace(absl::StrCat("buffer ", b.name), *b.value);
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

  // Runs `layers` whole, and stopped, snapshotted and resumed at several
  // points: every tensor and figure must end alike.
  void ExpectResumesExact(const std::string& layers);

  const Dataset train_ = SmallData(50, 1);
  const Dataset test_ = SmallData(30, 2);
};

TEST_P(DualPathSnapshotTest, ResumedRunsEndBitForBitAsAnUninterruptedOne) {
  ExpectResumesExact(kLayers);
}

// BatchNorm's running statistics move every step (the classifier's
// CommitStep) and come back with the snapshot.
TEST_P(DualPathSnapshotTest, ResumedRunsWithNormalisationsEndBitForBit) {
  ExpectResumesExact(kNormLayers);
  DualPathRun run = MakeRun(DualPathConfig(GetParam(), 20, kNormLayers));
  ASSERT_NE(run.trainer, nullptr);
  TrainingProgress progress;
  StopAt hook(3);
  ASSERT_TRUE(run.trainer->Run(train_, test_, &progress, nullptr, &hook).ok());
  const std::vector<ModelParameter> buffers = run.classifier->Buffers();
  ASSERT_EQ(buffers.size(), 2u);
  EXPECT_EQ(buffers[0].name, "features.running_mean");
  EXPECT_NE(*buffers[0].value, Tensor::Zero(1, 8));
}

void DualPathSnapshotTest::ExpectResumesExact(const std::string& layers) {
  DualPathRun whole = MakeRun(DualPathConfig(GetParam(), 20, layers));
  ASSERT_NE(whole.trainer, nullptr);
  TrainingProgress done;
  ASSERT_TRUE(whole.trainer->Run(train_, test_, &done).ok());
  ASSERT_EQ(done.history.size(), 3u);
  // The memory filled and replaced: the resume has to carry real contents.
  EXPECT_EQ(done.history.back().figures.at(kMemorySize), 20);
  // The history keeps every figure of the dual path, its test set's too.
  EXPECT_EQ(done.history.back().figures.count("test_memory_answered"), 1u);
  EXPECT_EQ(done.history.back().figures.count("train_memory_loss"), 1u);
  const std::map<std::string, Tensor> expected = Everything(whole);

  // Mid-epoch 1, the end of epoch 1 (step 7), mid-epoch 2, and twice in a row.
  for (const std::vector<uint64_t>& stops :
       std::vector<std::vector<uint64_t>>{{3}, {7}, {10}, {4, 16}}) {
    SCOPED_TRACE(absl::StrCat("stops at step ", stops[0], stops.size() > 1 ? " and more" : ""));
    const std::string path = PathFor("snapshot.safetensors");
    TrainingProgress progress;
    for (uint64_t stop : stops) {
      DualPathRun part = MakeRun(DualPathConfig(GetParam(), 20, layers));
      ASSERT_NE(part.trainer, nullptr);
      if (progress.step > 0) {
        absl::StatusOr<RestoredSnapshot> restored =
            RestoreSnapshot(path, part.training_text, *part.classifier, *part.optimizer);
        ASSERT_TRUE(restored.ok()) << restored.status();
        progress = std::move(restored->progress);
      }
      StopAt hook(stop == 7 ? 0 : stop, stop == 7 ? 1 : 0);
      ASSERT_TRUE(part.trainer->Run(train_, test_, &progress, nullptr, &hook).ok());
      ASSERT_EQ(progress.step, stop);
      ASSERT_TRUE(
          WriteSnapshot(path, *part.classifier, *part.optimizer, progress, part.training_text)
              .ok());
    }
    DualPathRun last = MakeRun(DualPathConfig(GetParam(), 20, layers));
    ASSERT_NE(last.trainer, nullptr);
    absl::StatusOr<RestoredSnapshot> restored =
        RestoreSnapshot(path, last.training_text, *last.classifier, *last.optimizer);
    ASSERT_TRUE(restored.ok()) << restored.status();
    progress = std::move(restored->progress);
    ASSERT_TRUE(last.trainer->Run(train_, test_, &progress).ok());
    EXPECT_EQ(progress.epoch, 4);
    ExpectSameBits(Everything(last), expected);
    ExpectSameMetrics(progress.history, done.history);
  }
}

TEST_P(DualPathSnapshotTest, ASnapshotOfAnotherConfigIsRefusedAndChangesNothing) {
  DualPathRun run = MakeRun(DualPathConfig(GetParam()));
  ASSERT_NE(run.trainer, nullptr);
  TrainingProgress progress;
  StopAt hook(5);
  ASSERT_TRUE(run.trainer->Run(train_, test_, &progress, nullptr, &hook).ok());
  const std::string path = PathFor("other.safetensors");
  ASSERT_TRUE(
      WriteSnapshot(path, *run.classifier, *run.optimizer, progress, run.training_text).ok());

  DualPathRun other = MakeRun(DualPathConfig(GetParam(), /*capacity=*/21));
  ASSERT_NE(other.trainer, nullptr);
  const std::map<std::string, Tensor> before = Everything(other);
  absl::StatusOr<RestoredSnapshot> restored =
      RestoreSnapshot(path, other.training_text, *other.classifier, *other.optimizer);
  ASSERT_FALSE(restored.ok());
  EXPECT_THAT(std::string(restored.status().message()),
              HasSubstr("the snapshot has `memory_module.capacity: 20` where this run has "
                        "`memory_module.capacity: 21`"));
  ExpectSameBits(Everything(other), before);
}

// The classifier as a snapshot sees it, but with a memory label no memory of
// three classes takes: what a snapshot of another plugin version might hold.
class WithBadMemoryLabel : public TrainableModel {
 public:
  explicit WithBadMemoryLabel(DualPathClassifier* classifier) : classifier_(classifier) {}
  int input_size() const override { return classifier_->input_size(); }
  int output_size() const override { return classifier_->output_size(); }
  std::vector<ModelParameter> Parameters() override { return classifier_->Parameters(); }
  std::vector<ModelParameter> TrainableParameters() override {
    return classifier_->TrainableParameters();
  }
  absl::StatusOr<StepResult> ComputeGradients(const Batch& batch,
                                              const ForwardContext& context) override {
    return classifier_->ComputeGradients(batch, context);
  }
  absl::StatusOr<Evaluation> Evaluate(const Dataset& data, int batch_size) override {
    return classifier_->Evaluate(data, batch_size);
  }
  std::map<std::string, Tensor> ExportState() override {
    std::map<std::string, Tensor> state = classifier_->ExportState();
    Tensor& labels = state.at("memory.labels");
    labels(0, 0) = 7;
    return state;
  }

 private:
  DualPathClassifier* classifier_;
};

TEST_P(DualPathSnapshotTest, ARestoreTheMemoryRefusesChangesNothingElse) {
  DualPathRun run = MakeRun(DualPathConfig(GetParam()));
  ASSERT_NE(run.trainer, nullptr);
  TrainingProgress progress;
  StopAt hook(9);  // the memory holds a full epoch by then
  ASSERT_TRUE(run.trainer->Run(train_, test_, &progress, nullptr, &hook).ok());
  const std::string path = PathFor("bad_memory.safetensors");
  WithBadMemoryLabel bad(run.classifier.get());
  ASSERT_TRUE(WriteSnapshot(path, bad, *run.optimizer, progress, run.training_text).ok());

  // A fresh run, a step into its training: every parameter, every optimizer
  // tensor and the memory must stay as they are.
  DualPathRun other = MakeRun(DualPathConfig(GetParam()));
  ASSERT_NE(other.trainer, nullptr);
  TrainingProgress other_progress;
  StopAt one(1);
  ASSERT_TRUE(other.trainer->Run(train_, test_, &other_progress, nullptr, &one).ok());
  const std::map<std::string, Tensor> before = Everything(other);
  absl::StatusOr<RestoredSnapshot> restored =
      RestoreSnapshot(path, other.training_text, *other.classifier, *other.optimizer);
  ASSERT_FALSE(restored.ok());
  EXPECT_THAT(std::string(restored.status().message()),
              HasSubstr(path +
                        ": the model refuses the state it holds: the memory's contents "
                        "do not fit " +
                        GetParam()));
  ExpectSameBits(Everything(other), before);

  // The good snapshot of the same run restores.
  ASSERT_TRUE(
      WriteSnapshot(path, *run.classifier, *run.optimizer, progress, run.training_text).ok());
  EXPECT_TRUE(RestoreSnapshot(path, other.training_text, *other.classifier, *other.optimizer).ok());
}

INSTANTIATE_TEST_SUITE_P(BothMemories, DualPathSnapshotTest,
                         ::testing::Values("cached_memory", "trainable_memory"));

}  // namespace
}  // namespace mnemo
