// The Predictor's promise to host applications: once warmed up for a batch
// size, classifying allocates nothing. Every heap allocation of the process
// is counted (tests/testing/allocation_counter: operator new replaced, the
// malloc family interposed, libmnemo_core.so's calls and Eigen's included)
// over many calls, on the default model (configs/fashion_mlp.pbtxt,
// 784-256-10 with the reference Eigen layers).
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/inference/predictor.h"
#include "gtest/gtest.h"
#include "tests/inference/saved_models.h"
#include "tests/testing/allocation_counter.h"
#include "tests/testing/tensors.h"
#include "tests/testing/test_files.h"

namespace mnemo {
namespace {

using ::mnemo::testing::AllocationCounts;
using ::mnemo::testing::AllocationScope;
using ::mnemo::testing::TestRng;

constexpr char kDefaultConfig[] = "configs/fashion_mlp.pbtxt";
constexpr int kCalls = 200;

std::string Describe(const AllocationCounts& counts) {
  return absl::StrCat(counts.operator_new, " operator new and ", counts.c_allocations,
                      " malloc-family calls in ", kCalls, " calls");
}

class PredictorAllocationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string text = ReadBytes(kDefaultConfig);
    ASSERT_FALSE(text.empty()) << "cannot read " << kDefaultConfig;
    testing::SavedModel saved = testing::SaveRandomModel(text, "fashion_mlp", 3);
    ASSERT_NE(saved.network, nullptr);
    absl::StatusOr<std::unique_ptr<Predictor>> predictor =
        Predictor::Load(saved.config_path, saved.model_path);
    ASSERT_TRUE(predictor.ok()) << predictor.status();
    predictor_ = *std::move(predictor);
    ASSERT_EQ(predictor_->input_size(), 784);
  }

  std::unique_ptr<Predictor> predictor_;
  TestRng rng_{4};
};

TEST_F(PredictorAllocationTest, ABatchOf256AllocatesNothingAfterWarmUp) {
  const Tensor batch = rng_.Random(256, 784, 0.0f, 1.0f);
  ASSERT_TRUE(predictor_->Classify(batch).ok());  // warm-up
  bool all_ok = true;
  AllocationScope scope;
  for (int i = 0; i < kCalls; ++i) all_ok &= predictor_->Classify(batch).ok();
  const AllocationCounts counts = scope.counts();
  EXPECT_TRUE(all_ok);
  EXPECT_EQ(counts.total(), 0) << Describe(counts);
}

TEST_F(PredictorAllocationTest, ABatchOf256FromASpanAllocatesNothingAfterWarmUp) {
  const Tensor batch = rng_.Random(256, 784, 0.0f, 1.0f);
  const absl::Span<const float> floats = absl::MakeConstSpan(batch.data(), batch.size());
  ASSERT_TRUE(predictor_->Classify(floats).ok());
  bool all_ok = true;
  AllocationScope scope;
  for (int i = 0; i < kCalls; ++i) all_ok &= predictor_->Classify(floats).ok();
  const AllocationCounts counts = scope.counts();
  EXPECT_TRUE(all_ok);
  EXPECT_EQ(counts.total(), 0) << Describe(counts);
}

TEST_F(PredictorAllocationTest, ABatchOf1AllocatesNothingAfterWarmUp) {
  const Tensor one = rng_.Random(1, 784, 0.0f, 1.0f);
  ASSERT_TRUE(predictor_->Classify(one).ok());
  bool all_ok = true;
  AllocationScope scope;
  for (int i = 0; i < kCalls; ++i) all_ok &= predictor_->Classify(one).ok();
  const AllocationCounts counts = scope.counts();
  EXPECT_TRUE(all_ok);
  EXPECT_EQ(counts.total(), 0) << Describe(counts);
}

TEST_F(PredictorAllocationTest, SingleSamplesBetweenBatchesAllocateNothingAfterWarmUp) {
  const Tensor batch = rng_.Random(256, 784, 0.0f, 1.0f);
  const absl::Span<const float> sample = absl::MakeConstSpan(batch.row(17).data(), 784);
  ASSERT_TRUE(predictor_->Classify(batch).ok());
  ASSERT_TRUE(predictor_->ClassifyOne(sample).ok());
  ASSERT_TRUE(predictor_->Probabilities().ok());
  bool all_ok = true;
  AllocationScope scope;
  for (int i = 0; i < kCalls; ++i) {
    all_ok &= predictor_->ClassifyOne(sample).ok();
    all_ok &= predictor_->Classify(batch).ok();
  }
  const AllocationCounts counts = scope.counts();
  EXPECT_TRUE(all_ok);
  EXPECT_EQ(counts.total(), 0) << Describe(counts);
}

TEST_F(PredictorAllocationTest, ProbabilitiesAllocateNothingForARepeatedShape) {
  const Tensor batch = rng_.Random(256, 784, 0.0f, 1.0f);
  ASSERT_TRUE(predictor_->Classify(batch).ok());
  ASSERT_TRUE(predictor_->Probabilities().ok());
  bool all_ok = true;
  AllocationScope scope;
  for (int i = 0; i < kCalls; ++i) {
    all_ok &= predictor_->Classify(batch).ok();
    all_ok &= predictor_->Probabilities().ok();
  }
  const AllocationCounts counts = scope.counts();
  EXPECT_TRUE(all_ok);
  EXPECT_EQ(counts.total(), 0) << Describe(counts);
}

// The counter is not blind to libmnemo_core.so: a refusal there builds its
// message on the heap, and a new batch size takes new buffers.
TEST_F(PredictorAllocationTest, TheCounterSeesTheCoresAllocations) {
  const Tensor batch = rng_.Random(256, 784, 0.0f, 1.0f);
  ASSERT_TRUE(predictor_->Classify(batch).ok());
  {
    const Tensor narrow = Tensor::Zero(2, 783);
    AllocationScope scope;
    EXPECT_FALSE(predictor_->Classify(narrow).ok());
    EXPECT_GT(scope.counts().total(), 0);
  }
  {
    const Tensor other = rng_.Random(100, 784, 0.0f, 1.0f);
    AllocationScope scope;
    EXPECT_TRUE(predictor_->Classify(other).ok());
    EXPECT_GT(scope.counts().c_allocations, 0);  // Eigen's buffers: malloc
  }
}

}  // namespace
}  // namespace mnemo
