// The training loop on tasks beside softmax classification: regression with
// mean squared error and Huber's loss, a binary classifier with one sigmoid
// output; and early stopping on a validation set, whose best epoch's model
// is the one kept, also across a snapshot and a resume.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/snapshot.h"
#include "core/trainer.h"
#include "tests/testing/tensors.h"
#include "tests/testing/test_files.h"
#include "tests/train/small_run.h"

namespace mnemo {
namespace {

using testing::ExpectSameMetrics;
using testing::ExpectSameParameters;
using testing::MakeSmallRun;
using testing::SameBits;
using testing::SmallData;
using testing::SmallRun;
using testing::StopAt;

// A config of `layers` (text) over 6 features, with `extra` model and
// trainer fields.
std::string Config(const std::string& model, const std::string& trainer, int epochs) {
  return absl::StrCat("model { input_size: 6 init { scheme: XAVIER_UNIFORM } ", model,
                      " }\n data { validation_fraction: 0.2 }\n",
                      "trainer { optimizer { type: 'adam' learning_rate: 0.01 } batch_size: 8 ",
                      "epochs: ", epochs, " seed: 3 ", trainer, " }");
}

// SmallData's features with two targets that are linear in them (and on a
// scale of tens, as raw regression targets often are), offset by 100.
Dataset LinearTargets(int samples, uint32_t seed) {
  Dataset data = SmallData(samples, seed);
  data.targets.resize(samples, 2);
  for (int r = 0; r < samples; ++r) {
    const auto x = data.features.row(r);
    data.targets(r, 0) = 100 + 20 * x(0) - 10 * x(1) + 5 * x(4);
    data.targets(r, 1) = -30 * x(2) + 7 * x(5);
  }
  data.labels.clear();
  data.num_classes = 0;
  return data;
}

TEST(RegressionTest, MeanSquaredErrorAndHuberFitLinearTargets) {
  for (const char* loss : {"MEAN_SQUARED_ERROR", "HUBER huber_delta: 5"}) {
    SCOPED_TRACE(loss);
    TrainTestData data;
    data.train = LinearTargets(400, 1);
    data.test = LinearTargets(100, 2);
    SmallRun run = MakeSmallRun(Config(
        absl::StrCat(
            "layer { type: 'Standardize' } layer { type: 'Dense' units: 16 activation: 'ReLU' } "
            "layer { type: 'Dense' units: 2 } loss: ",
            loss),
        "", 60));
    ASSERT_NE(run.trainer, nullptr);
    TrainingProgress progress;
    ASSERT_TRUE(run.trainer->Run(data, &progress).ok());
    const EpochMetrics& last = progress.history.back();
    EXPECT_GT(last.figures.at("test_r2"), 0.95);
    EXPECT_LT(last.figures.at("test_rmse"), 2.0);
    EXPECT_EQ(last.test_accuracy, 0.0);
    // The figures are those of the model as it stands: recomputed here, in
    // the trainer's batches.
    absl::StatusOr<Evaluation> again = Evaluate(*run.network, data.test, 8);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->figures.at("r2"), last.figures.at("test_r2"));
    EXPECT_EQ(again->figures.at("mae"), last.figures.at("test_mae"));
  }
}

TEST(RegressionTest, ClassLabelsForARegressionLossAreRefused) {
  SmallRun run =
      MakeSmallRun(Config("layer { type: 'Dense' units: 3 } loss: MEAN_SQUARED_ERROR", "", 1));
  ASSERT_NE(run.trainer, nullptr);
  TrainingProgress progress;
  EXPECT_EQ(run.trainer->Run(SmallData(), SmallData(), &progress).message(),
            "the training set has class labels but the model's loss is the regression loss "
            "MEAN_SQUARED_ERROR");
}

TEST(SigmoidTest, OneLogitLearnsATwoClassProblem) {
  auto binary = [](int samples, uint32_t seed) {
    Dataset data = SmallData(samples, seed);
    for (int32_t& label : data.labels) label = label == 0 ? 1 : 0;
    data.num_classes = 2;
    return data;
  };
  TrainTestData data;
  data.train = binary(400, 1);
  data.test = binary(200, 2);
  SmallRun run = MakeSmallRun(Config(
      "layer { type: 'Dense' units: 16 activation: 'ReLU' } layer { type: 'Dense' units: 1 } "
      "loss: SIGMOID_CROSS_ENTROPY",
      "", 40));
  ASSERT_NE(run.trainer, nullptr);
  TrainingProgress progress;
  ASSERT_TRUE(run.trainer->Run(data, &progress).ok());
  EXPECT_GT(progress.history.back().test_accuracy, 0.9);
  EXPECT_GT(progress.history.back().figures.at("test_macro_f1"), 0.85);
}

// Early stopping with min_delta so large that no epoch after the first
// counts as better: the run stops after 1 + patience epochs and keeps the
// first epoch's model.
constexpr char kEarlyStop[] = "early_stopping { metric: 'accuracy' patience: 2 min_delta: 10 }";

TrainTestData Classification() {
  TrainTestData data;
  data.train = SmallData(80, 1);
  data.validation = SmallData(30, 3);
  data.test = SmallData(30, 2);
  return data;
}

std::string EarlyStopConfig(
    const std::string& layers =
        "layer { type: 'Dense' units: 8 activation: 'ReLU' } layer { type: 'Dense' units: 3 }") {
  return Config(layers, kEarlyStop, 10);
}

// Also with BatchNorm: the best epoch's running statistics come back with
// its weights (ExpectSameParameters compares the buffers too).
class EarlyStoppingModelTest : public ::testing::TestWithParam<const char*> {};

TEST_P(EarlyStoppingModelTest, StopsAfterPatienceAndKeepsTheBestEpochsModel) {
  const TrainTestData data = Classification();
  SmallRun run = MakeSmallRun(EarlyStopConfig(GetParam()));
  ASSERT_NE(run.trainer, nullptr);
  // The model after epoch 1, to compare with what the run keeps.
  SmallRun one = MakeSmallRun(EarlyStopConfig(GetParam()));
  TrainingProgress first;
  StopAt after_one(0, 1);
  ASSERT_TRUE(one.trainer->Run(data, &first, nullptr, &after_one).ok());

  TrainingProgress progress;
  ASSERT_TRUE(run.trainer->Run(data, &progress).ok());
  EXPECT_TRUE(progress.stopped_early);
  EXPECT_EQ(progress.history.size(), 3u);  // epoch 1, then 2 without improvement
  EXPECT_EQ(progress.best_epoch, 1);
  EXPECT_EQ(progress.best_value, progress.history[0].figures.at("val_accuracy"));
  ExpectSameParameters(*run.network, *one.network);
  // Its validation accuracy is epoch 1's, recomputed.
  absl::StatusOr<Evaluation> kept = Evaluate(*run.network, data.validation, 8);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->accuracy, progress.history[0].figures.at("val_accuracy"));
  EXPECT_EQ(kept->loss, progress.history[0].figures.at("val_loss"));
}

