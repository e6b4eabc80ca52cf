// The cached memory: its replacement policy on small hand-made memories,
// retrieval and loss against brute force, edge cases, and its state.
#include "memory_modules/cached_memory/cached_memory.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <vector>

#include "core/avx512_warning_workaround.h"  // first: see there
#include "memory_modules/common/contrastive_loss.h"
#include "tests/memory/reference.h"
#include "tests/testing/tensors.h"

namespace mnemo::memory_modules {
namespace {

using ::mnemo::memory::testing::BruteCosines;
using ::mnemo::memory::testing::BruteVote;
using ::mnemo::memory::testing::MatrixD;
using ::mnemo::testing::TestRng;

// Unit vectors in the plane at the given angles (degrees): the cosine of two
// is the cosine of the angle between them, so a memory is easy to draw.
Tensor AtAngles(std::initializer_list<double> degrees) {
  Tensor rows(static_cast<int>(degrees.size()), 2);
  int r = 0;
  for (double d : degrees) {
    const double radians = d * M_PI / 180.0;
    rows(r, 0) = static_cast<float>(std::cos(radians));
    rows(r, 1) = static_cast<float>(std::sin(radians));
    ++r;
  }
  return rows;
}

CachedMemory::Settings SmallSettings(int capacity, int dim = 2, int classes = 5) {
  CachedMemory::Settings settings;
  settings.feature_dim = dim;
  settings.num_classes = classes;
  settings.capacity = capacity;
  settings.similarity_threshold = 0.9f;
  settings.temperature = 0.1f;
  settings.top_k = 1;
  return settings;
}

// A full memory of three items: slot 0 at 0 deg (class 0), slot 1 at 60 deg
// (class 1), slot 2 at 120 deg (class 0).
void FillThree(CachedMemory& memory) {
  ASSERT_TRUE(memory.Store(AtAngles({0, 60, 120}), {0, 1, 0}).ok());
  ASSERT_EQ(memory.size(), 3);
}

// Which slot holds (approximately) the unit vector at `degrees`, or -1.
int SlotAt(const CachedMemory& memory, double degrees) {
  const Tensor target = AtAngles({degrees});
  for (int slot = 0; slot < memory.size(); ++slot) {
    if ((memory.stored_keys().row(slot) - target.row(0)).norm() < 1e-5f) return slot;
  }
  return -1;
}

TEST(CachedMemoryStoreTest, NotFullTakesTheNextUnusedSlotWithoutNoveltyCheck) {
  CachedMemory memory(SmallSettings(4));
  ASSERT_TRUE(memory.Store(AtAngles({10, 50}), {1, 2}).ok());
  EXPECT_EQ(memory.size(), 2);
  // A duplicate is stored too while there is room.
  ASSERT_TRUE(memory.Store(AtAngles({10}), {1}).ok());
  EXPECT_EQ(memory.size(), 3);
  EXPECT_EQ(SlotAt(memory, 50), 1);
  EXPECT_EQ(memory.stored_labels()[2], 1);
  // Keys are kept unit length whatever the features' norms.
  ASSERT_TRUE(memory.Store(7.0f * AtAngles({90}), {3}).ok());
  EXPECT_NEAR(memory.stored_keys().row(3).norm(), 1.0f, 1e-6f);
}

TEST(CachedMemoryStoreTest, FullAndNovelReplacesTheLeastSimilarItemOfItsClass) {
  CachedMemory memory(SmallSettings(3));
  FillThree(memory);
  // 200 deg: cosines -0.94 (slot 0), -0.77 (slot 1), 0.17 (slot 2): novel.
  // Class 0 lives in slots 0 and 2; slot 0 is the less similar.
  ASSERT_TRUE(memory.Store(AtAngles({200}), {0}).ok());
  EXPECT_EQ(SlotAt(memory, 200), 0);
  EXPECT_EQ(SlotAt(memory, 60), 1);
  EXPECT_EQ(SlotAt(memory, 120), 2);
  EXPECT_EQ(memory.stored_labels()[0], 0);
}

TEST(CachedMemoryStoreTest, SameClassIsPreferredOverTheOverallLeastSimilar) {
  CachedMemory memory(SmallSettings(3));
  FillThree(memory);
  // Class 1 is only in slot 1, though slot 0 is the least similar overall.
  ASSERT_TRUE(memory.Store(AtAngles({200}), {1}).ok());
  EXPECT_EQ(SlotAt(memory, 200), 1);
  EXPECT_EQ(SlotAt(memory, 0), 0);
  EXPECT_EQ(memory.stored_labels()[1], 1);
}

TEST(CachedMemoryStoreTest, AbsentClassReplacesTheLeastSimilarOverall) {
  CachedMemory memory(SmallSettings(3));
  FillThree(memory);
  ASSERT_TRUE(memory.Store(AtAngles({200}), {4}).ok());
  EXPECT_EQ(SlotAt(memory, 200), 0);
  EXPECT_EQ(memory.stored_labels()[0], 4);
}

TEST(CachedMemoryStoreTest, AClassBelowItsShareTakesFromTheLargestClass) {
  // Capacity 6: class 0 at 0, 10, 20 and 30 deg, class 1 at 90, class 2 at
  // 180. Three classes held: a share is 2 items.
  CachedMemory memory(SmallSettings(6));
  ASSERT_TRUE(memory.Store(AtAngles({0, 10, 20, 30, 90, 180}), {0, 0, 0, 0, 1, 2}).ok());
  // 270 deg of class 1 (1 item, below its share of 2): class 0 (4 items)
  // gives up its item least similar to 270 deg, 30 deg (cosine -0.5), though
  // class 1's own 90 deg (-1) and class 2's 180 deg (0) are there.
  ASSERT_TRUE(memory.Store(AtAngles({270}), {1}).ok());
  EXPECT_EQ(SlotAt(memory, 270), 3);
  EXPECT_EQ(SlotAt(memory, 90), 4);
  EXPECT_EQ(SlotAt(memory, 180), 5);
  // Class 1 holds its share now: its next example replaces its own least
  // similar item (for 225 deg: 90 deg at -0.71, not 270 deg at 0.71).
  ASSERT_TRUE(memory.Store(AtAngles({225}), {1}).ok());
  EXPECT_EQ(SlotAt(memory, 225), 4);
  EXPECT_EQ(SlotAt(memory, 270), 3);
  // A class the memory does not hold counts itself among the classes (four
  // now, a share of 1) and takes from the largest, class 0 (3 items): its
  // item least similar to 100 deg, 0 deg.
  ASSERT_TRUE(memory.Store(AtAngles({100}), {3}).ok());
  EXPECT_EQ(SlotAt(memory, 100), 0);
  EXPECT_EQ(memory.stored_labels()[0], 3);
}

TEST(CachedMemoryStoreTest, NotNovelIsNotStored) {
  CachedMemory memory(SmallSettings(3));
  FillThree(memory);
  const std::map<std::string, Tensor> before = memory.ExportState();
  // 70 deg: cosine 0.985 with slot 1, above 0.9, whatever its class.
  ASSERT_TRUE(memory.Store(AtAngles({70, 70}), {3, 1}).ok());
  const std::map<std::string, Tensor> after = memory.ExportState();
  EXPECT_EQ(after.at("keys"), before.at("keys"));
  EXPECT_EQ(after.at("labels"), before.at("labels"));
}

TEST(CachedMemoryStoreTest, AnExampleStoredEarlierInTheBatchCountsForNovelty) {
  CachedMemory memory(SmallSettings(3));
  FillThree(memory);
  // Both novel against the memory; the second is a copy of the first, which
  // is in memory by then: only the first is stored.
  ASSERT_TRUE(memory.Store(AtAngles({200, 201}), {0, 0}).ok());
  EXPECT_EQ(SlotAt(memory, 200), 0);
  EXPECT_EQ(SlotAt(memory, 201), -1);
  EXPECT_EQ(SlotAt(memory, 120), 2);
}

TEST(CachedMemoryStoreTest, TheLastFreeSlotThenTheFullPolicyInOneBatch) {
  CachedMemory memory(SmallSettings(3));
  ASSERT_TRUE(memory.Store(AtAngles({0, 60}), {0, 1}).ok());
  // 200 takes the last free slot, 2; 200.5 is then a near copy of it (not
  // stored); 120 (best cosine 0.5, with 60) is novel and replaces the less
  // similar of class 0's items: slot 0 at 0 deg (-0.5), not slot 2 (0.17).
  ASSERT_TRUE(memory.Store(AtAngles({200, 200.5, 120}), {0, 0, 0}).ok());
  EXPECT_EQ(memory.size(), 3);
  EXPECT_EQ(SlotAt(memory, 200), 2);
  EXPECT_EQ(SlotAt(memory, 200.5), -1);
  EXPECT_EQ(SlotAt(memory, 120), 0);
  EXPECT_EQ(SlotAt(memory, 60), 1);
}

TEST(CachedMemoryStoreTest, NoveltyIsAgainstWhatTheMemoryHoldsNow) {
  // Slot 0 at 0 deg (class 0), slot 1 at 90 (class 1), slot 2 at 180 (class 1).
  CachedMemory memory(SmallSettings(3));
  ASSERT_TRUE(memory.Store(AtAngles({0, 90, 180}), {0, 1, 1}).ok());
  // 225 deg (class 0) is novel (best 0.71) and replaces slot 0, class 0's
  // only item. Then 0 deg is no longer in memory: the second example (best
  // cosine 0 with 90 deg) is novel, and replaces class 1's least similar
  // item, slot 2 at 180 deg.
  ASSERT_TRUE(memory.Store(AtAngles({225, 0}), {0, 1}).ok());
  EXPECT_EQ(SlotAt(memory, 225), 0);
  EXPECT_EQ(SlotAt(memory, 0), 2);
  EXPECT_EQ(SlotAt(memory, 90), 1);
  EXPECT_EQ(memory.stored_labels()[2], 1);
}

TEST(CachedMemoryStoreTest, ZeroVectorsAreNotStored) {
  CachedMemory memory(SmallSettings(3));
  Tensor features = Tensor::Zero(2, 2);
  features(1, 0) = 1.0f;
  ASSERT_TRUE(memory.Store(features, {0, 1}).ok());
  EXPECT_EQ(memory.size(), 1);
  EXPECT_EQ(memory.stored_labels()[0], 1);
}

TEST(CachedMemoryStoreTest, RefusesBadBatchesAndChangesNothing) {
  CachedMemory memory(SmallSettings(3));
  EXPECT_FALSE(memory.Store(Tensor::Ones(2, 3), {0, 1}).ok());  // width
  EXPECT_FALSE(memory.Store(Tensor::Ones(2, 2), {0}).ok());     // labels
  EXPECT_FALSE(memory.Store(Tensor::Ones(1, 2), {5}).ok());     // class range
  EXPECT_FALSE(memory.Store(Tensor::Ones(1, 2), {-1}).ok());
  Tensor nan = Tensor::Ones(2, 2);
  nan(1, 1) = std::numeric_limits<float>::quiet_NaN();
  absl::Status status = memory.Store(nan, {0, 0});
  EXPECT_NE(status.message().find("NaN"), absl::string_view::npos) << status;
  EXPECT_EQ(memory.size(), 0);
}

TEST(CachedMemoryWriteTest, KeepsANonNovelExampleInAFreeSlot) {
  CachedMemory memory(SmallSettings(4));
  FillThree(memory);
  // 70 deg: cosine 0.985 with slot 1, not novel; Write keeps it anyway.
  ASSERT_TRUE(memory.Write(AtAngles({70}), {3}).ok());
  EXPECT_EQ(memory.size(), 4);
  EXPECT_EQ(SlotAt(memory, 70), 3);
  EXPECT_EQ(memory.stored_labels()[3], 3);
}

TEST(CachedMemoryWriteTest, FullKeepsANonNovelExample) {
  CachedMemory memory(SmallSettings(3));
  FillThree(memory);
  // 65 deg: cosine 0.996 with slot 1, not novel: Store drops it.
  ASSERT_TRUE(memory.Store(AtAngles({65}), {0}).ok());
  EXPECT_EQ(SlotAt(memory, 65), -1);
  // Write keeps it, in the least similar slot: 0 (0.42; slots 1 and 2:
  // 0.996 and 0.57).
  ASSERT_TRUE(memory.Write(AtAngles({65}), {0}).ok());
  EXPECT_EQ(SlotAt(memory, 65), 0);
  EXPECT_EQ(memory.size(), 3);
}

TEST(CachedMemoryWriteTest, FullReplacesTheLeastSimilarWhateverItsClass) {
  CachedMemory memory(SmallSettings(3));
  FillThree(memory);
  // 200 deg, class 1: cosines -0.94 (slot 0), -0.77 (slot 1, class 1's only
  // item), 0.17 (slot 2). Store would replace slot 1; Write replaces the
  // least similar overall, slot 0.
  ASSERT_TRUE(memory.Write(AtAngles({200}), {1}).ok());
  EXPECT_EQ(SlotAt(memory, 200), 0);
  EXPECT_EQ(SlotAt(memory, 60), 1);
  EXPECT_EQ(SlotAt(memory, 120), 2);
  EXPECT_EQ(memory.stored_labels()[0], 1);
}

TEST(CachedMemoryWriteTest, ASlotThisCallWroteIsNotReplacedByALaterRow) {
  CachedMemory memory(SmallSettings(4));
  ASSERT_TRUE(memory.Store(AtAngles({0, 90, 180, 270}), {0, 1, 0, 1}).ok());
  // 200 replaces the least similar, 0 deg (-0.94). For 20 the least similar
  // is then 200 (-1), this call's: passed over for 180 deg (-0.94).
  ASSERT_TRUE(memory.Write(AtAngles({200, 20}), {2, 2}).ok());
  EXPECT_EQ(SlotAt(memory, 200), 0);
  EXPECT_EQ(SlotAt(memory, 20), 2);
  EXPECT_EQ(SlotAt(memory, 90), 1);
  EXPECT_EQ(SlotAt(memory, 270), 3);
}

TEST(CachedMemoryWriteTest, ExamplesOfANewClassShownOneCallAtATimeAreAllKept) {
  CachedMemory memory(SmallSettings(4));
  ASSERT_TRUE(memory.Store(AtAngles({0, 90, 180, 270}), {0, 1, 0, 1}).ok());
  // 200: least similar 0 deg (-0.94), slot 0.
  ASSERT_TRUE(memory.Write(AtAngles({200}), {2}).ok());
  // 210: cosines 0.98 (200), -0.5 (90), 0.87 (180), 0.5 (270): slot 1.
  // Store's rule would replace class 2's only item, the 200 just shown.
  ASSERT_TRUE(memory.Write(AtAngles({210}), {2}).ok());
  // 190: 0.98 (200), 0.94 (210), 0.98 (180), 0.17 (270): slot 3.
  ASSERT_TRUE(memory.Write(AtAngles({190}), {2}).ok());
  EXPECT_EQ(SlotAt(memory, 200), 0);
  EXPECT_EQ(SlotAt(memory, 210), 1);
  EXPECT_EQ(SlotAt(memory, 180), 2);
  EXPECT_EQ(SlotAt(memory, 190), 3);
  absl::StatusOr<Retrieval> answer = memory.Retrieve(AtAngles({205}));
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->label[0], 2);
}

TEST(CachedMemoryWriteTest, RefusesZeroRowsTooManyRowsAndBadLabelsChangingNothing) {
  CachedMemory memory(SmallSettings(3));
  FillThree(memory);
  const std::map<std::string, Tensor> before = memory.ExportState();
  Tensor features = AtAngles({10, 20});
  features.row(1).setZero();
  absl::Status zero = memory.Write(features, {0, 1});
  EXPECT_EQ(zero.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(zero.message().find("row 1 is a zero vector"), absl::string_view::npos) << zero;
  // Too small to have a direction, though not zero.
  features.row(1).setConstant(1e-30f);
  EXPECT_FALSE(memory.Write(features, {0, 1}).ok());
  absl::Status many = memory.Write(AtAngles({1, 2, 3, 4}), {0, 0, 0, 0});
  EXPECT_NE(many.message().find("capacity 3"), absl::string_view::npos) << many;
  EXPECT_FALSE(memory.Write(AtAngles({10}), {5}).ok());
  EXPECT_FALSE(memory.Write(AtAngles({10}), {0, 1}).ok());
  const std::map<std::string, Tensor> after = memory.ExportState();
  EXPECT_EQ(after.at("keys"), before.at("keys"));
  EXPECT_EQ(after.at("labels"), before.at("labels"));
}

class CachedMemoryRetrieveTest : public ::testing::TestWithParam<int> {};

TEST_P(CachedMemoryRetrieveTest, MatchesBruteForce) {
  const int k = GetParam();
  TestRng rng(40);
  CachedMemory::Settings settings = SmallSettings(60, 16, 6);
  settings.top_k = k;
  CachedMemory memory(settings);
  const Tensor keys = rng.Random(50, 16);
  std::vector<int> labels(50);
  for (int m = 0; m < 50; ++m) labels[m] = (m * 7) % 6;
  ASSERT_TRUE(memory.Store(keys, labels).ok());
  Tensor queries = rng.Random(20, 16);
  queries.row(4) = 3.0f * keys.row(17);  // an exact hit, scaled
  queries.row(5).setZero();

  absl::StatusOr<Retrieval> got = memory.Retrieve(queries);
  ASSERT_TRUE(got.ok()) << got.status();
  const Retrieval want = BruteVote(BruteCosines(queries.cast<double>(), keys.cast<double>()), k,
                                   labels, std::vector<double>(50, 1.0));
  for (int b = 0; b < 20; ++b) {
    EXPECT_EQ(got->label[b], want.label[b]) << b;
    EXPECT_EQ(got->slot[b], want.slot[b]) << b;
    EXPECT_NEAR(got->confidence[b], want.confidence[b], 1e-5) << b;
  }
  if (k == 1) {
    EXPECT_EQ(got->slot[4], 17);
    EXPECT_NEAR(got->confidence[4], 1.0f, 1e-5);
  }
  EXPECT_EQ(got->confidence[5], 0.0f);  // a zero query matches nothing
}

INSTANTIATE_TEST_SUITE_P(K, CachedMemoryRetrieveTest, ::testing::Values(1, 3, 5, 50, 64));

TEST(CachedMemoryRetrieveEdgeTest, EmptyMemoryAnswersNothing) {
  CachedMemory memory(SmallSettings(3));
  absl::StatusOr<Retrieval> got = memory.Retrieve(AtAngles({10, 20}));
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->label.size(), 2u);
  EXPECT_EQ(got->label[0], -1);
  EXPECT_EQ(got->slot[1], -1);
  EXPECT_EQ(got->confidence[1], 0.0f);
}

TEST(CachedMemoryRetrieveEdgeTest, NegativeCosineGivesZeroConfidence) {
  CachedMemory memory(SmallSettings(3));
  ASSERT_TRUE(memory.Store(AtAngles({0}), {2}).ok());
  absl::StatusOr<Retrieval> got = memory.Retrieve(AtAngles({180}));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->label[0], 2);
  EXPECT_EQ(got->confidence[0], 0.0f);
}

