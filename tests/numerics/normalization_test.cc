// LayerNorm and BatchNorm: the forward passes against PyTorch's formulas
// computed independently in double, BatchNorm's running statistics against a
// hand computation and PyTorch's update, the modes (training, evaluation,
// frozen), CommitStep's once-per-step contract, rows computed alone bit for
// bit, and the running statistics as buffers: in the network, untouched by
// the optimizer, saved and loaded with the model. (Gradients:
// layer_gradient_test; config errors: tests/config.)
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/config_loader.h"
#include "core/io/safetensors.h"
#include "core/layers/batch_norm.h"
#include "core/layers/layer_norm.h"
#include "core/model_builder.h"
#include "core/model_io.h"
#include "core/network.h"
#include "core/optimizer.h"
#include "tests/testing/tensors.h"

namespace mnemo {
namespace {

using ::mnemo::testing::SameBits;
using ::mnemo::testing::TestRng;

const ForwardContext kTraining{/*training=*/true, /*seed=*/1, /*step=*/0};
const ForwardContext kEvaluation{};

using DoubleTensor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// PyTorch's F.layer_norm, in double: each row by its own mean and biased
// variance.
DoubleTensor LayerNormOf(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps) {
  DoubleTensor y(x.rows(), x.cols());
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    double mean = 0, variance = 0;
    for (Eigen::Index c = 0; c < x.cols(); ++c) mean += x(r, c);
    mean /= x.cols();
    for (Eigen::Index c = 0; c < x.cols(); ++c) variance += (x(r, c) - mean) * (x(r, c) - mean);
    variance /= x.cols();
    for (Eigen::Index c = 0; c < x.cols(); ++c) {
      y(r, c) = (x(r, c) - mean) / std::sqrt(variance + eps) * gamma(0, c) + beta(0, c);
    }
  }
  return y;
}

// Each column's mean and variance over the rows, in double: biased (over n)
// or unbiased (over n - 1).
void ColumnStatistics(const Tensor& x, bool unbiased, std::vector<double>* mean,
                      std::vector<double>* variance) {
  mean->assign(x.cols(), 0);
  variance->assign(x.cols(), 0);
  for (Eigen::Index c = 0; c < x.cols(); ++c) {
    for (Eigen::Index r = 0; r < x.rows(); ++r) (*mean)[c] += x(r, c);
    (*mean)[c] /= x.rows();
    for (Eigen::Index r = 0; r < x.rows(); ++r) {
      (*variance)[c] += (x(r, c) - (*mean)[c]) * (x(r, c) - (*mean)[c]);
    }
    (*variance)[c] /= unbiased ? x.rows() - 1 : x.rows();
  }
}

// PyTorch's F.batch_norm with the given statistics, in double.
DoubleTensor BatchNormOf(const Tensor& x, const std::vector<double>& mean,
                         const std::vector<double>& variance, const Tensor& gamma,
                         const Tensor& beta, double eps) {
  DoubleTensor y(x.rows(), x.cols());
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    for (Eigen::Index c = 0; c < x.cols(); ++c) {
      y(r, c) = (x(r, c) - mean[c]) / std::sqrt(variance[c] + eps) * gamma(0, c) + beta(0, c);
    }
  }
  return y;
}

// Float rounding of a few operations on values of order 1 (normalised
// outputs times gamma in [-2, 2]): a few 1e-7, and 1e-5 is far below any
// mistake (a wrong variance divisor alone moves outputs by percents).
void ExpectClose(const Tensor& actual, const DoubleTensor& expected) {
  ASSERT_EQ(actual.rows(), expected.rows());
  ASSERT_EQ(actual.cols(), expected.cols());
  for (Eigen::Index k = 0; k < actual.size(); ++k) {
    ASSERT_NEAR(actual.data()[k], expected.data()[k], 1e-5 * (1 + std::abs(expected.data()[k])))
        << "element " << k;
  }
}

// Gamma and beta random (they start at 1 and 0).
void RandomizeParameters(Layer& layer, TestRng& rng) {
  for (const Parameter& p : layer.parameters()) {
    *p.value = rng.Random(p.value->rows(), p.value->cols(), -2.0f, 2.0f);
  }
}

