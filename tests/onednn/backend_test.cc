// The "onednn" backend: its loss and its similarity GEMM against the
// reference backend's, its thread setting as OpenMP reports it, and how a
// config selects it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/config_loader.h"
#include "core/loss.h"
#include "core/model_builder.h"
#include "core/registry.h"
#include "tests/onednn/onednn_testing.h"
#include "tests/testing/tensors.h"

namespace mnemo {
namespace {

using ::mnemo::testing::Counter;
using ::mnemo::testing::kTolerance;
using ::mnemo::testing::RelativeError;
using ::mnemo::testing::TestRng;
using ::testing::HasSubstr;

class OneDnnBackendTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { mnemo::testing::LoadOneDnnPlugin(); }
  void SetUp() override {
    backend_ = mnemo::testing::OneDnnBackend();
    ASSERT_NE(backend_, nullptr);
  }
  std::shared_ptr<const Backend> backend_;
  std::shared_ptr<const Backend> reference_ = ReferenceBackend();
};

std::vector<int32_t> RandomLabels(int rows, int classes, uint32_t seed) {
  TestRng rng(seed);
  std::vector<int32_t> labels(rows);
  for (int32_t& label : labels) {
    label = std::min(classes - 1, static_cast<int>(rng.Uniform(0.0f, 1.0f) * classes));
  }
  return labels;
}

// (rows, classes)
class LossShapeTest : public OneDnnBackendTest,
                      public ::testing::WithParamInterface<std::tuple<int, int>> {};

TEST_P(LossShapeTest, LossGradientAndCountMatchTheReference) {
  const auto [rows, classes] = GetParam();
  TestRng rng(static_cast<uint32_t>(rows * 10 + classes));
  const Tensor logits = rng.Random(rows, classes, -6.0f, 6.0f);
  const std::vector<int32_t> labels = RandomLabels(rows, classes, 3);

  Tensor grad, grad_ref;
  int correct = -1, correct_ref = -1;
  absl::StatusOr<float> loss = backend_->SoftmaxCrossEntropy(logits, labels, &grad, &correct);
  absl::StatusOr<float> loss_ref =
      reference_->SoftmaxCrossEntropy(logits, labels, &grad_ref, &correct_ref);
  ASSERT_TRUE(loss.ok()) << loss.status();
  ASSERT_TRUE(loss_ref.ok()) << loss_ref.status();
  EXPECT_NEAR(*loss, *loss_ref, kTolerance * std::abs(*loss_ref));
  EXPECT_LE(RelativeError(grad, grad_ref), kTolerance);
  EXPECT_EQ(correct, correct_ref);

  // The loss alone, and the gradient written over the logits.
  absl::StatusOr<float> alone = backend_->SoftmaxCrossEntropy(logits, labels, nullptr, nullptr);
  ASSERT_TRUE(alone.ok()) << alone.status();
  EXPECT_EQ(*alone, *loss);
  Tensor in_place = logits;
  absl::StatusOr<float> replaced =
      backend_->SoftmaxCrossEntropy(in_place, labels, &in_place, nullptr);
  ASSERT_TRUE(replaced.ok()) << replaced.status();
  EXPECT_EQ(*replaced, *loss);
  EXPECT_EQ(in_place, grad);
}

// Label smoothing, which core/loss.cc adds on top of the backend's loss.
TEST_P(LossShapeTest, SmoothedLossMatchesTheReference) {
  const auto [rows, classes] = GetParam();
  TestRng rng(static_cast<uint32_t>(rows * 10 + classes));
  const Tensor logits = rng.Random(rows, classes, -6.0f, 6.0f);
  const std::vector<int32_t> labels = RandomLabels(rows, classes, 3);
  LossSpec spec;
  spec.label_smoothing = 0.1f;
  Tensor grad, grad_ref;
  absl::StatusOr<float> loss =
      ComputeLoss(*backend_, spec, logits, labels, nullptr, &grad, nullptr);
  absl::StatusOr<float> loss_ref =
      ComputeLoss(*reference_, spec, logits, labels, nullptr, &grad_ref, nullptr);
  ASSERT_TRUE(loss.ok()) << loss.status();
  ASSERT_TRUE(loss_ref.ok()) << loss_ref.status();
  EXPECT_NEAR(*loss, *loss_ref, kTolerance * std::max(1.0f, std::abs(*loss_ref)));
  EXPECT_LE(RelativeError(grad, grad_ref), kTolerance);
  // The gradient written over the logits: the same.
  Tensor in_place = logits;
  absl::StatusOr<float> replaced =
      ComputeLoss(*backend_, spec, in_place, labels, nullptr, &in_place, nullptr);
  ASSERT_TRUE(replaced.ok()) << replaced.status();
  EXPECT_EQ(*replaced, *loss);
  EXPECT_EQ(in_place, grad);
}

INSTANTIATE_TEST_SUITE_P(OddShapes, LossShapeTest,
                         ::testing::Combine(::testing::Values(1, 3, 257, 256),
                                            ::testing::Values(1, 10, 1000)));

TEST_F(OneDnnBackendTest, LossIsStableForHugeLogits) {
  Tensor logits(2, 3);
  logits << 1e4f, -1e4f, 0.0f, -3e4f, 3e4f, 3e4f;
  const std::vector<int32_t> labels = {1, 2};
  Tensor grad, grad_ref;
  absl::StatusOr<float> loss = backend_->SoftmaxCrossEntropy(logits, labels, &grad, nullptr);
  absl::StatusOr<float> loss_ref =
      reference_->SoftmaxCrossEntropy(logits, labels, &grad_ref, nullptr);
  ASSERT_TRUE(loss.ok()) << loss.status();
  ASSERT_TRUE(std::isfinite(*loss));
  // Row 0 loses by 2e4 (a probability that underflows to 0: the log-softmax
  // keeps it), row 1 ties for the top: log 2.
  EXPECT_NEAR(*loss, *loss_ref, 1e-5 * *loss_ref);
  EXPECT_LE(RelativeError(grad, grad_ref), kTolerance);
}

TEST_F(OneDnnBackendTest, LossRefusesLabelsOutOfRange) {
  const Tensor logits = Tensor::Zero(2, 3);
  const std::vector<int32_t> labels = {0, 3};
  absl::StatusOr<float> loss = backend_->SoftmaxCrossEntropy(logits, labels, nullptr, nullptr);
  ASSERT_FALSE(loss.ok());
  EXPECT_THAT(loss.status().message(), HasSubstr("label 3 of row 1"));
  const std::vector<int32_t> short_labels = {0};
  EXPECT_FALSE(backend_->SoftmaxCrossEntropy(logits, short_labels, nullptr, nullptr).ok());
}

// (queries, keys, width): a similarity search of queries against a memory.
class MatMulShapeTest : public OneDnnBackendTest,
                        public ::testing::WithParamInterface<std::tuple<int, int, int>> {};

TEST_P(MatMulShapeTest, MatchesEigen) {
  const auto [queries, keys, width] = GetParam();
  TestRng rng(static_cast<uint32_t>(queries + keys * 3 + width * 7));
  const Tensor a = rng.Random(queries, width);
  // The keys as a memory holds them: the filled rows of a larger store.
  const Tensor store = rng.Random(keys + 5, width);
  Tensor c, c_ref;
  ASSERT_TRUE(backend_->MatMulTransposed(a, store.topRows(keys), &c).ok());
  ASSERT_TRUE(reference_->MatMulTransposed(a, store.topRows(keys), &c_ref).ok());
  EXPECT_LE(RelativeError(c, c_ref), kTolerance);
}

INSTANTIATE_TEST_SUITE_P(OddShapes, MatMulShapeTest,
                         ::testing::Combine(::testing::Values(1, 3, 257),
                                            ::testing::Values(1, 1000),
                                            ::testing::Values(1, 256, 1000)));

TEST_F(OneDnnBackendTest, MatMulOfEmptyOperandsAndMismatchedWidths) {
  Tensor c;
  ASSERT_TRUE(backend_->MatMulTransposed(Tensor(3, 4), Tensor(0, 4), &c).ok());
  EXPECT_EQ(c.rows(), 3);
  EXPECT_EQ(c.cols(), 0);
  ASSERT_TRUE(backend_->MatMulTransposed(Tensor(2, 0), Tensor(3, 0), &c).ok());
  EXPECT_EQ(c, Tensor::Zero(2, 3));
  absl::Status mismatch = backend_->MatMulTransposed(Tensor(2, 4), Tensor(3, 5), &c);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_THAT(mismatch.message(), HasSubstr("4 columns"));
}

// The int8 product (a memory's int8 scan) against its definition, summed in
// int64: exact, whatever the blocking, odd shapes and a block of a store's
// rows included, at the extremes of the byte ranges too.
TEST_P(MatMulShapeTest, Int8MatchesItsDefinitionExactly) {
  const auto [queries, keys, width] = GetParam();
  TestRng rng(static_cast<uint32_t>(queries * 5 + keys + width * 11));
  ASSERT_TRUE(backend_->has_int8_matmul());
  MatrixU8 a(queries, width);
  MatrixS8 store(keys + 5, width);
  for (Eigen::Index i = 0; i < a.size(); ++i) {
    a.data()[i] = static_cast<uint8_t>(rng.Uniform(0.0f, 255.99f));
  }
  for (Eigen::Index i = 0; i < store.size(); ++i) {
    store.data()[i] = static_cast<int8_t>(rng.Uniform(-127.99f, 127.99f));
  }
  a.row(0).setConstant(255);  // the largest sums either way
  store.row(0).setConstant(-128);
  MatrixS32 c;
  ASSERT_TRUE(backend_->MatMulTransposedInt8(a, store.topRows(keys), &c).ok());
  ASSERT_EQ(c.rows(), queries);
  ASSERT_EQ(c.cols(), keys);
  for (int i = 0; i < queries; ++i) {
    for (int j = 0; j < keys; ++j) {
      int64_t sum = 0;
      for (int l = 0; l < width; ++l) sum += int64_t{a(i, l)} * int64_t{store(j, l)};
      ASSERT_EQ(c(i, j), sum) << i << "," << j;
    }
  }
}

TEST_F(OneDnnBackendTest, Int8MatMulOfEmptyOperandsAndMismatchedWidths) {
  MatrixS32 c;
  ASSERT_TRUE(backend_->MatMulTransposedInt8(MatrixU8(3, 4), MatrixS8(0, 4), &c).ok());
  EXPECT_EQ(c.rows(), 3);
  EXPECT_EQ(c.cols(), 0);
  ASSERT_TRUE(backend_->MatMulTransposedInt8(MatrixU8(2, 0), MatrixS8(3, 0), &c).ok());
  EXPECT_EQ(c, MatrixS32::Zero(2, 3));
  absl::Status mismatch = backend_->MatMulTransposedInt8(MatrixU8(2, 4), MatrixS8(3, 5), &c);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_THAT(mismatch.message(), HasSubstr("4 columns"));
  // The reference backend has none, and says so.
  EXPECT_FALSE(reference_->has_int8_matmul());
  EXPECT_EQ(reference_->MatMulTransposedInt8(MatrixU8(1, 1), MatrixS8(1, 1), &c).code(),
            absl::StatusCode::kUnimplemented);
}

// The thread setting as OpenMP reports it: the backend measures the team a
// parallel region gets after applying it, and the test checks that against
// OpenMP here too.
TEST_F(OneDnnBackendTest, ThreadsAreHonoured) {
  EXPECT_STREQ(backend_->name(), "onednn");
  EXPECT_EQ(backend_->threads(), omp_get_num_procs());  // 0 = one per core
  for (int threads : {1, 2, 3}) {
    std::shared_ptr<const Backend> backend = mnemo::testing::OneDnnBackend(threads);
    ASSERT_NE(backend, nullptr);
    EXPECT_EQ(backend->threads(), threads);
    // The plugin set this thread's OpenMP team size, which oneDNN reads.
    EXPECT_EQ(omp_get_max_threads(), threads);
  }
  absl::StatusOr<std::unique_ptr<Backend>> negative =
      Registries::Global().backends.Create("onednn", BackendArgs{-1});
  EXPECT_FALSE(negative.ok());
}

constexpr char kTrainer[] =
    "trainer { optimizer { type: \"sgd\" learning_rate: 0.1 } batch_size: 8 epochs: 1 }\n";

TEST_F(OneDnnBackendTest, ConfigSelectsTheBackendAndItsThreads) {
  ConfigLoader loader;
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config =
      loader.LoadText(std::string("model {\n"
                                  "  input_size: 6\n"
                                  "  backend: \"onednn\"\n"
                                  "  threads: 1\n"
                                  "  layer { type: \"Dense\" units: 5 activation: \"Tanh\" }\n"
                                  "  layer { type: \"Dropout\" rate: 0.5 }\n"
                                  "  layer { type: \"Dense\" units: 3 activation: \"Sigmoid\" }\n"
                                  "}\n") +
                          kTrainer,
                      "onednn.pbtxt");
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<std::unique_ptr<Network>> network = BuildNetwork(**config, Registries::Global());
  ASSERT_TRUE(network.ok()) << network.status();
  EXPECT_STREQ((*network)->backend().name(), "onednn");
  EXPECT_EQ((*network)->backend().threads(), 1);
  std::vector<std::string> types;
  for (int i = 0; i < (*network)->num_layers(); ++i) types.push_back((*network)->layer(i).type());
  // oneDNN 2.6 has no dropout: the reference layer serves.
  EXPECT_THAT(types, ::testing::ElementsAre("onednn/Dense", "onednn/Tanh", "Dropout",
                                            "onednn/Dense", "onednn/Sigmoid"));
}

TEST_F(OneDnnBackendTest, UnknownBackendListsTheKnownOnes) {
  ConfigLoader loader;
  const std::string text = std::string(
                               "model {\n"
                               "  input_size: 6\n"
                               "  backend: \"mkl\"\n"
                               "  layer { type: \"Dense\" units: 5 }\n"
                               "}\n") +
                           kTrainer;
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = loader.LoadText(text, "bad.pbtxt");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            "bad.pbtxt:3:3: unknown backend \"mkl\" (known: eigen, onednn)");
}

}  // namespace
}  // namespace mnemo