TEST(CachedMemoryLossTest, MatchesTheContrastiveLossInDoubleWithFixedKeys) {
  TestRng rng(41);
  CachedMemory::Settings settings = SmallSettings(30, 8, 4);
  CachedMemory memory(settings);
  const Tensor keys = rng.Random(25, 8);
  std::vector<int> key_labels(25);
  for (int m = 0; m < 25; ++m) key_labels[m] = m % 3;  // class 3 absent
  ASSERT_TRUE(memory.Store(keys, key_labels).ok());
  const Tensor features = rng.Random(6, 8);
  const std::vector<int> labels = {0, 1, 2, 3, 0, 1};

  Tensor grad;
  absl::StatusOr<float> loss = memory.Loss(features, labels, &grad);
  ASSERT_TRUE(loss.ok()) << loss.status();
  MatrixD want_grad, want_grad_keys;
  absl::StatusOr<double> want = memory::MemoryContrastiveLoss(
      features.cast<double>().eval(), labels, keys.cast<double>().eval(), key_labels, 0.1,
      &want_grad, &want_grad_keys);
  ASSERT_TRUE(want.ok());
  EXPECT_NEAR(*loss, *want, 1e-5 * *want);
  EXPECT_LT((grad.cast<double>() - want_grad).cwiseAbs().maxCoeff(),
            1e-4 * want_grad.cwiseAbs().maxCoeff());
  EXPECT_EQ(grad.row(3).cwiseAbs().maxCoeff(), 0.0f);  // class 3 is absent
  EXPECT_TRUE(memory.parameters().empty());
}