INSTANTIATE_TEST_SUITE_P(Models, EarlyStoppingModelTest,
                         ::testing::Values("layer { type: 'Dense' units: 8 activation: 'ReLU' } "
                                           "layer { type: 'Dense' units: 3 }",
                                           testing::kNormLayers),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return info.index == 0 ? std::string("Mlp") : std::string("Norms");
                         });

TEST(EarlyStoppingTest, WithoutAValidationSetItIsRefused) {
  SmallRun run = MakeSmallRun(EarlyStopConfig());
  ASSERT_NE(run.trainer, nullptr);
  TrainingProgress progress;
  EXPECT_EQ(run.trainer->Run(SmallData(), SmallData(), &progress).message(),
            "trainer.early_stopping needs a validation set: set data.validation_fraction or "
            "data.validation_file");
}

TEST(EarlyStoppingTest, AResumedRunKeepsTheSameBestEpochBitForBit) {
  const TrainTestData data = Classification();
  const std::string config =
      Config("layer { type: 'Dense' units: 8 activation: 'ReLU' } layer { type: 'Dense' units: 3 }",
             "early_stopping { metric: 'loss' patience: 3 }", 12);
  SmallRun whole = MakeSmallRun(config);
  ASSERT_NE(whole.trainer, nullptr);
  TrainingProgress whole_progress;
  ASSERT_TRUE(whole.trainer->Run(data, &whole_progress).ok());
  ASSERT_GT(whole_progress.best_epoch, 1);

  // Stopped after epoch 2 (one past the first best) and after a step in
  // epoch 3, snapshotted, restored into a fresh run and finished.
  for (const auto& [step, epoch] : {std::pair<uint64_t, int>{0, 2}, {13, 0}}) {
    SCOPED_TRACE(absl::StrCat("step ", step, " epoch ", epoch));
    const std::string path = absl::StrCat(TestDir(), "/snapshot.safetensors");
    SmallRun first = MakeSmallRun(config);
    TrainingProgress progress;
    StopAt stop(step, epoch);
    ASSERT_TRUE(first.trainer->Run(data, &progress, nullptr, &stop).ok());
    ASSERT_GT(progress.best_epoch, 0);
    const std::string text = TrainingConfigText(first.config->experiment());
    ASSERT_TRUE(WriteSnapshot(path, *first.network, *first.optimizer, progress, text).ok());

    SmallRun second = MakeSmallRun(config);
    absl::StatusOr<RestoredSnapshot> restored =
        RestoreSnapshot(path, text, *second.network, *second.optimizer);
    ASSERT_TRUE(restored.ok()) << restored.status();
    EXPECT_EQ(restored->progress.best_epoch, progress.best_epoch);
    EXPECT_EQ(restored->progress.best_value, progress.best_value);
    ASSERT_EQ(restored->progress.best_model.size(), progress.best_model.size());
    for (const auto& [name, tensor] : progress.best_model) {
      EXPECT_TRUE(SameBits(restored->progress.best_model.at(name), tensor)) << name;
    }
    TrainingProgress resumed = restored->progress;
    ASSERT_TRUE(second.trainer->Run(data, &resumed).ok());
    EXPECT_EQ(resumed.best_epoch, whole_progress.best_epoch);
    EXPECT_EQ(resumed.stopped_early, whole_progress.stopped_early);
    ExpectSameMetrics(resumed.history, whole_progress.history);
    ExpectSameParameters(*second.network, *whole.network);
  }
}

}  // namespace
}  // namespace mnemo