Tensor* Buffer(Layer& layer, const std::string& name) {
  for (const Parameter& b : layer.buffers()) {
    if (b.name == name) return b.value;
  }
  ADD_FAILURE() << "no buffer " << name;
  return nullptr;
}

TEST(LayerNormTest, ForwardIsPyTorchsFormulaInEveryMode) {
  TestRng rng(1);
  // Features far from 0 and of a spread unlike 1: mean and variance matter.
  const Tensor x = rng.Random(6, 37, -3.0f, 7.0f);
  for (float eps : {1e-5f, 0.5f}) {
    LayerNorm layer(37, eps);
    RandomizeParameters(layer, rng);
    Tensor training, evaluation;
    layer.Forward(x, kTraining, &training);
    layer.Forward(x, kEvaluation, &evaluation);
    ExpectClose(training, LayerNormOf(x, layer.gamma(), layer.beta(), eps));
    EXPECT_TRUE(SameBits(training, evaluation));
  }
  EXPECT_TRUE(LayerNorm(4, 1e-5f).buffers().empty());
}

TEST(BatchNormTest, TrainingNormalisesByTheBatchsMeanAndBiasedVariance) {
  TestRng rng(2);
  const Tensor x = rng.Random(9, 21, -3.0f, 7.0f);
  BatchNorm layer(21, 1e-3f, 0.1f);
  RandomizeParameters(layer, rng);
  Tensor y;
  layer.Forward(x, kTraining, &y);
  std::vector<double> mean, variance;
  ColumnStatistics(x, /*unbiased=*/false, &mean, &variance);
  ExpectClose(y, BatchNormOf(x, mean, variance, layer.gamma(), layer.beta(), 1e-3));
}

// 3 rows of 2 features whose statistics are round: means (3, 6), biased
// variances (8/3, 32/3), unbiased (4, 16). From running (0, 0) and (1, 1),
// momentum 0.1: mean 0.9 * 0 + 0.1 * (3, 6) = (0.3, 0.6), variance
// 0.9 * 1 + 0.1 * (4, 16) = (1.3, 2.5).
TEST(BatchNormTest, RunningStatisticsAreUpdatedWithTheUnbiasedVarianceByHand) {
  Tensor x(3, 2);
  x << 1, 2, 3, 6, 5, 10;
  BatchNorm layer(2, 1e-5f, 0.1f);
  Tensor y;
  layer.Forward(x, kTraining, &y);
  // Forward alone changes nothing.
  EXPECT_EQ(layer.running_mean(), Tensor::Zero(1, 2));
  EXPECT_EQ(layer.running_var(), Tensor::Ones(1, 2));
  layer.CommitStep();
  EXPECT_FLOAT_EQ(layer.running_mean()(0, 0), 0.3f);
  EXPECT_FLOAT_EQ(layer.running_mean()(0, 1), 0.6f);
  EXPECT_FLOAT_EQ(layer.running_var()(0, 0), 1.3f);
  EXPECT_FLOAT_EQ(layer.running_var()(0, 1), 2.5f);
  // The output used the biased variance: (1 - 3) / sqrt(8/3 + 1e-5).
  EXPECT_FLOAT_EQ(y(0, 0), static_cast<float>(-2 / std::sqrt(8.0 / 3 + 1e-5)));
}

// Several steps of different batches (the last one short), PyTorch's
// update computed in double alongside; evaluation then normalises with the
// running statistics.
TEST(BatchNormTest, RunningStatisticsFollowPyTorchsUpdateAndServeEvaluation) {
  TestRng rng(3);
  const double momentum = 0.3;
  BatchNorm layer(19, 1e-5f, static_cast<float>(momentum));
  RandomizeParameters(layer, rng);
  std::vector<double> running_mean(19, 0.0), running_var(19, 1.0);
  for (int rows : {16, 16, 5}) {
    const Tensor x = rng.Random(rows, 19, -2.0f, 4.0f);
    Tensor y;
    layer.Forward(x, kTraining, &y);
    layer.CommitStep();
    std::vector<double> mean, variance;
    ColumnStatistics(x, /*unbiased=*/true, &mean, &variance);
    for (int c = 0; c < 19; ++c) {
      running_mean[c] = momentum * mean[c] + (1 - momentum) * running_mean[c];
      running_var[c] = momentum * variance[c] + (1 - momentum) * running_var[c];
    }
  }
  for (int c = 0; c < 19; ++c) {
    EXPECT_NEAR(layer.running_mean()(0, c), running_mean[c], 1e-5) << c;
    EXPECT_NEAR(layer.running_var()(0, c), running_var[c], 1e-5 * running_var[c]) << c;
  }
  const Tensor x = rng.Random(7, 19, -2.0f, 4.0f);
  Tensor y;
  layer.Forward(x, kEvaluation, &y);
  std::vector<double> mean(19), variance(19);
  for (int c = 0; c < 19; ++c) {
    mean[c] = layer.running_mean()(0, c);
    variance[c] = layer.running_var()(0, c);
  }
  ExpectClose(y, BatchNormOf(x, mean, variance, layer.gamma(), layer.beta(), 1e-5));
}

