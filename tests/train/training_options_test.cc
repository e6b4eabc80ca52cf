// Learning-rate schedules, AdamW, gradient clipping and label smoothing in
// the training loop: every step takes the schedule's rate (the epochs'
// metrics and Trainer::StepRates say which), the clipping limits the step,
// the smoothed loss is reported beside the plain log_loss; and a run
// snapshotted and resumed with all of them on (one_cycle; plateau) ends bit
// for bit as one that never stopped, rates included.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/loss.h"
#include "core/lr_schedule.h"
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

// The small run's model (a 6-8-3 MLP with dropout) with `model` fields
// added, `optimizer` (a trainer.optimizer's text), `epochs` of 8-sample
// batches.
std::string Config(const std::string& model, const std::string& optimizer, int epochs) {
  return absl::StrCat(
      "model { input_size: 6 init { scheme: HE_UNIFORM }\n"
      "  layer { type: 'Dense' units: 8 activation: 'ReLU' }\n"
      "  layer { type: 'Dropout' rate: 0.25 }\n"
      "  layer { type: 'Dense' units: 3 } ",
      model,
      " }\n"
      "data { validation_fraction: 0.2 }\n"
      "trainer { optimizer { ",
      optimizer, " } batch_size: 8 epochs: ", epochs, " seed: 5 }\n");
}

// one_cycle (a rate per step), AdamW, both clippings, label smoothing.
std::string OneCycleConfig() {
  return Config("label_smoothing: 0.1",
                "type: 'adamw' learning_rate: 0.05 weight_decay: 0.05 clip_value: 0.5 "
                "clip_global_norm: 1 schedule { type: 'one_cycle' pct_start: 0.25 }",
                3);
}

// plateau on the validation accuracy: no epoch after the first improves by
// min_delta, so patience 1 cuts the rate after epochs 3 and 6 (the cooldown
// of one epoch after a cut counts no bad epoch), the second time to the
// floor.
std::string PlateauConfig() {
  return Config("label_smoothing: 0.2",
                "type: 'adamw' learning_rate: 0.02 clip_global_norm: 0.5 "
                "schedule { type: 'plateau' metric: 'accuracy' patience: 1 factor: 0.5 "
                "min_delta: 10 cooldown: 1 min_learning_rate: 0.006 }",
                7);
}

// 50 training samples (7 batches of 8), 30 for validation, 20 for test.
TrainTestData Data() {
  TrainTestData data;
  data.train = SmallData(50, 1);
  data.validation = SmallData(30, 3);
  data.test = SmallData(20, 2);
  return data;
}

void ExpectSameRates(const std::vector<EpochMetrics>& a, const std::vector<EpochMetrics>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t e = 0; e < a.size(); ++e) {
    EXPECT_EQ(a[e].learning_rate, b[e].learning_rate) << "epoch " << e + 1;
  }
}

std::map<std::string, Tensor> OptimizerState(Optimizer& optimizer) {
  std::map<std::string, Tensor> state;
  for (const auto& [key, tensor] : optimizer.State()) state.emplace(key, *tensor);
  return state;
}

// Runs `config` whole, and stopped at `stop_step` (0: at the end of epoch
// `stop_epoch`), snapshotted, restored into a fresh run and finished: the
// two end bit for bit alike, the rates of their epochs too.
void ExpectResumeIsExact(const std::string& config, uint64_t stop_step, int stop_epoch = 0) {
  SCOPED_TRACE(absl::StrCat("stop at step ", stop_step, " epoch ", stop_epoch));
  const TrainTestData data = Data();
  const std::string path = absl::StrCat(TestDir(), "/snapshot.safetensors");

  SmallRun whole = MakeSmallRun(config);
  ASSERT_NE(whole.trainer, nullptr);
  TrainingProgress whole_progress;
  ASSERT_TRUE(whole.trainer->Run(data, &whole_progress).ok());

  SmallRun first = MakeSmallRun(config);
  TrainingProgress progress;
  StopAt stop(stop_step, stop_epoch);
  ASSERT_TRUE(first.trainer->Run(data, &progress, nullptr, &stop).ok());
  ASSERT_LT(progress.step, whole_progress.step);
  const std::string text = TrainingConfigText(first.config->experiment());
  ASSERT_TRUE(WriteSnapshot(path, *first.network, *first.optimizer, progress, text).ok());

  SmallRun second = MakeSmallRun(config);
  absl::StatusOr<RestoredSnapshot> restored =
      RestoreSnapshot(path, text, *second.network, *second.optimizer);
  ASSERT_TRUE(restored.ok()) << restored.status();
  TrainingProgress rest = restored->progress;
  ASSERT_TRUE(second.trainer->Run(data, &rest).ok());
  EXPECT_EQ(rest.step, whole_progress.step);
  ExpectSameParameters(*whole.network, *second.network);
  ExpectSameMetrics(whole_progress.history, rest.history);
  ExpectSameRates(whole_progress.history, rest.history);
  const std::map<std::string, Tensor> want = OptimizerState(*whole.optimizer);
  const std::map<std::string, Tensor> got = OptimizerState(*second.optimizer);
  ASSERT_EQ(want.size(), got.size());
  for (const auto& [key, tensor] : want) EXPECT_TRUE(SameBits(got.at(key), tensor)) << key;
  // Every step's rate, as the tool writes them, the same from either run.
  absl::StatusOr<std::vector<double>> want_rates =
      whole.trainer->StepRates(data.train.size(), whole_progress.history);
  absl::StatusOr<std::vector<double>> got_rates =
      second.trainer->StepRates(data.train.size(), rest.history);
  ASSERT_TRUE(want_rates.ok() && got_rates.ok());
  EXPECT_EQ(*want_rates, *got_rates);
}

