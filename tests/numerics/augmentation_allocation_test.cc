// Data augmentation allocates nothing per batch: Draw and Apply never, and
// AugmentBatch once its scratch image exists. (Its results:
// augmentation_test.)
#include <vector>

#include "core/augmentation.h"
#include "gtest/gtest.h"
#include "tests/testing/allocation_counter.h"
#include "tests/testing/tensors.h"

namespace mnemo {
namespace {

using testing::AllocationScope;
using testing::TestRng;

TEST(AugmentationAllocationTest, AugmentingABatchAllocatesNothing) {
  config::Augmentation config;
  config.set_height(28);
  config.set_width(28);
  config.set_channels(1);
  config.set_max_rotation_degrees(15);
  config.set_horizontal_flip(true);
  config.set_max_shift(2);
  config.set_crop_padding(4);
  absl::StatusOr<ImageAugmenter> augmenter = ImageAugmenter::Create(config, 784);
  ASSERT_TRUE(augmenter.ok()) << augmenter.status();
  TestRng rng(3);
  Tensor batch = rng.Random(64, 784);
  const Tensor original = batch;
  std::vector<int32_t> samples(64);
  for (int i = 0; i < 64; ++i) samples[i] = 1000 + 7 * i;
  std::vector<float> scratch;
  augmenter->AugmentBatch(1, 1, samples, &batch, &scratch);  // sizes the scratch

  std::vector<float> out(784);
  AllocationScope scope;
  for (int epoch = 2; epoch <= 4; ++epoch) {
    augmenter->AugmentBatch(1, epoch, samples, &batch, &scratch);
    augmenter->Apply(augmenter->Draw(1, epoch, 5), original.data(), out.data());
  }
  EXPECT_EQ(scope.counts().total(), 0) << scope.counts().operator_new << " operator new, "
                                       << scope.counts().c_allocations << " malloc";
}

}  // namespace
}  // namespace mnemo