// A forward pass run again on the same input (checkpointing recomputes it)
// keeps the same statistics: one step is still one update. CommitStep
// without a training-mode forward pass, or after an evaluation one, changes
// nothing.
TEST(BatchNormTest, EachStepIsCommittedOnceHoweverOftenItsForwardPassRan) {
  TestRng rng(4);
  const Tensor x = rng.Random(8, 11);
  BatchNorm once(11, 1e-5f, 0.5f), thrice(11, 1e-5f, 0.5f);
  Tensor y;
  once.Forward(x, kTraining, &y);
  once.CommitStep();
  for (int i = 0; i < 3; ++i) thrice.Forward(x, kTraining, &y);
  const uint64_t version = thrice.parameter_version();
  thrice.CommitStep();
  EXPECT_NE(thrice.parameter_version(), version);  // the memo's signal that the layer changed
  EXPECT_TRUE(SameBits(once.running_mean(), thrice.running_mean()));
  EXPECT_TRUE(SameBits(once.running_var(), thrice.running_var()));

  const Tensor mean = thrice.running_mean(), var = thrice.running_var();
  thrice.CommitStep();
  thrice.Forward(rng.Random(8, 11), kEvaluation, &y);
  thrice.CommitStep();
  EXPECT_TRUE(SameBits(thrice.running_mean(), mean));
  EXPECT_TRUE(SameBits(thrice.running_var(), var));
}

// Frozen, BatchNorm normalises with its running statistics in training too
// (Keras's rule) and keeps them.
TEST(BatchNormTest, AFrozenLayerUsesAndKeepsItsRunningStatistics) {
  TestRng rng(5);
  BatchNorm layer(13, 1e-5f, 0.1f);
  *Buffer(layer, "running_mean") = rng.Random(1, 13);
  *Buffer(layer, "running_var") = rng.Random(1, 13, 0.5f, 2.0f);
  layer.set_trainable(false);
  EXPECT_FALSE(layer.UsesBatchStatistics(kTraining));
  const Tensor x = rng.Random(6, 13);
  Tensor training, evaluation;
  layer.Forward(x, kTraining, &training);
  layer.Forward(x, kEvaluation, &evaluation);
  EXPECT_TRUE(SameBits(training, evaluation));
  const Tensor mean = layer.running_mean();
  layer.CommitStep();
  EXPECT_TRUE(SameBits(layer.running_mean(), mean));
}

// PyTorch refuses a training batch of one row; here its output is beta
// exactly, its input gradient zero, and the running statistics stay.
TEST(BatchNormTest, ATrainingBatchOfOneRowGivesBetaAndLeavesTheRunningStatistics) {
  TestRng rng(6);
  BatchNorm layer(5, 1e-5f, 0.1f);
  RandomizeParameters(layer, rng);
  const Tensor x = rng.Random(1, 5, -3.0f, 3.0f);
  Tensor y, dx;
  layer.Forward(x, kTraining, &y);
  EXPECT_TRUE(SameBits(y, layer.beta()));
  layer.Backward(x, y, rng.Random(1, 5), kTraining, &dx);
  EXPECT_EQ(dx, Tensor::Zero(1, 5));
  layer.CommitStep();
  EXPECT_EQ(layer.running_mean(), Tensor::Zero(1, 5));
  EXPECT_EQ(layer.running_var(), Tensor::Ones(1, 5));
}

