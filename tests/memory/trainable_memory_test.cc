// The trainable memory: its least-certain replacement, retrieval and the
// loss (contrastive + read-out) against brute force and the double-precision
// core functions, its parameters under an optimizer step, and its state.
#include "memory_modules/trainable_memory/trainable_memory.h"

#include <gtest/gtest.h>

#include <cmath>
#include <initializer_list>
#include <vector>

#include "core/avx512_warning_workaround.h"  // first: see there
#include "memory_modules/common/contrastive_loss.h"
#include "memory_modules/common/readout_loss.h"
#include "tests/memory/reference.h"
#include "tests/testing/tensors.h"

namespace mnemo::memory_modules {
namespace {

using ::mnemo::memory::testing::BruteCosines;
using ::mnemo::memory::testing::BruteVote;
using ::mnemo::memory::testing::MatrixD;
using ::mnemo::testing::TestRng;

Tensor AtAngles(std::initializer_list<double> degrees) {
  Tensor rows(static_cast<int>(degrees.size()), 2);
  int r = 0;
  for (double d : degrees) {
    rows(r, 0) = static_cast<float>(std::cos(d * M_PI / 180.0));
    rows(r, 1) = static_cast<float>(std::sin(d * M_PI / 180.0));
    ++r;
  }
  return rows;
}

TrainableMemory::Settings SmallSettings(int capacity, int dim = 2, int classes = 4) {
  TrainableMemory::Settings settings;
  settings.feature_dim = dim;
  settings.num_classes = classes;
  settings.capacity = capacity;
  settings.similarity_threshold = 0.9f;
  settings.temperature = 0.1f;
  settings.top_k = 1;
  settings.value_scale = 5.0f;
  return settings;
}

Tensor& Keys(TrainableMemory& memory) { return *memory.parameters()[0].value; }
Tensor& Values(TrainableMemory& memory) { return *memory.parameters()[1].value; }
Tensor& KeysGradient(TrainableMemory& memory) { return *memory.parameters()[0].gradient; }
Tensor& ValuesGradient(TrainableMemory& memory) { return *memory.parameters()[1].gradient; }

int SlotAt(TrainableMemory& memory, double degrees) {
  const Tensor target = AtAngles({degrees});
  for (int slot = 0; slot < memory.size(); ++slot) {
    if ((Keys(memory).row(slot) - target.row(0)).norm() < 1e-5f) return slot;
  }
  return -1;
}

TEST(TrainableMemoryTest, ParametersAreKeysAndValues) {
  TrainableMemory memory(SmallSettings(5, 3, 4));
  const std::vector<Parameter> parameters = memory.parameters();
  ASSERT_EQ(parameters.size(), 2u);
  EXPECT_EQ(parameters[0].name, "keys");
  EXPECT_EQ(parameters[0].value->rows(), 5);
  EXPECT_EQ(parameters[0].value->cols(), 3);
  EXPECT_EQ(parameters[1].name, "values");
  EXPECT_EQ(parameters[1].value->rows(), 5);
  EXPECT_EQ(parameters[1].value->cols(), 4);
}

TEST(TrainableMemoryStoreTest, FillsUnusedSlotsWithUnitKeysAndScaledOneHotValues) {
  TrainableMemory memory(SmallSettings(4));
  ASSERT_TRUE(memory.Store(3.0f * AtAngles({10, 50, 10}), {1, 2, 1}).ok());
  EXPECT_EQ(memory.size(), 3);
  EXPECT_NEAR(Keys(memory).row(0).norm(), 1.0f, 1e-6f);
  EXPECT_EQ(memory.stored_labels()[1], 2);
  Tensor expected = Tensor::Zero(1, 4);
  expected(0, 2) = 5.0f;
  EXPECT_EQ(Values(memory).row(1), expected);
  EXPECT_EQ(Keys(memory).row(3).cwiseAbs().maxCoeff(), 0.0f);
  EXPECT_EQ(Values(memory).row(3).cwiseAbs().maxCoeff(), 0.0f);
  // max softmax of [0, 5, 0, 0] = e^5 / (e^5 + 3)
  EXPECT_NEAR(memory.Certainties()[0], std::exp(5.0) / (std::exp(5.0) + 3), 1e-6);
}

TEST(TrainableMemoryStoreTest, NovelExamplesReplaceTheLeastCertainSlots) {
  TrainableMemory memory(SmallSettings(3));
  ASSERT_TRUE(memory.Store(AtAngles({0, 60, 120}), {0, 1, 2}).ok());
  // Training has made slot 1 the least certain, slot 0 the next.
  Values(memory).row(0) << 2, 0, 0, 0;
  Values(memory).row(1) << 0.5f, 0, 0, 0;
  KeysGradient(memory).setOnes();
  ValuesGradient(memory).setOnes();
  // 200 deg (best cosine 0.17) is novel: slot 1. Then 300 deg: against
  // 0 (0.5), 200 (-0.17), 120 (-1): novel; the least certain is now slot 0.
  ASSERT_TRUE(memory.Store(AtAngles({200, 300}), {3, 3}).ok());
  EXPECT_EQ(SlotAt(memory, 200), 1);
  EXPECT_EQ(SlotAt(memory, 300), 0);
  EXPECT_EQ(SlotAt(memory, 120), 2);
  EXPECT_EQ(memory.stored_labels()[1], 3);
  EXPECT_EQ(Values(memory)(1, 3), 5.0f);
  // A written slot's gradient was the old item's: zeroed. Others kept.
  EXPECT_EQ(KeysGradient(memory).row(1).cwiseAbs().maxCoeff(), 0.0f);
  EXPECT_EQ(ValuesGradient(memory).row(0).cwiseAbs().maxCoeff(), 0.0f);
  EXPECT_EQ(ValuesGradient(memory)(2, 0), 1.0f);
}

TEST(TrainableMemoryStoreTest, NotNovelAndNearCopiesInOneBatchAreNotStored) {
  TrainableMemory memory(SmallSettings(3));
  ASSERT_TRUE(memory.Store(AtAngles({0, 60, 120}), {0, 1, 2}).ok());
  const Tensor before = Keys(memory);
  ASSERT_TRUE(memory.Store(AtAngles({65}), {3}).ok());  // cosine 0.996 with 60
  EXPECT_EQ(Keys(memory), before);
  // The second is a near copy of the first, stored just before it.
  ASSERT_TRUE(memory.Store(AtAngles({240, 241}), {3, 3}).ok());
  EXPECT_EQ(SlotAt(memory, 240), 0);  // all equally certain: the first slot
  EXPECT_EQ(SlotAt(memory, 241), -1);
  EXPECT_EQ(SlotAt(memory, 60), 1);
}

TEST(TrainableMemoryWriteTest, KeepsANonNovelExampleInAFreeSlot) {
  TrainableMemory memory(SmallSettings(4));
  ASSERT_TRUE(memory.Store(AtAngles({0, 60, 120}), {0, 1, 2}).ok());
  // 65 deg: cosine 0.996 with 60, not novel; Write keeps it.
  ASSERT_TRUE(memory.Write(2.0f * AtAngles({65}), {3}).ok());
  EXPECT_EQ(memory.size(), 4);
  EXPECT_EQ(SlotAt(memory, 65), 3);
  EXPECT_EQ(memory.stored_labels()[3], 3);
  EXPECT_EQ(Values(memory)(3, 3), 5.0f);
}

TEST(TrainableMemoryWriteTest, FullReplacesTheLeastCertainSlotNotWrittenByThisCall) {
  TrainableMemory memory(SmallSettings(3));
  ASSERT_TRUE(memory.Store(AtAngles({0, 60, 120}), {0, 1, 2}).ok());
  // Certainties: slot 1 0.35 (1.65 / 4.65); slots 0 and 2 0.99986, above a
  // written slot's 0.98 (e^5 / (e^5 + 3)).
  Values(memory).row(0) << 10, 0, 0, 0;
  Values(memory).row(1) << 0.5f, 0, 0, 0;
  Values(memory).row(2) << 0, 0, 10, 0;
  KeysGradient(memory).setOnes();
  // Neither example is novel (65: 0.996 with 60; 70: 0.996 with 65). 65
  // takes slot 1; the least certain is then slot 1 again, this call's, so
  // 70 takes the first of the others, slot 0.
  ASSERT_TRUE(memory.Write(AtAngles({65, 70}), {3, 3}).ok());
  EXPECT_EQ(SlotAt(memory, 65), 1);
  EXPECT_EQ(SlotAt(memory, 70), 0);
  EXPECT_EQ(SlotAt(memory, 120), 2);
  EXPECT_EQ(memory.stored_labels()[0], 3);
  EXPECT_EQ(memory.stored_labels()[1], 3);
  EXPECT_EQ(KeysGradient(memory).row(0).cwiseAbs().maxCoeff(), 0.0f);
  EXPECT_EQ(KeysGradient(memory)(2, 0), 1.0f);
  absl::StatusOr<Retrieval> answer = memory.Retrieve(AtAngles({68}));
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->label[0], 3);
}

TEST(TrainableMemoryWriteTest, RefusesZeroRowsTooManyRowsAndBadLabelsChangingNothing) {
  TrainableMemory memory(SmallSettings(3));
  ASSERT_TRUE(memory.Store(AtAngles({0, 60}), {0, 1}).ok());
  const Tensor keys = Keys(memory);
  Tensor features = AtAngles({10, 20});
  features.row(0).setZero();
  absl::Status zero = memory.Write(features, {0, 1});
  EXPECT_NE(zero.message().find("row 0 is a zero vector"), absl::string_view::npos) << zero;
  EXPECT_FALSE(memory.Write(AtAngles({1, 2, 3, 4}), {0, 0, 0, 0}).ok());
  EXPECT_FALSE(memory.Write(AtAngles({10}), {4}).ok());
  EXPECT_EQ(memory.size(), 2);
  EXPECT_EQ(Keys(memory), keys);
}

class TrainableMemoryRetrieveTest : public ::testing::TestWithParam<int> {};

TEST_P(TrainableMemoryRetrieveTest, MatchesBruteForce) {
  const int k = GetParam();
  TestRng rng(50);
  TrainableMemory::Settings settings = SmallSettings(40, 12, 5);
  settings.top_k = k;
  TrainableMemory memory(settings);
  const Tensor keys = rng.Random(35, 12);
  std::vector<int> labels(35);
  for (int m = 0; m < 35; ++m) labels[m] = m % 5;
  ASSERT_TRUE(memory.Store(keys, labels).ok());
  // Trained values: each slot's class is what its values say now.
  Values(memory).topRows(35) = 3.0f * rng.Random(35, 5);
  std::vector<int> slot_class(35);
  std::vector<double> certainty(35);
  for (int m = 0; m < 35; ++m) {
    Eigen::Index at;
    const double max = Values(memory).row(m).cast<double>().maxCoeff(&at);
    slot_class[m] = static_cast<int>(at);
    certainty[m] = 1.0 / (Values(memory).row(m).cast<double>().array() - max).exp().sum();
  }
  Tensor queries = rng.Random(15, 12);
  queries.row(2).setZero();

  absl::StatusOr<Retrieval> got = memory.Retrieve(queries);
  ASSERT_TRUE(got.ok()) << got.status();
  const Retrieval want = BruteVote(BruteCosines(queries.cast<double>(), keys.cast<double>()), k,
                                   slot_class, certainty);
  for (int b = 0; b < 15; ++b) {
    EXPECT_EQ(got->label[b], want.label[b]) << b;
    EXPECT_EQ(got->slot[b], want.slot[b]) << b;
    EXPECT_NEAR(got->confidence[b], want.confidence[b], 1e-5) << b;
  }
  EXPECT_EQ(got->confidence[2], 0.0f);
}

INSTANTIATE_TEST_SUITE_P(K, TrainableMemoryRetrieveTest, ::testing::Values(1, 2, 4, 35, 40));

TEST(TrainableMemoryRetrieveEdgeTest, ConfidenceIsCosineTimesCertainty) {
  TrainableMemory memory(SmallSettings(3));
  ASSERT_TRUE(memory.Store(AtAngles({0}), {2}).ok());
  absl::StatusOr<Retrieval> got = memory.Retrieve(AtAngles({30}));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->label[0], 2);
  EXPECT_EQ(got->slot[0], 0);
  EXPECT_NEAR(got->confidence[0], std::cos(M_PI / 6) * std::exp(5.0) / (std::exp(5.0) + 3), 1e-6);
  TrainableMemory empty(SmallSettings(3));
  got = empty.Retrieve(AtAngles({30}));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->label[0], -1);
  EXPECT_EQ(got->confidence[0], 0.0f);
}