TEST(CachedMemoryLossTest, EmptyMemoryAndBatchOfOne) {
  CachedMemory memory(SmallSettings(3));
  Tensor grad;
  absl::StatusOr<float> empty = memory.Loss(AtAngles({10}), {0}, &grad);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, 0.0f);
  ASSERT_EQ(grad.rows(), 1);
  ASSERT_EQ(grad.cols(), 2);
  EXPECT_EQ(grad.cwiseAbs().maxCoeff(), 0.0f);

  ASSERT_TRUE(memory.Store(AtAngles({0, 90}), {0, 1}).ok());
  absl::StatusOr<float> one = memory.Loss(AtAngles({30}), {0}, &grad);
  ASSERT_TRUE(one.ok());
  // -log(e^{cos30/T} / (e^{cos30/T} + e^{cos60/T}))
  const double s0 = std::cos(M_PI / 6) / 0.1, s1 = std::cos(M_PI / 3) / 0.1;
  EXPECT_NEAR(*one, std::log1p(std::exp(s1 - s0)), 1e-5);
  EXPECT_GT(grad.cwiseAbs().maxCoeff(), 0.0f);
}

TEST(CachedMemoryStateTest, RoundTripsAndRefusesBadState) {
  CachedMemory memory(SmallSettings(4));
  ASSERT_TRUE(memory.Store(AtAngles({0, 60, 120}), {0, 1, 4}).ok());
  const std::map<std::string, Tensor> state = memory.ExportState();
  ASSERT_EQ(state.at("keys").rows(), 3);
  ASSERT_EQ(state.at("labels").cols(), 3);

  CachedMemory copy(SmallSettings(4));
  ASSERT_TRUE(copy.ImportState(state).ok());
  EXPECT_EQ(copy.size(), 3);
  EXPECT_EQ(copy.ExportState().at("keys"), state.at("keys"));
  absl::StatusOr<Retrieval> a = memory.Retrieve(AtAngles({55}));
  absl::StatusOr<Retrieval> b = copy.Retrieve(AtAngles({55}));
  EXPECT_EQ(a->slot, b->slot);
  EXPECT_EQ(a->label, b->label);

  auto refused = [&](std::map<std::string, Tensor> bad, const std::string& words) {
    absl::Status status = copy.ImportState(bad);
    EXPECT_FALSE(status.ok()) << words;
    EXPECT_NE(status.message().find(words), absl::string_view::npos) << status;
    EXPECT_EQ(copy.size(), 3) << "a refused import changed the memory";
  };
  std::map<std::string, Tensor> bad = state;
  bad.erase("labels");
  refused(bad, "missing tensors: labels");
  bad = state;
  bad["momentum"] = Tensor::Zero(1, 1);
  refused(bad, "unknown tensors: momentum");
  bad = state;
  bad["keys"] = Tensor::Ones(3, 5);
  refused(bad, "\"keys\" is 3 x 5");
  bad = state;
  bad["keys"] = Tensor::Ones(5, 2);
  refused(bad, "capacity");
  bad = state;
  bad["labels"](0, 1) = 1.5f;
  refused(bad, "\"labels\"[1] = 1.5");
  bad = state;
  bad["labels"](0, 2) = 5.0f;
  refused(bad, "not a class label");
  bad = state;
  bad["keys"].row(1).setZero();
  refused(bad, "row 1 is zero");
  bad = state;
  bad["keys"](0, 0) = std::numeric_limits<float>::infinity();
  refused(bad, "NaN or an infinity");

  // An empty memory round-trips too.
  CachedMemory empty(SmallSettings(4));
  ASSERT_TRUE(copy.ImportState(empty.ExportState()).ok());
  EXPECT_EQ(copy.size(), 0);
}

