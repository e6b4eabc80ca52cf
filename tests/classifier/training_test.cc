// Training the dual path: the combined loss's gradient against finite
// differences, a few epochs reduce the loss on a small problem, the memory's
// own parameters are updated, and the trainer's metrics add up.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/dataset.h"
#include "core/layers/activations.h"
#include "core/nonfinite.h"
#include "core/optimizer.h"
#include "core/trainer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "memory_modules/classifier/dual_path_classifier.h"
#include "memory_modules/classifier/dual_path_evaluation.h"
#include "tests/classifier/exact_memory.h"
#include "tests/classifier/small_models.h"
#include "tests/testing/tensors.h"

namespace mnemo {
namespace {

using ::mnemo::testing::Assemble;
using ::mnemo::testing::ExactMemory;
using ::mnemo::testing::Gradients;
using ::mnemo::testing::MakeDense;
using ::mnemo::testing::MakeNetwork;
using ::mnemo::testing::MemoryPart;
using ::mnemo::testing::SmallClassifier;
using ::mnemo::testing::TestRng;
using ::mnemo::testing::TrainStep;
using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr int kInputs = 6, kFeatures = 5, kClasses = 3;

// Dense(6 -> 5) + Tanh (smooth, for finite differences) as the backbone,
// Dense(5 -> 3) as the head, random parameters.
SmallClassifier MakeRandom(uint32_t seed, std::unique_ptr<ExactMemory> memory,
                           DualPathSettings settings = {}) {
  TestRng rng(seed);
  std::vector<std::unique_ptr<Layer>> backbone;
  backbone.push_back(
      MakeDense("0_dense", rng.Random(kInputs, kFeatures), rng.Random(1, kFeatures, -0.1f, 0.1f)));
  backbone.push_back(std::make_unique<Tanh>(kFeatures));
  std::vector<std::unique_ptr<Layer>> head;
  head.push_back(
      MakeDense("1_dense", rng.Random(kFeatures, kClasses), rng.Random(1, kClasses, -0.1f, 0.1f)));
  return Assemble(MakeNetwork(std::move(backbone)), MakeNetwork(std::move(head)), std::move(memory),
                  settings);
}

// Three classes around three fixed centres; `seed` draws the samples.
Dataset Blobs(int n, uint32_t seed) {
  const Tensor centres = TestRng(100).Random(kClasses, kInputs, -2, 2);
  TestRng rng(seed);
  Dataset data;
  data.num_classes = kClasses;
  data.features.resize(n, kInputs);
  for (int i = 0; i < n; ++i) {
    const int label = i % kClasses;
    data.labels.push_back(label);
    data.features.row(i) = centres.row(label) + rng.Random(1, kInputs, -0.7f, 0.7f);
  }
  return data;
}

std::unique_ptr<Optimizer> Sgd(float learning_rate) {
  config::Optimizer config;
  config.set_type("sgd");
  config.set_learning_rate(learning_rate);
  absl::StatusOr<std::unique_ptr<Optimizer>> optimizer = CreateOptimizer(config);
  EXPECT_TRUE(optimizer.ok());
  return *std::move(optimizer);
}

// dLoss/dParameter of CE + weight x memory loss against central differences:
// every entry of `value` (a parameter) is nudged by h both ways.
//
// Tolerance, derived as tests/numerics/layer_gradient_test.cc derives its
// own. The loss (about 1 to 2 here) is a float computed through a few hundred
// operations: its rounding is at most ~1e-6 of it, so two losses apart by 2h
// (h = 1e-2) give the difference quotient an error below 2e-6 x 2 / 0.02 =
// 2e-4. The truncation error h^2/6 |d3L/dp3| stays below 2e-4 as well for
// this smooth network (Tanh backbone; cosines divided by a temperature of
// 0.5: third derivatives of a few units). 1e-3 absolute plus 1e-3 relative
// is twice their sum and far below a real mistake (a missing factor of the
// memory weight is 0.4, a dropped term or a transposed matrix O(1)).
void ExpectGradientMatchesFiniteDifferences(DualPathClassifier& classifier, const Tensor& x,
                                            const std::vector<int32_t>& labels, Tensor* value,
                                            const Tensor* gradient, const char* what) {
  const ForwardContext context{true, 0, 0};
  ASSERT_TRUE(Gradients(classifier, x, labels, context).ok());
  const Tensor analytic = *gradient;  // ComputeGradients below overwrites it
  constexpr float kStep = 1e-2f;
  for (Eigen::Index k = 0; k < value->size(); ++k) {
    const float original = value->data()[k];
    value->data()[k] = original + kStep;
    const double up_at = value->data()[k];
    const double up = Gradients(classifier, x, labels, context)->loss;
    value->data()[k] = original - kStep;
    const double down_at = value->data()[k];
    const double down = Gradients(classifier, x, labels, context)->loss;
    value->data()[k] = original;
    // The step actually made in float, not h.
    const double numeric = (up - down) / (up_at - down_at);
    EXPECT_NEAR(analytic.data()[k], numeric, 1e-3 + 1e-3 * std::abs(numeric))
        << what << ", element " << k;
  }
}

TEST(TrainingTest, CombinedLossGradientMatchesFiniteDifferences) {
  // The memory is fixed during the check (nothing is stored), with items of
  // two of the three classes, so some samples have no positive.
  auto memory = std::make_unique<ExactMemory>(kFeatures, 16, /*temperature=*/0.5f);
  TestRng rng(7);
  ASSERT_TRUE(memory->Store(rng.Random(6, kFeatures), {0, 1, 0, 1, 1, 0}).ok());
  DualPathSettings settings;
  settings.memory_loss_weight = 0.4f;
  SmallClassifier small = MakeRandom(3, std::move(memory), settings);
  const Tensor x = rng.Random(4, kInputs);
  const std::vector<int32_t> labels = {0, 1, 2, 1};
  absl::StatusOr<StepResult> losses = Gradients(*small.classifier, x, labels, {true, 0, 0});
  ASSERT_TRUE(losses.ok()) << losses.status();
  ASSERT_GT(MemoryPart(*losses), 0.0f);  // the memory term is really in the check

  for (const char* which : {"backbone", "head"}) {
    Network& network =
        std::string(which) == "backbone" ? small.classifier->backbone() : small.classifier->head();
    for (const Parameter& p : network.layer(0).parameters()) {
      SCOPED_TRACE(std::string(which) + " " + p.name);
      ExpectGradientMatchesFiniteDifferences(*small.classifier, x, labels, p.value, p.gradient,
                                             which);
    }
  }
}

TEST(TrainingTest, MemoryParametersGetTheirGradientAndAreStepped) {
  auto memory = std::make_unique<ExactMemory>(kFeatures, 4, 0.5f, /*trainable_keys=*/true);
  TestRng rng(11);
  ASSERT_TRUE(memory->Store(rng.Random(4, kFeatures), {0, 1, 2, 0}).ok());
  SmallClassifier small = MakeRandom(5, std::move(memory));
  const Tensor x = rng.Random(3, kInputs);
  const std::vector<int32_t> labels = {0, 1, 2};
  std::vector<Parameter> keys = small.memory->parameters();
  ASSERT_EQ(keys.size(), 1u);
  ExpectGradientMatchesFiniteDifferences(*small.classifier, x, labels, keys[0].value,
                                         keys[0].gradient, "memory keys");

  // A step moves the keys by -lr x gradient; Store then overwrites the
  // oldest slots, so the capacity is the 4 slots and the batch is 3: slot 3
  // keeps its stepped key.
  ASSERT_TRUE(Gradients(*small.classifier, x, labels, {true, 0, 0}).ok());
  const Tensor expected_last = small.memory->keys().row(3) - 0.5f * keys[0].gradient->row(3);
  std::unique_ptr<Optimizer> sgd = Sgd(0.5f);
  ASSERT_TRUE(TrainStep(*small.classifier, x, labels, {true, 0, 0}, *sgd).ok());
  EXPECT_LT((small.memory->keys().row(3) - expected_last).cwiseAbs().maxCoeff(), 1e-6f);
  EXPECT_GT(keys[0].gradient->row(3).cwiseAbs().maxCoeff(), 0.0f);
}

TEST(TrainingTest, EpochsReduceTheLossAndTheMetricsAddUp) {
  const Dataset train = Blobs(300, 1);
  const Dataset test = Blobs(90, 2);
  SmallClassifier small = MakeRandom(9, std::make_unique<ExactMemory>(kFeatures, 100, 0.2f));
  std::unique_ptr<Optimizer> sgd = Sgd(0.1f);
  config::Trainer config;
  config.set_batch_size(16);
  config.set_epochs(4);
  config.set_seed(3);
  absl::StatusOr<Trainer> trainer = Trainer::Create(config, small.classifier.get(), sgd.get());
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  absl::StatusOr<std::vector<EpochMetrics>> fitted = trainer->Fit(train, test);
  ASSERT_TRUE(fitted.ok()) << fitted.status();
  const std::vector<DualPathEpochMetrics> history = DualPathMetricsOf(*fitted);
  ASSERT_EQ(history.size(), 4u);
  EXPECT_LT(history.back().train_loss, history.front().train_loss);
  EXPECT_GT(history.back().test.network_accuracy, 0.8);
  EXPECT_EQ(trainer->steps(), 4u * 19u);  // ceil(300 / 16) batches an epoch

  for (const DualPathEpochMetrics& m : history) {
    SCOPED_TRACE(m.epoch);
    EXPECT_EQ(m.memory_size, 100);  // 300 samples seen: full
    EXPECT_EQ(m.memory_capacity, 100);
    EXPECT_NEAR(m.train_loss, m.train_classification_loss + 0.4 * m.train_memory_loss, 1e-5);
    const DualPathEvaluation& t = m.test;
    EXPECT_EQ(t.samples, 90);
    EXPECT_NEAR(t.memory_usage, t.memory_answered / 90.0, 1e-12);
    // The dual path's accuracy is the two paths' weighted by their shares.
    const double memory_part =
        t.memory_answered > 0 ? t.memory_path_accuracy * t.memory_answered : 0;
    const double network_part =
        t.memory_answered < 90 ? t.network_path_accuracy * (90 - t.memory_answered) : 0;
    EXPECT_NEAR(t.accuracy, (memory_part + network_part) / 90, 1e-9);
  }
}

TEST(TrainingTest, TheSameSeedGivesTheSameRun) {
  const Dataset train = Blobs(60, 1);
  const Dataset test = Blobs(30, 2);
  config::Trainer config;
  config.set_batch_size(8);
  config.set_epochs(2);
  config.set_seed(5);
  std::vector<double> losses;
  for (int run = 0; run < 2; ++run) {
    SmallClassifier small = MakeRandom(9, std::make_unique<ExactMemory>(kFeatures, 20));
    std::unique_ptr<Optimizer> sgd = Sgd(0.1f);
    auto trainer = Trainer::Create(config, small.classifier.get(), sgd.get());
    ASSERT_TRUE(trainer.ok());
    auto history = trainer->Fit(train, test);
    ASSERT_TRUE(history.ok()) << history.status();
    losses.push_back(history->back().train_loss);
  }
  EXPECT_EQ(losses[0], losses[1]);
}

TEST(TrainingTest, RefusesDataOfTheWrongWidth) {
  SmallClassifier small = MakeRandom(9, std::make_unique<ExactMemory>(kFeatures, 20));
  std::unique_ptr<Optimizer> sgd = Sgd(0.1f);
  config::Trainer config;
  config.set_batch_size(8);
  config.set_epochs(1);
  auto trainer = Trainer::Create(config, small.classifier.get(), sgd.get());
  ASSERT_TRUE(trainer.ok());
  Dataset wide;
  wide.num_classes = 3;
  wide.features = Tensor::Zero(2, 7);
  wide.labels = {0, 1};
  EXPECT_EQ(trainer->TrainEpoch(wide, 1).status().message(),
            "the training set has 7 features per sample but the model's input_size is 6");
}

// Blobs with sample 17's feature 2 NaN, and the trainer of a small classifier.
struct PoisonedRun {
  Dataset train = Blobs(30, 1);
  Dataset test = Blobs(12, 2);
  SmallClassifier small = MakeRandom(9, std::make_unique<ExactMemory>(kFeatures, 100));
  std::unique_ptr<Optimizer> sgd = Sgd(0.1f);
  config::Trainer config;