// Module loss and gradients = contrastive + read-out from core, in double.
TEST(TrainableMemoryLossTest, MatchesContrastivePlusReadoutInDouble) {
  TestRng rng(51);
  TrainableMemory memory(SmallSettings(30, 8, 4));
  const Tensor keys = rng.Random(24, 8);
  std::vector<int> key_labels(24);
  for (int m = 0; m < 24; ++m) key_labels[m] = m % 3;  // class 3 absent
  ASSERT_TRUE(memory.Store(keys, key_labels).ok());
  Values(memory).topRows(24) += rng.Random(24, 4);
  const MatrixD unit_keys = Keys(memory).topRows(24).cast<double>();
  const MatrixD values = Values(memory).topRows(24).cast<double>();
  const Tensor features = rng.Random(7, 8);
  const std::vector<int> labels = {0, 1, 2, 3, 0, 1, 3};

  Tensor grad_features;
  absl::StatusOr<float> loss = memory.Loss(features, labels, &grad_features);
  ASSERT_TRUE(loss.ok()) << loss.status();

  const MatrixD f = features.cast<double>();
  MatrixD cf, ck, rf, rk, rv;
  absl::StatusOr<double> contrastive =
      memory::MemoryContrastiveLoss(f, labels, unit_keys, key_labels, 0.1, &cf, &ck);
  absl::StatusOr<double> readout =
      memory::MemoryReadoutLoss(f, labels, unit_keys, values, 0.1, &rf, &rk, &rv);
  ASSERT_TRUE(contrastive.ok() && readout.ok());
  const double want = *contrastive + *readout;
  EXPECT_NEAR(*loss, want, 1e-5 * want);
  auto close = [](const MatrixD& got, const MatrixD& want) {
    return (got - want).cwiseAbs().maxCoeff() <= 1e-4 * (want.cwiseAbs().maxCoeff() + 1e-3);
  };
  EXPECT_TRUE(close(grad_features.cast<double>(), cf + rf));
  EXPECT_TRUE(close(KeysGradient(memory).topRows(24).cast<double>(), ck + rk));
  EXPECT_TRUE(close(ValuesGradient(memory).topRows(24).cast<double>(), rv));
  // Slots beyond size() get no gradient.
  EXPECT_EQ(KeysGradient(memory).bottomRows(6).cwiseAbs().maxCoeff(), 0.0f);
  EXPECT_EQ(ValuesGradient(memory).bottomRows(6).cwiseAbs().maxCoeff(), 0.0f);

  // Parameter gradients accumulate; the owner zeroes them.
  const Tensor once = ValuesGradient(memory);
  ASSERT_TRUE(memory.Loss(features, labels, &grad_features).ok());
  EXPECT_TRUE(ValuesGradient(memory).isApprox(2.0f * once));
}