TEST(CachedMemoryStateTest, ExportedKeysComeBackBitForBitOthersAreNormalized) {
  // Stored keys are unit rows; dividing them by their norm again would move
  // the last bits of many (a resumed training run would then drift).
  CachedMemory memory(SmallSettings(40, /*dim=*/64));
  const Tensor features = TestRng(9).Random(40, 64, -1, 1);
  std::vector<int> labels(40);
  for (int i = 0; i < 40; ++i) labels[i] = i % 5;
  ASSERT_TRUE(memory.Store(features, labels).ok());
  const std::map<std::string, Tensor> state = memory.ExportState();
  CachedMemory copy(SmallSettings(40, 64));
  ASSERT_TRUE(copy.ImportState(state).ok());
  const Tensor& keys = state.at("keys");
  const Tensor again = copy.ExportState().at("keys");
  ASSERT_EQ(again.rows(), keys.rows());
  EXPECT_EQ(std::memcmp(again.data(), keys.data(), keys.size() * sizeof(float)), 0);

  // Rows that are not unit length are still made so.
  std::map<std::string, Tensor> scaled = state;
  scaled["keys"].row(3) *= 3.0f;
  ASSERT_TRUE(copy.ImportState(scaled).ok());
  EXPECT_NEAR(copy.stored_keys().row(3).norm(), 1.0f, 1e-6f);
  EXPECT_LT((copy.stored_keys().row(3) - keys.row(3)).cwiseAbs().maxCoeff(), 1e-6f);
}

TEST(CachedMemoryStateTest, ClearEmptiesIt) {
  CachedMemory memory(SmallSettings(3));
  FillThree(memory);
  memory.Clear();
  EXPECT_EQ(memory.size(), 0);
  ASSERT_TRUE(memory.Store(AtAngles({45}), {2}).ok());
  EXPECT_EQ(SlotAt(memory, 45), 0);
}

}  // namespace
}  // namespace mnemo::memory_modules
