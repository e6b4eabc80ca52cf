// Data augmentation in the training loop: the model is trained on each
// sample changed as (trainer.seed, epoch, sample) draws it, and evaluated on
// the validation and test sets unchanged; a run repeats bit for bit, and one
// resumed from a snapshot at any step ends as the run that never stopped.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/augmentation.h"
#include "core/network_model.h"
#include "core/snapshot.h"
#include "core/trainer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_files.h"
#include "tests/train/small_run.h"

namespace mnemo {
namespace {

using ::mnemo::testing::ExpectSameMetrics;
using ::mnemo::testing::ExpectSameParameters;
using ::mnemo::testing::MakeSmallRun;
using ::mnemo::testing::SameBits;
using ::mnemo::testing::SmallConfigText;
using ::mnemo::testing::SmallData;
using ::mnemo::testing::SmallRun;
using ::mnemo::testing::StopAt;
using ::testing::HasSubstr;

absl::Span<const float> Row(const Tensor& t, Eigen::Index r) {
  return absl::MakeConstSpan(t.data() + r * t.cols(), static_cast<size_t>(t.cols()));
}

// The small run's 6 features as a 2 x 3 image, every change on.
config::Augmentation EveryChange() {
  config::Augmentation config;
  config.set_height(2);
  config.set_width(3);
  config.set_channels(1);
  config.set_max_rotation_degrees(30);
  config.set_horizontal_flip(true);
  config.set_max_shift(1);
  config.set_crop_padding(1);
  config.set_fill(0.5f);
  return config;
}

TrainTestData Data(bool augmented) {
  TrainTestData data;
  data.train = SmallData(50, 1);
  data.validation = SmallData(20, 3);
  data.test = SmallData(20, 2);
  if (augmented) data.augmentation = EveryChange();
  return data;
}

constexpr uint64_t kSeed = 5;        // SmallConfigText's trainer.seed
constexpr int kBatchesPerEpoch = 7;  // 50 samples in batches of 8

// A network model that keeps what the loop hands it: every training batch's
// rows and samples, and the features of every set it is evaluated on.
class RecordingModel : public TrainableModel {
 public:
  explicit RecordingModel(Network* network) : inner_(network) {}

  int input_size() const override { return inner_.input_size(); }
  int output_size() const override { return inner_.output_size(); }
  std::vector<ModelParameter> Parameters() override { return inner_.Parameters(); }
  std::vector<ModelParameter> TrainableParameters() override {
    return inner_.TrainableParameters();
  }
  absl::StatusOr<StepResult> ComputeGradients(const Batch& batch,
                                              const ForwardContext& context) override {
    steps_.push_back(
        {batch.features, std::vector<int32_t>(batch.samples.begin(), batch.samples.end())});
    return inner_.ComputeGradients(batch, context);
  }
  absl::StatusOr<Evaluation> Evaluate(const Dataset& data, int batch_size) override {
    evaluated_.push_back(data.features);
    return inner_.Evaluate(data, batch_size);
  }

  struct Step {
    Tensor features;
    std::vector<int32_t> samples;
  };
  const std::vector<Step>& steps() const { return steps_; }
  const std::vector<Tensor>& evaluated() const { return evaluated_; }

