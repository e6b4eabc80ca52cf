// The losses of model.loss beside softmax: sigmoid cross-entropy, mean
// squared error and Huber's, each against a direct computation and finite
// differences; ComputeLoss choosing among them; and label smoothing on top of
// the softmax cross-entropy, against PyTorch's and finite differences.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/backend.h"
#include "core/loss.h"
#include "tests/testing/tensors.h"

namespace mnemo {
namespace {

using ::mnemo::testing::TestRng;

// Central differences of `loss` at every element of `x` against `grad`. The
// losses are smooth (Huber's away from its knees) with second derivatives
// of order 1, so h = 1e-2 leaves truncation ~1e-5 and float rounding ~1e-5.
template <typename Loss>
void ExpectGradientMatchesFiniteDifferences(Tensor x, const Tensor& grad, Loss loss,
                                            double tolerance) {
  const float h = 1e-2f;
  for (Eigen::Index k = 0; k < x.size(); ++k) {
    const float saved = x.data()[k];
    x.data()[k] = saved + h;
    const double plus = loss(x);
    const float up = x.data()[k];
    x.data()[k] = saved - h;
    const double minus = loss(x);
    const float down = x.data()[k];
    x.data()[k] = saved;
    EXPECT_NEAR(grad.data()[k], (plus - minus) / (double{up} - double{down}), tolerance)
        << "element " << k;
  }
}

TEST(SigmoidCrossEntropyTest, ValueMatchesTheTextbookFormula) {
  TestRng rng(1);
  const Tensor logits = rng.Random(9, 1, -6.0f, 6.0f);
  const std::vector<int32_t> labels = {0, 1, 1, 0, 1, 0, 0, 1, 1};
  int correct = 0;
  const float loss = SigmoidCrossEntropy::Compute(logits, labels, nullptr, &correct);
  double expected = 0;
  int right = 0;
  for (int r = 0; r < 9; ++r) {
    const double p = 1 / (1 + std::exp(-double{logits(r, 0)}));
    expected -= labels[r] == 1 ? std::log(p) : std::log(1 - p);
    right += (p > 0.5) == (labels[r] == 1);
  }
  EXPECT_NEAR(loss, expected / 9, 1e-6);
  EXPECT_EQ(correct, right);
}

TEST(SigmoidCrossEntropyTest, StaysFiniteAndExactForHugeLogits) {
  const Tensor logits = (Tensor(4, 1) << 1000, -1000, 1000, -1000).finished();
  const std::vector<int32_t> labels = {1, 0, 0, 1};
  Tensor grad;
  const float loss = SigmoidCrossEntropy::Compute(logits, labels, &grad, nullptr);
  // Two right with certainty (0 each) and two wrong by 1000 (1000 each).
  EXPECT_FLOAT_EQ(loss, 500.0f);
  EXPECT_FLOAT_EQ(grad(0, 0), 0.0f);
  EXPECT_FLOAT_EQ(grad(2, 0), 0.25f);   // (1 - 0) / 4
  EXPECT_FLOAT_EQ(grad(3, 0), -0.25f);  // (0 - 1) / 4
}

TEST(SigmoidCrossEntropyTest, GradientMatchesFiniteDifferences) {
  TestRng rng(2);
  const Tensor logits = rng.Random(6, 1, -3.0f, 3.0f);
  const std::vector<int32_t> labels = {1, 0, 0, 1, 1, 0};
  Tensor grad;
  SigmoidCrossEntropy::Compute(logits, labels, &grad, nullptr);
  ExpectGradientMatchesFiniteDifferences(
      logits, grad,
      [&](const Tensor& x) { return SigmoidCrossEntropy::Compute(x, labels, nullptr, nullptr); },
      2e-4);
}

TEST(MeanSquaredErrorTest, ValueAndGradient) {
  TestRng rng(3);
  const Tensor outputs = rng.Random(5, 3, -2.0f, 2.0f);
  const Tensor targets = rng.Random(5, 3, -2.0f, 2.0f);
  Tensor grad;
  const float loss = MeanSquaredError::Compute(outputs, targets, &grad);
  double expected = 0;
  for (Eigen::Index k = 0; k < outputs.size(); ++k) {
    const double d = double{outputs.data()[k]} - targets.data()[k];
    expected += d * d;
  }
  EXPECT_NEAR(loss, expected / 15, 1e-6);
  ExpectGradientMatchesFiniteDifferences(
      outputs, grad,
      [&](const Tensor& x) { return MeanSquaredError::Compute(x, targets, nullptr); }, 2e-4);
}

TEST(HuberLossTest, IsHalfTheSquareInsideDeltaAndLinearOutside) {
  const Tensor outputs = (Tensor(1, 4) << 0.5f, -0.5f, 3.0f, -4.0f).finished();
  const Tensor targets = Tensor::Zero(1, 4);
  Tensor grad;
  const float loss = HuberLoss::Compute(outputs, targets, 1.0f, &grad);
  // 0.125 + 0.125 + (3 - 0.5) + (4 - 0.5), over 4 elements.
  EXPECT_FLOAT_EQ(loss, (0.125f + 0.125f + 2.5f + 3.5f) / 4);
  EXPECT_FLOAT_EQ(grad(0, 0), 0.5f / 4);
  EXPECT_FLOAT_EQ(grad(0, 2), 1.0f / 4);  // clipped at delta
  EXPECT_FLOAT_EQ(grad(0, 3), -1.0f / 4);
  // A wider delta keeps 3 inside: 0.5 * 9.
  EXPECT_FLOAT_EQ(
      HuberLoss::Compute(outputs.rightCols(2).leftCols(1), Tensor::Zero(1, 1), 5.0f, nullptr),
      4.5f);
}

TEST(HuberLossTest, GradientMatchesFiniteDifferencesAwayFromTheKnees) {
  TestRng rng(4);
  Tensor outputs = rng.Random(4, 3, -3.0f, 3.0f);
  const Tensor targets = Tensor::Zero(4, 3);
  // Keep every |d| at least 0.05 from delta, where the second derivative jumps.
  for (Eigen::Index k = 0; k < outputs.size(); ++k) {
    if (std::abs(std::abs(outputs.data()[k]) - 1.0f) < 0.05f) outputs.data()[k] = 0.5f;
  }
  Tensor grad;
  HuberLoss::Compute(outputs, targets, 1.0f, &grad);
  ExpectGradientMatchesFiniteDifferences(
      outputs, grad, [&](const Tensor& x) { return HuberLoss::Compute(x, targets, 1.0f, nullptr); },
      2e-4);
}

TEST(ComputeLossTest, ChoosesTheLossTheSpecNames) {
  std::shared_ptr<const Backend> backend = ReferenceBackend();
  TestRng rng(5);
  const Tensor outputs = rng.Random(4, 1, -2.0f, 2.0f);
  const std::vector<int32_t> labels = {0, 1, 1, 0};
  const Tensor targets = rng.Random(4, 1);
  LossSpec spec;
  spec.kind = config::Model::SIGMOID_CROSS_ENTROPY;
  EXPECT_EQ(*ComputeLoss(*backend, spec, outputs, labels, nullptr, nullptr, nullptr),
            SigmoidCrossEntropy::Compute(outputs, labels, nullptr, nullptr));
  spec.kind = config::Model::MEAN_SQUARED_ERROR;
  EXPECT_EQ(*ComputeLoss(*backend, spec, outputs, {}, &targets, nullptr, nullptr),
            MeanSquaredError::Compute(outputs, targets, nullptr));
  spec.kind = config::Model::HUBER;
  spec.huber_delta = 0.3f;
  EXPECT_EQ(*ComputeLoss(*backend, spec, outputs, {}, &targets, nullptr, nullptr),
            HuberLoss::Compute(outputs, targets, 0.3f, nullptr));
  spec.kind = config::Model::LOSS_UNSPECIFIED;  // softmax
  const Tensor logits = rng.Random(4, 3);
  EXPECT_EQ(*ComputeLoss(*backend, spec, logits, labels, nullptr, nullptr, nullptr),
            SoftmaxCrossEntropy::Compute(logits, labels, nullptr, nullptr));
}

// The logits and labels of the label-smoothing cases, and what PyTorch's
// cross_entropy(label_smoothing=e) gives for them (in double, autograd's
// gradient), e being the float 0.1f and 0.3f.
const Tensor& SmoothingLogits() {
  static const Tensor* const logits = new Tensor((Tensor(3, 4) << 1.0f, -0.5f, 2.0f, 0.25f,  //
                                                  0.0f, 0.3f, -1.2f, 0.7f,                   //
                                                  2.5f, 1.5f, -0.5f, 0.0f)
                                                     .finished());
  return *logits;
}
const std::vector<int32_t> kSmoothingLabels = {2, 0, 1};

TEST(LabelSmoothingTest, LossAndGradientAreTorchs) {
  std::shared_ptr<const Backend> backend = ReferenceBackend();
  struct Case {
    float smoothing;
    double loss;
    std::vector<double> grad;  // row-major
  };
  const Case cases[] = {
      {0.1f,
       1.2096089186207117,
       {0.06718774884939194, 0.00851769745349884, -0.1030457466840744, 0.027340300381183624,
        -0.23687626421451569, 0.088123619556427, 0.013189120218157768, 0.13556352257728577,
        0.21392570436000824, -0.226568803191185, 0.0027322927489876747, 0.00991079956293106}},
      {0.3f,
       1.342108926325854,
       {0.05052108317613602, -0.00814897008240223, -0.05304574593901634, 0.010673632845282555,
        -0.18687626719474792, 0.07145695388317108, -0.0034775470849126577, 0.11889685690402985,
        0.19725903868675232, -0.17656879127025604, -0.013934374786913395, -0.006755867972970009}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.smoothing);
    LossSpec spec;
    spec.label_smoothing = c.smoothing;
    Tensor grad;
    int correct = -1;
    absl::StatusOr<float> loss =
        ComputeLoss(*backend, spec, SmoothingLogits(), kSmoothingLabels, nullptr, &grad, &correct);
    ASSERT_TRUE(loss.ok()) << loss.status();
    EXPECT_NEAR(*loss, c.loss, 1e-6);
    ASSERT_EQ(grad.size(), 12);
    for (int k = 0; k < 12; ++k) EXPECT_NEAR(grad.data()[k], c.grad[k], 1e-7) << k;
    EXPECT_EQ(correct, 1);  // row 0 (label 2) only: smoothing changes no answer
    // By hand: CE + e (mean z[i, y_i] - mean z): the labels' logits
    // 2, 0, 1.5 and all twelve summing to 6.05.
    const double plain =
        SoftmaxCrossEntropy::Compute(SmoothingLogits(), kSmoothingLabels, nullptr, nullptr);
    EXPECT_NEAR(*loss, plain + c.smoothing * (3.5 / 3 - 6.05 / 12), 1e-6);
  }
}

TEST(LabelSmoothingTest, GradientMatchesFiniteDifferences) {
  std::shared_ptr<const Backend> backend = ReferenceBackend();
  TestRng rng(8);
  const Tensor logits = rng.Random(6, 5, -3.0f, 3.0f);
  const std::vector<int32_t> labels = {0, 4, 2, 2, 1, 3};
  LossSpec spec;
  spec.label_smoothing = 0.2f;
  Tensor grad;
  ASSERT_TRUE(ComputeLoss(*backend, spec, logits, labels, nullptr, &grad, nullptr).ok());
  ExpectGradientMatchesFiniteDifferences(
      logits, grad,
      [&](const Tensor& x) {
        return *ComputeLoss(*backend, spec, x, labels, nullptr, nullptr, nullptr);
      },
      1e-4);
}

TEST(LabelSmoothingTest, AGradientWrittenOverTheLogitsIsTheSame) {
  // The backend may write the gradient over the logits; what smoothing
  // needs of them is read first.
  std::shared_ptr<const Backend> backend = ReferenceBackend();
  LossSpec spec;
  spec.label_smoothing = 0.1f;
  Tensor apart;
  const float loss_apart =
      *ComputeLoss(*backend, spec, SmoothingLogits(), kSmoothingLabels, nullptr, &apart, nullptr);
  Tensor in_place = SmoothingLogits();
  const float loss_in_place =
      *ComputeLoss(*backend, spec, in_place, kSmoothingLabels, nullptr, &in_place, nullptr);
  EXPECT_EQ(loss_in_place, loss_apart);
  EXPECT_TRUE(testing::SameBits(in_place, apart));
}

TEST(LabelSmoothingTest, ZeroIsThePlainCrossEntropyBitForBit) {
  std::shared_ptr<const Backend> backend = ReferenceBackend();
  Tensor grad, plain_grad;
  const float loss = *ComputeLoss(*backend, LossSpec{}, SmoothingLogits(), kSmoothingLabels,
                                  nullptr, &grad, nullptr);
  const float plain =
      SoftmaxCrossEntropy::Compute(SmoothingLogits(), kSmoothingLabels, &plain_grad, nullptr);
  EXPECT_EQ(loss, plain);
  EXPECT_TRUE(testing::SameBits(grad, plain_grad));
}

TEST(PredictedClassesTest, OneSigmoidOutputAnswersOneAboveZero) {
  const Tensor logits = (Tensor(3, 1) << -0.1f, 0.0f, 2.0f).finished();
  std::vector<int32_t> out(3);
  PredictedClasses(config::Model::SIGMOID_CROSS_ENTROPY, logits, out.data());
  EXPECT_EQ(out, (std::vector<int32_t>{0, 0, 1}));
}

}  // namespace
}  // namespace mnemo