// A row's output is the same bits alone, in another batch and at another
// place in it: what lets the memo store rows. 37 features: not a multiple of
// a vector, so a row's address alignment differs from row to row.
TEST(NormalizationTest, EachRowIsComputedAloneBitForBit) {
  TestRng rng(7);
  LayerNorm layer_norm(37, 1e-5f);
  RandomizeParameters(layer_norm, rng);
  BatchNorm batch_norm(37, 1e-5f, 0.1f);
  RandomizeParameters(batch_norm, rng);
  *Buffer(batch_norm, "running_mean") = rng.Random(1, 37);
  *Buffer(batch_norm, "running_var") = rng.Random(1, 37, 0.5f, 2.0f);
  BatchNorm frozen(37, 1e-5f, 0.1f);
  frozen.set_trainable(false);
  RandomizeParameters(frozen, rng);
  const Tensor x = rng.Random(9, 37, -3.0f, 3.0f);
  const Tensor reversed = x.colwise().reverse();
  struct Case {
    Layer* layer;
    ForwardContext context;
  };
  for (const Case& c :
       {Case{&layer_norm, kTraining}, Case{&batch_norm, kEvaluation}, Case{&frozen, kTraining}}) {
    SCOPED_TRACE(c.layer->type());
    Tensor all, backwards;
    c.layer->Forward(x, c.context, &all);
    c.layer->Forward(reversed, c.context, &backwards);
    for (Eigen::Index r = 0; r < x.rows(); ++r) {
      Tensor alone;
      c.layer->Forward(x.row(r), c.context, &alone);
      EXPECT_TRUE(SameBits(alone, Tensor(all.row(r)))) << "row " << r;
      EXPECT_TRUE(SameBits(alone, Tensor(backwards.row(x.rows() - 1 - r)))) << "row " << r;
    }
  }
}

// The network sees the running statistics as buffers, apart from the
// parameters: no optimizer, no weight decay touches them.
TEST(NormalizationTest, RunningStatisticsAreBuffersNoOptimizerTouches) {
  std::vector<std::unique_ptr<Layer>> layers;
  layers.push_back(std::make_unique<BatchNorm>(4, 1e-5f, 0.1f));
  layers.push_back(std::make_unique<LayerNorm>(4, 1e-5f));
  layers[0]->set_name("bn");
  layers[1]->set_name("ln");
  absl::StatusOr<std::unique_ptr<Network>> network = Network::Create(std::move(layers));
  ASSERT_TRUE(network.ok()) << network.status();
  std::vector<std::string> names;
  for (const ModelParameter& b : (*network)->Buffers()) {
    names.push_back(b.name);
    EXPECT_EQ(b.gradient, nullptr);
    EXPECT_EQ(b.layer, &(*network)->layer(0));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"bn.running_mean", "bn.running_var"}));
  names.clear();
  for (const ModelParameter& p : (*network)->TrainableParameters()) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"bn.gamma", "bn.beta", "ln.gamma", "ln.beta"}));

  // Large decoupled weight decay and a rate of 1: the statistics stay 0 and 1.
  config::Optimizer sgd;
  sgd.set_type("sgd");
  sgd.set_learning_rate(1.0f);
  sgd.set_weight_decay(0.5f);
  absl::StatusOr<std::unique_ptr<Optimizer>> optimizer = CreateOptimizer(sgd);
  ASSERT_TRUE(optimizer.ok()) << optimizer.status();
  TestRng rng(8);
  for (const ModelParameter& p : (*network)->TrainableParameters()) {
    *p.gradient = rng.Random(1, 4);
  }
  (*optimizer)->Step(**network);
  BatchNorm& bn = static_cast<BatchNorm&>((*network)->layer(0));
  EXPECT_EQ(bn.running_mean(), Tensor::Zero(1, 4));
  EXPECT_EQ(bn.running_var(), Tensor::Ones(1, 4));
  EXPECT_NE(bn.gamma(), Tensor::Ones(1, 4));
}

constexpr char kNormModel[] = R"pb(
  model {
    input_size: 5
    layer { type: "Dense" units: 7 }
    layer { type: "BatchNorm" momentum: 0.2 activation: "ReLU" }
    layer { type: "LayerNorm" epsilon: 0.001 }
    layer { type: "Dense" units: 3 }
  }
  trainer {
    optimizer { type: "sgd" learning_rate: 0.1 }
    batch_size: 4
    epochs: 1
  }
)pb";