 private:
  NetworkModel inner_;
  std::vector<Step> steps_;
  std::vector<Tensor> evaluated_;
};

TEST(AugmentationTrainingTest, TheModelSeesEachSampleChangedAsItsEpochDrawsIt) {
  SmallRun run = MakeSmallRun(SmallConfigText(testing::kMomentum, /*epochs=*/2));
  ASSERT_NE(run.network, nullptr);
  RecordingModel model(run.network.get());
  absl::StatusOr<Trainer> trainer =
      Trainer::Create(run.config->experiment().trainer(), &model, run.optimizer.get());
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  const TrainTestData data = Data(/*augmented=*/true);
  TrainingProgress progress;
  ASSERT_TRUE(trainer->Run(data, &progress).ok());

  absl::StatusOr<ImageAugmenter> augmenter = ImageAugmenter::Create(EveryChange(), 6);
  ASSERT_TRUE(augmenter.ok()) << augmenter.status();
  ASSERT_EQ(model.steps().size(), 2u * kBatchesPerEpoch);
  int changed = 0;
  std::map<int32_t, int> seen;
  for (size_t s = 0; s < model.steps().size(); ++s) {
    const int epoch = static_cast<int>(s) / kBatchesPerEpoch + 1;
    const RecordingModel::Step& step = model.steps()[s];
    ASSERT_EQ(step.features.rows(), static_cast<Eigen::Index>(step.samples.size()));
    for (size_t r = 0; r < step.samples.size(); ++r) {
      const int32_t sample = step.samples[r];
      ++seen[sample];
      Tensor want(1, 6);
      augmenter->Apply(augmenter->Draw(kSeed, epoch, sample),
                       Row(data.train.features, sample).data(), want.data());
      ASSERT_TRUE(SameBits(Row(step.features, static_cast<Eigen::Index>(r)), Row(want, 0)))
          << "step " << s << ", sample " << sample;
      changed += !SameBits(Row(want, 0), Row(data.train.features, sample));
    }
  }
  EXPECT_EQ(seen.size(), 50u);  // every sample, once an epoch
  for (const auto& [sample, count] : seen) EXPECT_EQ(count, 2) << sample;
  EXPECT_GT(changed, 90);  // a rotation by a drawn angle changes nearly every image

  // Evaluations took the sets as they are: validation then test, each epoch.
  ASSERT_EQ(model.evaluated().size(), 4u);
  for (int e = 0; e < 2; ++e) {
    EXPECT_TRUE(SameBits(model.evaluated()[2 * e], data.validation.features));
    EXPECT_TRUE(SameBits(model.evaluated()[2 * e + 1], data.test.features));
  }
}

TEST(AugmentationTrainingTest, ValidationAndTestFiguresAreOfTheUnchangedSets) {
  SmallRun run = MakeSmallRun(SmallConfigText(testing::kAdam));
  ASSERT_NE(run.trainer, nullptr);
  const TrainTestData data = Data(/*augmented=*/true);
  TrainingProgress progress;
  ASSERT_TRUE(run.trainer->Run(data, &progress).ok());
  ASSERT_EQ(progress.history.size(), 3u);
  const EpochMetrics& last = progress.history.back();
  // The last epoch was evaluated with the weights the run ends with.
  absl::StatusOr<Evaluation> validation = Evaluate(*run.network, data.validation, 8);
  absl::StatusOr<Evaluation> test = Evaluate(*run.network, data.test, 8);
  ASSERT_TRUE(validation.ok() && test.ok());
  EXPECT_EQ(last.figures.at("val_loss"), validation->loss);
  EXPECT_EQ(last.figures.at("val_accuracy"), validation->accuracy);
  EXPECT_EQ(last.test_loss, test->loss);
  EXPECT_EQ(last.test_accuracy, test->accuracy);
}

TEST(AugmentationTrainingTest, ARunRepeatsBitForBitAndDiffersFromOneWithout) {
  const std::string config = SmallConfigText(testing::kMomentum);
  SmallRun a = MakeSmallRun(config), b = MakeSmallRun(config), plain = MakeSmallRun(config);
  ASSERT_TRUE(a.trainer && b.trainer && plain.trainer);
  TrainingProgress pa, pb, pp;
  ASSERT_TRUE(a.trainer->Run(Data(true), &pa).ok());
  ASSERT_TRUE(b.trainer->Run(Data(true), &pb).ok());
  ASSERT_TRUE(plain.trainer->Run(Data(false), &pp).ok());
  ExpectSameParameters(*a.network, *b.network);
  ExpectSameMetrics(pa.history, pb.history);
  EXPECT_NE(pa.history.back().train_loss, pp.history.back().train_loss);
  const std::vector<ModelParameter> with = a.network->Parameters();
  const std::vector<ModelParameter> without = plain.network->Parameters();
  ASSERT_EQ(with.size(), without.size());
  for (size_t i = 0; i < with.size(); ++i) {
    EXPECT_FALSE(SameBits(*with[i].value, *without[i].value)) << with[i].name;
  }
}

// Trains to step `stop_step` (0: to the end of epoch `stop_epoch`),
// snapshots, restores into a fresh run and finishes it: it ends as the run
// that never stopped, bit for bit.
void ExpectResumeIsExact(uint64_t stop_step, int stop_epoch = 0) {
  SCOPED_TRACE(absl::StrCat("stop at step ", stop_step, " epoch ", stop_epoch));
  const TrainTestData data = Data(/*augmented=*/true);
  const std::string config = SmallConfigText(testing::kMomentum);
  const std::string path = absl::StrCat(TestDir(), "/snapshot.safetensors");

  SmallRun whole = MakeSmallRun(config);
  ASSERT_NE(whole.trainer, nullptr);
  TrainingProgress whole_progress;
  ASSERT_TRUE(whole.trainer->Run(data, &whole_progress).ok());

  SmallRun first = MakeSmallRun(config);
  ASSERT_NE(first.trainer, nullptr);
  TrainingProgress progress;
  StopAt stop(stop_step, stop_epoch);
  ASSERT_TRUE(first.trainer->Run(data, &progress, nullptr, &stop).ok());
  ASSERT_EQ(progress.step, stop_step > 0 ? stop_step : stop_epoch * kBatchesPerEpoch);
  const std::string text = TrainingConfigText(first.config->experiment());
  ASSERT_TRUE(WriteSnapshot(path, *first.network, *first.optimizer, progress, text).ok());

  SmallRun second = MakeSmallRun(config);
  ASSERT_NE(second.trainer, nullptr);
  absl::StatusOr<RestoredSnapshot> restored =
      RestoreSnapshot(path, text, *second.network, *second.optimizer);
  ASSERT_TRUE(restored.ok()) << restored.status();
  TrainingProgress rest = restored->progress;
  ASSERT_TRUE(second.trainer->Run(data, &rest).ok());
  EXPECT_EQ(rest.step, whole_progress.step);
  ExpectSameParameters(*whole.network, *second.network);
  ExpectSameMetrics(whole_progress.history, rest.history);
}

TEST(AugmentationTrainingTest, ResumedFromAnyStepEndsBitIdentical) {
  // Mid-epoch 1, the step before an epoch's last, the first of epoch 2,
  // mid-epoch 3, and an epoch's end (evaluated).
  for (uint64_t step : {3, 6, 8, 17}) ExpectResumeIsExact(step);
  ExpectResumeIsExact(0, /*stop_epoch=*/1);
}

TEST(AugmentationTrainingTest, AnAugmentationThatDoesNotFitTheFeaturesIsRefused) {
  SmallRun run = MakeSmallRun(SmallConfigText(testing::kMomentum));
  ASSERT_NE(run.trainer, nullptr);
  TrainTestData data = Data(/*augmented=*/true);
  data.augmentation->set_height(3);
  const std::string want = "data.augmentation's images of 3 x 3 x 1";
  EXPECT_THAT(run.trainer->CheckData(data).message(), HasSubstr(want));
  TrainingProgress progress;
  const absl::Status status = run.trainer->Run(data, &progress);
  EXPECT_THAT(status.message(), HasSubstr(want));
  EXPECT_EQ(progress.step, 0u);
}

}  // namespace
}  // namespace mnemo
