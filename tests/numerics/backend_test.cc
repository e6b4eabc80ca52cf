// The reference backend ("eigen"): its similarity GEMM and loss are core's
// code, and it refuses mismatched inputs with a status instead of asserting.
#include "core/backend.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/layers/dense.h"
#include "core/loss.h"
#include "core/network.h"
#include "tests/testing/tensors.h"

namespace mnemo {
namespace {

using ::mnemo::testing::TestRng;
using ::testing::HasSubstr;

TEST(ReferenceBackendTest, MatMulTransposedIsRowsAgainstRows) {
  TestRng rng(1);
  const Tensor a = rng.Random(3, 5);
  const Tensor store = rng.Random(6, 5);
  Tensor c;
  ASSERT_TRUE(ReferenceBackend()->MatMulTransposed(a, store.topRows(4), &c).ok());
  ASSERT_EQ(c.rows(), 3);
  ASSERT_EQ(c.cols(), 4);
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 4; ++j) {
      EXPECT_NEAR(c(i, j), a.row(i).dot(store.row(j)), 1e-6) << i << "," << j;
    }
  }
  // The shared dimension empty: zeros; widths that differ: an error.
  ASSERT_TRUE(ReferenceBackend()->MatMulTransposed(Tensor(2, 0), Tensor(3, 0), &c).ok());
  EXPECT_EQ(c, Tensor::Zero(2, 3));
  absl::Status mismatch = ReferenceBackend()->MatMulTransposed(Tensor(2, 4), Tensor(3, 5), &c);
  EXPECT_THAT(mismatch.message(), HasSubstr("4 columns but b has 5"));
}

TEST(ReferenceBackendTest, LossIsCoresSoftmaxCrossEntropy) {
  TestRng rng(2);
  const Tensor logits = rng.Random(7, 4, -3.0f, 3.0f);
  const std::vector<int32_t> labels = {0, 1, 2, 3, 0, 1, 2};
  Tensor grad, expected_grad;
  int correct = -1, expected_correct = -2;
  absl::StatusOr<float> loss =
      ReferenceBackend()->SoftmaxCrossEntropy(logits, labels, &grad, &correct);
  const float expected =
      SoftmaxCrossEntropy::Compute(logits, labels, &expected_grad, &expected_correct);
  ASSERT_TRUE(loss.ok()) << loss.status();
  EXPECT_EQ(*loss, expected);
  EXPECT_EQ(grad, expected_grad);
  EXPECT_EQ(correct, expected_correct);

  const std::vector<int32_t> too_few = {0, 1};
  absl::StatusOr<float> refused =
      ReferenceBackend()->SoftmaxCrossEntropy(logits, too_few, nullptr, nullptr);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("7 rows of logits but 2 labels"));
}

TEST(ReferenceBackendTest, ANetworkWithoutABackendUsesTheReference) {
  std::vector<std::unique_ptr<Layer>> layers;
  layers.push_back(std::make_unique<Dense>(3, 2));
  absl::StatusOr<std::unique_ptr<Network>> network = Network::Create(std::move(layers));
  ASSERT_TRUE(network.ok()) << network.status();
  EXPECT_STREQ((*network)->backend().name(), "eigen");
  EXPECT_EQ((*network)->shared_backend(), ReferenceBackend());
}

}  // namespace
}  // namespace mnemo