TEST(TrainingOptionsTest, OneCycleAdamWClippingAndSmoothingResumeBitExact) {
  // 7 batches an epoch: mid-epoch, the step before an epoch's last, the
  // first of an epoch (in the one-cycle's rise, after its peak), an epoch's
  // end.
  for (uint64_t step : {2, 6, 8, 16}) ExpectResumeIsExact(OneCycleConfig(), step);
  ExpectResumeIsExact(OneCycleConfig(), 0, /*stop_epoch=*/1);
}

TEST(TrainingOptionsTest, PlateauResumesBitExactAcrossItsCuts) {
  // Before the first cut, in its cooldown, after the second.
  for (int epoch : {2, 4, 6}) ExpectResumeIsExact(PlateauConfig(), 0, epoch);
  ExpectResumeIsExact(PlateauConfig(), 26);  // mid-epoch 4
}

TEST(TrainingOptionsTest, EachStepTakesTheSchedulesRate) {
  const TrainTestData data = Data();
  SmallRun run = MakeSmallRun(OneCycleConfig());
  ASSERT_NE(run.trainer, nullptr);
  TrainingProgress progress;
  ASSERT_TRUE(run.trainer->Run(data, &progress).ok());
  absl::StatusOr<LearningRateSchedule> schedule =
      LearningRateSchedule::Create(run.optimizer->config(), 7, 3);
  ASSERT_TRUE(schedule.ok()) << schedule.status();
  absl::StatusOr<std::vector<double>> rates =
      run.trainer->StepRates(data.train.size(), progress.history);
  ASSERT_TRUE(rates.ok()) << rates.status();
  ASSERT_EQ(rates->size(), 21u);
  for (uint64_t step = 0; step < 21; ++step) EXPECT_EQ((*rates)[step], schedule->Rate(step, {}));
  // One-cycle: up from 0.05 / 25 towards 0.05 (at step 0.25 x 21 - 1, between
  // two steps), down to 0.05 / 2.5e5 at the last.
  EXPECT_NEAR(rates->front(), 0.002, 1e-9);
  const double peak = *std::max_element(rates->begin(), rates->end());
  EXPECT_GT(peak, 0.049);
  EXPECT_LT(peak, 0.05);
  EXPECT_NEAR(rates->back(), 2e-7, 1e-12);
  for (int e = 0; e < 3; ++e) {
    EXPECT_EQ(progress.history[e].learning_rate, (*rates)[7 * e + 6]) << "epoch " << e + 1;
  }
  // The optimizer took the last step at the last rate.
  EXPECT_EQ(run.optimizer->learning_rate(), rates->back());
}

TEST(TrainingOptionsTest, PlateauCutsWhereTheValidationFigureStalls) {
  const TrainTestData data = Data();
  SmallRun run = MakeSmallRun(PlateauConfig());
  ASSERT_NE(run.trainer, nullptr);
  TrainingProgress progress;
  ASSERT_TRUE(run.trainer->Run(data, &progress).ok());
  std::vector<double> rates;
  for (const EpochMetrics& m : progress.history) rates.push_back(m.learning_rate);
  // Bad epochs 2 and 3 (> patience 1): cut after 3; epoch 4 in the cooldown;
  // 5 and 6 bad: cut after 6, to the floor 0.006 (not 0.005).
  const double lr = 0.02f;
  EXPECT_THAT(rates,
              ::testing::ElementsAre(lr, lr, lr, lr * 0.5, lr * 0.5, lr * 0.5, double{0.006f}));
}