std::unique_ptr<Network> BuildNormModel() {
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config =
      ConfigLoader(Registries::Global(), ConfigUse::kInference).LoadText(kNormModel, "norm.pbtxt");
  EXPECT_TRUE(config.ok()) << config.status();
  if (!config.ok()) return nullptr;
  absl::StatusOr<std::unique_ptr<Network>> network = BuildNetwork(**config, Registries::Global());
  EXPECT_TRUE(network.ok()) << network.status();
  return network.ok() ? *std::move(network) : nullptr;
}

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

// The model file holds the running statistics as "<layer>.running_mean" and
// "<layer>.running_var"; a loaded model evaluates bit for bit as the saved
// one; a file without one, or with a NaN in one, is refused naming it.
TEST(NormalizationTest, TheModelFileKeepsTheRunningStatistics) {
  std::unique_ptr<Network> saved = BuildNormModel();
  ASSERT_NE(saved, nullptr);
  TestRng rng(9);
  for (const ModelParameter& p : saved->Parameters()) {
    *p.value = rng.Random(p.value->rows(), p.value->cols());
  }
  *saved->Buffers()[0].value = rng.Random(1, 7);
  *saved->Buffers()[1].value = rng.Random(1, 7, 0.5f, 2.0f);
  const std::string path = TempPath("norm_model.safetensors");
  ASSERT_TRUE(SaveModel(path, *saved, "").ok());

  std::unique_ptr<Network> loaded = BuildNormModel();
  ASSERT_NE(loaded, nullptr);
  ASSERT_TRUE(LoadModel(path, *loaded).ok());
  for (int b = 0; b < 2; ++b) {
    EXPECT_TRUE(SameBits(*loaded->Buffers()[b].value, *saved->Buffers()[b].value))
        << saved->Buffers()[b].name;
  }
  const Tensor x = rng.Random(6, 5);
  absl::StatusOr<const Tensor*> expected = saved->Forward(x, kEvaluation);
  ASSERT_TRUE(expected.ok());
  const Tensor want = **expected;
  saved->strategy().EndPass();
  absl::StatusOr<const Tensor*> got = loaded->Forward(x, kEvaluation);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(SameBits(**got, want));
  loaded->strategy().EndPass();

  absl::StatusOr<TensorFile> file = ReadSafetensors(path);
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_EQ(file->tensors.count("1_batchnorm.running_var"), 1u);
  TensorFile missing = *file;
  missing.tensors.erase("1_batchnorm.running_var");
  const std::string missing_path = TempPath("norm_missing.safetensors");
  ASSERT_TRUE(WriteSafetensors(missing_path, missing).ok());
  absl::Status status = LoadModel(missing_path, *loaded);
  EXPECT_NE(status.message().find("tensor \"1_batchnorm.running_var\" is missing"),
            absl::string_view::npos)
      << status;

  TensorFile poisoned = *file;
  poisoned.tensors.at("1_batchnorm.running_var")(0, 3) = std::numeric_limits<float>::quiet_NaN();
  const std::string poisoned_path = TempPath("norm_nan.safetensors");
  ASSERT_TRUE(WriteSafetensors(poisoned_path, poisoned).ok());
  status = LoadModel(poisoned_path, *loaded);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_NE(status.message().find("parameter \"running_var\", element [0, 3] = nan"),
            absl::string_view::npos)
      << status;

  // A quantized tensor where the model needs floats: refused with the other
  // checks, before anything is read (not as a partly loaded model).
  TensorFile quantized = *file;
  const Tensor& var = quantized.tensors.at("1_batchnorm.running_var");
  quantized.narrow_tensors["1_batchnorm.running_var"] =
      NarrowTensor{Dtype::kI8, var.rows(), var.cols(), std::vector<uint8_t>(var.size(), 1)};
  quantized.tensors.erase("1_batchnorm.running_var");
  const std::string quantized_path = TempPath("norm_i8.safetensors");
  ASSERT_TRUE(WriteSafetensors(quantized_path, quantized).ok());
  status = LoadModel(quantized_path, *loaded);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_NE(status.message().find("does not match the model: tensor "
                                  "\"1_batchnorm.running_var\" is I8 but the model holds it "
                                  "as F32 (or BF16)"),
            absl::string_view::npos)
      << status;
}

}  // namespace
}  // namespace mnemo