// An optimizer step may leave keys off unit length; the next call puts them
// back, which changes no loss (the losses see directions only).
TEST(TrainableMemoryLossTest, KeysAreRenormalisedInPlace) {
  TestRng rng(52);
  TrainableMemory memory(SmallSettings(10, 5, 3));
  ASSERT_TRUE(memory.Store(rng.Random(6, 5), {0, 1, 2, 0, 1, 2}).ok());
  const Tensor features = rng.Random(3, 5);
  Tensor grad;
  absl::StatusOr<float> before = memory.Loss(features, {0, 1, 2}, &grad);
  Keys(memory).row(2) *= 3.0f;
  Keys(memory).row(4) *= 0.25f;
  absl::StatusOr<float> after = memory.Loss(features, {0, 1, 2}, &grad);
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_NEAR(*after, *before, 1e-6f);
  EXPECT_NEAR(Keys(memory).row(2).norm(), 1.0f, 1e-6f);
  EXPECT_NEAR(Keys(memory).row(4).norm(), 1.0f, 1e-6f);
}

// SGD with momentum and weight decay, as core's optimizer does it, over a few
// steps: the filled slots learn, the unused ones stay exactly zero.
TEST(TrainableMemoryLossTest, UnusedSlotsSurviveAnOptimizerWithWeightDecay) {
  TestRng rng(53);
  TrainableMemory memory(SmallSettings(8, 4, 3));
  ASSERT_TRUE(memory.Store(rng.Random(5, 4), {0, 1, 2, 0, 1}).ok());
  const Tensor features = rng.Random(6, 4);
  const std::vector<int> labels = {0, 1, 2, 2, 1, 0};
  std::vector<Tensor> velocity;
  for (const Parameter& p : memory.parameters())
    velocity.push_back(Tensor::Zero(p.value->rows(), p.value->cols()));
  Tensor grad;
  absl::StatusOr<float> first = memory.Loss(features, labels, &grad);
  for (int step = 0; step < 20; ++step) {
    std::vector<Parameter> parameters = memory.parameters();
    for (const Parameter& p : parameters) p.gradient->setZero();
    ASSERT_TRUE(memory.Loss(features, labels, &grad).ok());
    for (size_t i = 0; i < parameters.size(); ++i) {
      Tensor g = *parameters[i].gradient + 1e-2f * *parameters[i].value;
      velocity[i] = 0.9f * velocity[i] + g;
      *parameters[i].value -= 0.05f * velocity[i];
    }
  }
  absl::StatusOr<float> last = memory.Loss(features, labels, &grad);
  ASSERT_TRUE(first.ok() && last.ok());
  EXPECT_LT(*last, *first);
  EXPECT_EQ(Keys(memory).bottomRows(3).cwiseAbs().maxCoeff(), 0.0f);
  EXPECT_EQ(Values(memory).bottomRows(3).cwiseAbs().maxCoeff(), 0.0f);
}