TEST(TrainingOptionsTest, ClippingLimitsTheStep) {
  const TrainTestData data = Data();
  for (const char* clip : {"clip_value: 0.001", "clip_global_norm: 0.01"}) {
    SCOPED_TRACE(clip);
    // Plain SGD at rate 1: the step is minus the clipped gradient.
    SmallRun run = MakeSmallRun(Config("", absl::StrCat("type: 'sgd' learning_rate: 1 ", clip), 1));
    SmallRun unclipped = MakeSmallRun(Config("", "type: 'sgd' learning_rate: 1", 1));
    ASSERT_NE(run.trainer, nullptr);
    ASSERT_NE(unclipped.trainer, nullptr);
    std::vector<Tensor> before;
    for (const ModelParameter& p : run.network->TrainableParameters()) before.push_back(*p.value);
    for (SmallRun* r : {&run, &unclipped}) {
      TrainingProgress progress;
      StopAt one(1);
      ASSERT_TRUE(r->trainer->Run(data, &progress, nullptr, &one).ok());
    }
    double largest = 0, squared = 0, unclipped_squared = 0;
    const std::vector<ModelParameter> params = run.network->TrainableParameters();
    const std::vector<ModelParameter> other = unclipped.network->TrainableParameters();
    for (size_t i = 0; i < params.size(); ++i) {
      const Tensor step = *params[i].value - before[i];
      largest = std::max<double>(largest, step.cwiseAbs().maxCoeff());
      squared += step.cast<double>().squaredNorm();
      unclipped_squared += (*other[i].value - before[i]).cast<double>().squaredNorm();
    }
    // The unclipped step is far larger, so the limit is what binds.
    ASSERT_GT(std::sqrt(unclipped_squared), 0.1);
    // To the rounding of a parameter near 1 (a float's 1.2e-7).
    if (std::string(clip).find("value") != std::string::npos) {
      EXPECT_NEAR(largest, 0.001, 3e-7);  // some element was clamped, none beyond
    } else {
      EXPECT_NEAR(std::sqrt(squared), 0.01, 5e-6);
    }
  }
}

TEST(TrainingOptionsTest, TheSmoothedLossIsReportedAndLogLossIsThePlainOne) {
  const TrainTestData data = Data();
  SmallRun run = MakeSmallRun(Config("label_smoothing: 0.3", "type: 'sgd' learning_rate: 0.1", 1));
  ASSERT_NE(run.trainer, nullptr);
  TrainingProgress progress;
  ASSERT_TRUE(run.trainer->Run(data, &progress).ok());
  const EpochMetrics& m = progress.history[0];
  // Recomputed from the model's outputs on the validation set.
  absl::StatusOr<const Tensor*> outputs =
      run.network->Forward(data.validation.features, ForwardContext{false, 0, 0});
  ASSERT_TRUE(outputs.ok());
  const Tensor logits = **outputs;
  run.network->strategy().EndPass();
  const double plain =
      SoftmaxCrossEntropy::Compute(logits, data.validation.labels, nullptr, nullptr);
  double label_sum = 0;
  for (int r = 0; r < logits.rows(); ++r) label_sum += logits(r, data.validation.labels[r]);
  const double smoothed =
      plain + 0.3f * (label_sum / logits.rows() - logits.cast<double>().sum() / logits.size());
  EXPECT_NEAR(m.figures.at("val_log_loss"), plain, 1e-5);
  EXPECT_NEAR(m.figures.at("val_loss"), smoothed, 1e-5);
  EXPECT_GT(std::abs(smoothed - plain), 1e-3);
}

TEST(TrainingOptionsTest, RefusesAScheduleThatDoesNotFitTheData) {
  const TrainTestData data = Data();
  SmallRun plateau = MakeSmallRun(PlateauConfig());
  ASSERT_NE(plateau.trainer, nullptr);
  TrainingProgress progress;
  EXPECT_EQ(plateau.trainer->Run(data.train, data.test, &progress).message(),
            "trainer.optimizer.schedule.type plateau needs a validation set: set "
            "data.validation_fraction or data.validation_file");
  // 7 steps an epoch, 2 epochs: a cosine warm-up of 2 epochs leaves no step.
  SmallRun cosine = MakeSmallRun(
      Config("", "type: 'sgd' learning_rate: 0.1 schedule { type: 'cosine' warmup_epochs: 2 }", 2));
  ASSERT_NE(cosine.trainer, nullptr);
  EXPECT_EQ(cosine.trainer->CheckData(data).message(),
            "trainer.optimizer.schedule.warmup_epochs 2 makes 14 warm-up steps, but the run has "
            "14 (2 epochs of 7); cosine needs steps after the warm-up");
}

}  // namespace
}  // namespace mnemo