  explicit PoisonedRun(config::Trainer::NonFinite nonfinite) {
    train.features(17, 2) = std::numeric_limits<float>::quiet_NaN();
    config.set_batch_size(8);
    config.set_epochs(1);
    config.set_seed(3);
    config.set_nonfinite(nonfinite);
  }
};

// Collects the steps skipped.
class SkipCounter : public TrainingObserver {
 public:
  void OnStepSkipped(const std::string& why) override { reasons.push_back(why); }
  std::vector<std::string> reasons;
};

TEST(TrainingTest, ANonFiniteLossStopsTheDualPathBeforeAnythingTakesIt) {
  PoisonedRun run(config::Trainer::STOP);
  absl::StatusOr<Trainer> trainer =
      Trainer::Create(run.config, run.small.classifier.get(), run.sgd.get());
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  absl::StatusOr<std::vector<EpochMetrics>> history = trainer->Fit(run.train, run.test);
  ASSERT_FALSE(history.ok());
  EXPECT_EQ(history.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(history.status().message()),
              AllOf(HasSubstr("the loss is nan; training sample 17 has feature 2 = nan"),
                    HasSubstr("training stopped before the weights took it")));
  // Neither the parameters nor the memory took the poisoned batch.
  EXPECT_FALSE(FindNonFiniteValue(run.small.classifier->Parameters()).has_value());
  for (const auto& [name, tensor] : run.small.classifier->ExportState()) {
    EXPECT_TRUE(AllFinite(tensor)) << name;
  }
}

TEST(TrainingTest, SkipStepSkipsTheDualPathsStepAndItsStore) {
  PoisonedRun run(config::Trainer::SKIP_STEP);
  absl::StatusOr<Trainer> trainer =
      Trainer::Create(run.config, run.small.classifier.get(), run.sgd.get());
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  SkipCounter counter;
  absl::StatusOr<std::vector<EpochMetrics>> history = trainer->Fit(run.train, run.test, &counter);
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(counter.reasons.size(), 1u);
  EXPECT_THAT(counter.reasons[0], HasSubstr("training sample 17 has feature 2 = nan"));
  EXPECT_EQ(history->at(0).skipped_steps, 1);
  EXPECT_TRUE(std::isfinite(history->at(0).train_loss));
  EXPECT_FALSE(FindNonFiniteValue(run.small.classifier->Parameters()).has_value());
  // Every batch but the skipped one was stored.
  std::vector<int32_t> order;
  EpochOrder(run.config, 1, run.train.size(), &order);
  const int position = static_cast<int>(std::find(order.begin(), order.end(), 17) - order.begin());
  const int skipped_rows = std::min(8, run.train.size() - position / 8 * 8);
  EXPECT_EQ(run.small.memory->size(), run.train.size() - skipped_rows);
}

}  // namespace
}  // namespace mnemo