TEST(TrainableMemoryLossTest, EmptyMemoryBatchOfOneAndZeroFeature) {
  TrainableMemory memory(SmallSettings(4));
  Tensor grad;
  absl::StatusOr<float> empty = memory.Loss(AtAngles({10}), {1}, &grad);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, 0.0f);
  EXPECT_EQ(grad.rows(), 1);
  EXPECT_EQ(grad.cwiseAbs().maxCoeff(), 0.0f);

  ASSERT_TRUE(memory.Store(AtAngles({0, 90}), {1, 2}).ok());
  Tensor zero = Tensor::Zero(1, 2);
  absl::StatusOr<float> loss = memory.Loss(zero, {3}, &grad);  // class 3 absent
  ASSERT_TRUE(loss.ok());
  // Contrastive: no positive, 0. Read-out: uniform attention over two slots
  // that each give class 3 probability 1 / (e^5 + 3).
  EXPECT_NEAR(*loss, std::log(std::exp(5.0) + 3), 1e-5);
  EXPECT_EQ(grad.cwiseAbs().maxCoeff(), 0.0f);
  EXPECT_TRUE(KeysGradient(memory).allFinite());
  EXPECT_GT(ValuesGradient(memory).cwiseAbs().maxCoeff(), 0.0f);
}

TEST(TrainableMemoryStateTest, RoundTripsAndRefusesBadState) {
  TrainableMemory memory(SmallSettings(4));
  ASSERT_TRUE(memory.Store(AtAngles({0, 60, 120}), {0, 1, 3}).ok());
  Values(memory)(1, 2) = -1.25f;
  const std::map<std::string, Tensor> state = memory.ExportState();
  EXPECT_EQ(state.at("fill")(0, 0), 3.0f);
  EXPECT_EQ(state.at("keys").rows(), 4);
  EXPECT_EQ(state.at("labels")(0, 3), -1.0f);

  TrainableMemory copy(SmallSettings(4));
  ASSERT_TRUE(copy.ImportState(state).ok());
  EXPECT_EQ(copy.size(), 3);
  EXPECT_EQ(copy.stored_labels()[2], 3);
  EXPECT_EQ(Values(copy), Values(memory));
  EXPECT_EQ(copy.ExportState().at("keys"), state.at("keys"));

  auto refused = [&](std::map<std::string, Tensor> bad, const std::string& words) {
    absl::Status status = copy.ImportState(bad);
    EXPECT_FALSE(status.ok()) << words;
    EXPECT_NE(status.message().find(words), absl::string_view::npos) << status;
    EXPECT_EQ(copy.size(), 3) << "a refused import changed the memory";
  };
  std::map<std::string, Tensor> bad = state;
  bad.erase("fill");
  refused(bad, "missing tensors: fill");
  bad = state;
  bad["fill"](0, 0) = 5.0f;
  refused(bad, "slot count in [0, 4]");
  bad = state;
  bad["keys"] = Tensor::Zero(3, 2);
  refused(bad, "\"keys\" is 3 x 2, expected 4 x 2");
  bad = state;
  bad["values"] = Tensor::Zero(4, 3);
  refused(bad, "\"values\" is 4 x 3");
  bad = state;
  bad["labels"](0, 3) = 1.0f;
  refused(bad, "must be -1");
  bad = state;
  bad["labels"](0, 0) = 4.0f;
  refused(bad, "not a class label");
  bad = state;
  bad["keys"].row(2).setZero();
  refused(bad, "row 2 is zero");
}

}  // namespace
}  // namespace mnemo::memory_modules
