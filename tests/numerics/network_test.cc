// Network: forward and backward equal the hand-composed layers, gradients
// accumulate, shapes are checked, and keep_all accounts for its memory.
#include "core/network.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/cache_strategy.h"
#include "core/config.pb.h"
#include "core/layers/activations.h"
#include "core/layers/dense.h"
#include "core/registry.h"
#include "tests/testing/tensors.h"

namespace mnemo {
namespace {

using ::mnemo::testing::TestRng;
using ::testing::AllOf;
using ::testing::HasSubstr;

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

constexpr int kBatch = 6;

enum class Activation { kReLU, kTanh };

// Dense(5 -> 4) "d0", ReLU or Tanh "r1", Dense(4 -> 3) "d2", with random
// parameters.
struct ThreeLayers {
  std::vector<std::unique_ptr<Layer>> layers;
  Dense* d0;
  Dense* d2;
  Activation activation;
};

ThreeLayers MakeThreeLayers(uint32_t seed, Activation activation = Activation::kReLU) {
  TestRng rng(seed);
  ThreeLayers t;
  t.activation = activation;
  auto d0 = std::make_unique<Dense>(5, 4);
  std::unique_ptr<Layer> r1;
  if (activation == Activation::kReLU) {
    r1 = std::make_unique<ReLU>(4);
  } else {
    r1 = std::make_unique<Tanh>(4);
  }
  auto d2 = std::make_unique<Dense>(4, 3);
  d0->set_name("d0");
  r1->set_name("r1");
  d2->set_name("d2");
  for (Dense* d : {d0.get(), d2.get()}) {
    d->weight() = rng.Random(d->input_size(), d->output_size());
    d->bias() = rng.Random(1, d->output_size());
  }
  t.d0 = d0.get();
  t.d2 = d2.get();
  t.layers.push_back(std::move(d0));
  t.layers.push_back(std::move(r1));
  t.layers.push_back(std::move(d2));
  return t;
}

// The same network composed by hand in double.
struct Reference {
  Matrix z0, h, y;                  // forward
  Matrix grad_w0, grad_b0, grad_w2, grad_b2;  // backward
};

Reference Compose(const ThreeLayers& t, const Tensor& input, const Tensor& grad_output) {
  const Dense& d0 = *t.d0;
  const Dense& d2 = *t.d2;
  const bool relu = t.activation == Activation::kReLU;
  const Matrix w0 = d0.weight().cast<double>();
  const Matrix b0 = d0.bias().cast<double>();
  const Matrix w2 = d2.weight().cast<double>();
  const Matrix b2 = d2.bias().cast<double>();
  const Matrix x = input.cast<double>();
  const Matrix g = grad_output.cast<double>();
  Reference r;
  r.z0 = (x * w0).rowwise() + b0.row(0);
  r.h = relu ? Matrix(r.z0.cwiseMax(0.0)) : Matrix(r.z0.array().tanh().matrix());
  r.y = (r.h * w2).rowwise() + b2.row(0);
  r.grad_w2 = r.h.transpose() * g;
  r.grad_b2 = g.colwise().sum();
  const Matrix grad_h = g * w2.transpose();
  const Matrix grad_z0 =
      relu ? Matrix((r.z0.array() > 0).select(grad_h, 0.0))
           : Matrix(grad_h.array() * (1 - r.h.array().square()));
  r.grad_w0 = x.transpose() * grad_z0;
  r.grad_b0 = grad_z0.colwise().sum();
  return r;
}

void ExpectClose(const Tensor& actual, const Matrix& expected, const char* what) {
  ASSERT_EQ(actual.rows(), expected.rows()) << what;
  ASSERT_EQ(actual.cols(), expected.cols()) << what;
  EXPECT_LT((actual.cast<double>() - expected).cwiseAbs().maxCoeff(), 1e-5) << what;
}

std::unique_ptr<Network> Build(std::vector<std::unique_ptr<Layer>> layers,
                               std::unique_ptr<CacheStrategy> strategy = nullptr) {
  absl::StatusOr<std::unique_ptr<Network>> network =
      Network::Create(std::move(layers), std::move(strategy));
  EXPECT_TRUE(network.ok()) << network.status();
  return network.ok() ? std::move(*network) : nullptr;
}

TEST(NetworkTest, ForwardAndBackwardEqualHandComposition) {
  ThreeLayers t = MakeThreeLayers(1);
  Dense* d0 = t.d0;
  Dense* d2 = t.d2;
  std::unique_ptr<Network> network = Build(std::move(t.layers));
  ASSERT_NE(network, nullptr);
  EXPECT_EQ(network->input_size(), 5);
  EXPECT_EQ(network->output_size(), 3);
  EXPECT_EQ(network->num_layers(), 3);

  TestRng rng(2);
  const Tensor input = rng.Random(kBatch, 5);
  const Tensor grad_output = rng.Random(kBatch, 3);
  const Reference expected = Compose(t, input, grad_output);

  absl::StatusOr<const Tensor*> output = network->Forward(input, ForwardContext{});
  ASSERT_TRUE(output.ok()) << output.status();
  ExpectClose(**output, expected.y, "output");

  ASSERT_TRUE(network->Backward(grad_output, ForwardContext{}).ok());
  ExpectClose(d0->weight_gradient(), expected.grad_w0, "d0.weight");
  ExpectClose(d0->bias_gradient(), expected.grad_b0, "d0.bias");
  ExpectClose(d2->weight_gradient(), expected.grad_w2, "d2.weight");
  ExpectClose(d2->bias_gradient(), expected.grad_b2, "d2.bias");
  // ReLU must have masked something, or the test would not check it.
  EXPECT_TRUE((expected.z0.array() < 0).any());
}

TEST(NetworkTest, GradientsAccumulateUntilZeroed) {
  ThreeLayers t = MakeThreeLayers(3);
  Dense* d0 = t.d0;
  Dense* d2 = t.d2;
  std::unique_ptr<Network> network = Build(std::move(t.layers));
  TestRng rng(4);
  const Tensor input = rng.Random(kBatch, 5);
  const Tensor grad_output = rng.Random(kBatch, 3);
  const Reference once = Compose(t, input, grad_output);

  for (int pass = 0; pass < 2; ++pass) {
    ASSERT_TRUE(network->Forward(input, ForwardContext{}).ok());
    ASSERT_TRUE(network->Backward(grad_output, ForwardContext{}).ok());
  }
  ExpectClose(d0->weight_gradient(), 2 * once.grad_w0, "d0.weight");
  ExpectClose(d0->bias_gradient(), 2 * once.grad_b0, "d0.bias");
  ExpectClose(d2->weight_gradient(), 2 * once.grad_w2, "d2.weight");
  ExpectClose(d2->bias_gradient(), 2 * once.grad_b2, "d2.bias");

  network->ZeroGradients();
  EXPECT_TRUE(d0->weight_gradient().isZero(0.0f));
  EXPECT_TRUE(d2->bias_gradient().isZero(0.0f));
}

// A frozen layer's gradient is read by no optimizer: ZeroGradients leaves it
// (zeroing a large frozen backbone every step would cost a pass over it).
TEST(NetworkTest, ZeroGradientsZeroesTrainableLayersOnly) {
  ThreeLayers t = MakeThreeLayers(5);
  Dense* d0 = t.d0;
  Dense* d2 = t.d2;
  d0->set_trainable(false);
  std::unique_ptr<Network> network = Build(std::move(t.layers));
  for (Dense* dense : {d0, d2}) {
    for (const Parameter& p : dense->parameters()) p.gradient->setOnes();
  }
  network->ZeroGradients();
  EXPECT_TRUE((d0->weight_gradient().array() == 1.0f).all());
  EXPECT_TRUE(d2->weight_gradient().isZero(0.0f));
}

TEST(NetworkTest, RefusesLayersThatDoNotChain) {
  std::vector<std::unique_ptr<Layer>> layers;
  layers.push_back(std::make_unique<Dense>(5, 4));
  layers.push_back(std::make_unique<ReLU>(3));
  layers[0]->set_name("in");
  layers[1]->set_name("act");
  absl::StatusOr<std::unique_ptr<Network>> network = Network::Create(std::move(layers));
  ASSERT_FALSE(network.ok());
  EXPECT_EQ(network.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(network.status().message(),
              AllOf(HasSubstr("layer 0"), HasSubstr("\"in\""), HasSubstr("outputs 4"),
                    HasSubstr("layer 1"), HasSubstr("\"act\""), HasSubstr("takes 3")));
}

TEST(NetworkTest, RefusesNoLayers) {
  EXPECT_FALSE(Network::Create({}).ok());
}

TEST(NetworkTest, ChecksInputAndGradientShapes) {
  std::unique_ptr<Network> network = Build(MakeThreeLayers(5).layers);
  absl::StatusOr<const Tensor*> output =
      network->Forward(Tensor::Zero(kBatch, 6), ForwardContext{});
  ASSERT_FALSE(output.ok());
  EXPECT_THAT(output.status().message(), AllOf(HasSubstr("5"), HasSubstr("got 6")));

  ASSERT_TRUE(network->Forward(Tensor::Zero(kBatch, 5), ForwardContext{}).ok());
  absl::Status status = network->Backward(Tensor::Zero(kBatch, 4), ForwardContext{});
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), AllOf(HasSubstr("6x4"), HasSubstr("6x3")));
}

TEST(NetworkTest, BackwardNeedsAForward) {
  std::unique_ptr<Network> network = Build(MakeThreeLayers(6).layers);
  EXPECT_FALSE(network->Backward(Tensor::Zero(kBatch, 3), ForwardContext{}).ok());
  const Tensor input = Tensor::Zero(kBatch, 5);
  ASSERT_TRUE(network->Forward(input, ForwardContext{}).ok());
  ASSERT_TRUE(network->Backward(Tensor::Zero(kBatch, 3), ForwardContext{}).ok());
  // One Forward, one Backward: the pass is over.
  EXPECT_FALSE(network->Backward(Tensor::Zero(kBatch, 3), ForwardContext{}).ok());
}

TEST(NetworkTest, TrainableParametersSkipFrozenLayers) {
  ThreeLayers t = MakeThreeLayers(7);
  t.d0->set_trainable(false);
  Dense* d2 = t.d2;
  std::unique_ptr<Network> network = Build(std::move(t.layers));
  const std::vector<ModelParameter> parameters = network->TrainableParameters();
  ASSERT_EQ(parameters.size(), 2u);
  EXPECT_EQ(parameters[0].name, d2->name() + ".weight");
  EXPECT_EQ(parameters[0].value, &d2->weight());
  EXPECT_EQ(parameters[0].layer, d2);
  EXPECT_EQ(parameters[1].name, d2->name() + ".bias");
  EXPECT_EQ(parameters[1].value, &d2->bias());
  // Every parameter, the frozen layer's first, for snapshots.
  EXPECT_EQ(network->Parameters().size(), 4u);
  EXPECT_EQ(network->Parameters()[0].value, &t.d0->weight());
}

TEST(KeepAllTest, StatsCountEveryActivationIncludingTheInput) {
  std::unique_ptr<Network> network = Build(MakeThreeLayers(8).layers);
  const Tensor input = Tensor::Ones(kBatch, 5);
  absl::StatusOr<const Tensor*> output = network->Forward(input, ForwardContext{});
  ASSERT_TRUE(output.ok());
  // Activations 0..3 are 5, 4, 4 and 3 wide.
  const size_t all = kBatch * (5 + 4 + 4 + 3) * sizeof(float);
  CacheStats stats = network->strategy().stats();
  EXPECT_EQ(stats.bytes_held, all);
  EXPECT_EQ(stats.peak_bytes_held, all);
  EXPECT_EQ(stats.recomputed_forwards, 0u);

  ASSERT_TRUE(network->Backward(Tensor::Ones(kBatch, 3), ForwardContext{}).ok());
  stats = network->strategy().stats();
  // The caller's input is let go; keep_all's own tensors stay for reuse.
  EXPECT_EQ(stats.bytes_held, all - kBatch * 5 * sizeof(float));
  EXPECT_EQ(stats.peak_bytes_held, all);

  // A smaller batch: less held, the peak remembered.
  const Tensor small = Tensor::Ones(2, 5);
  ASSERT_TRUE(network->Forward(small, ForwardContext{}).ok());
  stats = network->strategy().stats();
  EXPECT_EQ(stats.bytes_held, 2 * (5 + 4 + 4 + 3) * sizeof(float));
  EXPECT_EQ(stats.peak_bytes_held, all);
}

TEST(KeepAllTest, ReusesActivationStorageAcrossSteps) {
  std::unique_ptr<Network> network = Build(MakeThreeLayers(9).layers);
  const Tensor input = Tensor::Ones(kBatch, 5);
  absl::StatusOr<const Tensor*> first = network->Forward(input, ForwardContext{});
  ASSERT_TRUE(first.ok());
  const float* storage = (*first)->data();
  ASSERT_TRUE(network->Backward(Tensor::Ones(kBatch, 3), ForwardContext{}).ok());
  absl::StatusOr<const Tensor*> second = network->Forward(input, ForwardContext{});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, *first);
  EXPECT_EQ((*second)->data(), storage);
}

TEST(KeepAllTest, IsRegistered) {
  config::CacheStrategy config;
  absl::StatusOr<std::unique_ptr<CacheStrategy>> strategy =
      Registries::Global().cache_strategies.Create("keep_all", CacheStrategyArgs{config});
  ASSERT_TRUE(strategy.ok()) << strategy.status();
  std::unique_ptr<Network> network = Build(MakeThreeLayers(10).layers, std::move(*strategy));
  ASSERT_NE(network, nullptr);
  const Tensor input = Tensor::Ones(kBatch, 5);
  ASSERT_TRUE(network->Forward(input, ForwardContext{}).ok());
  EXPECT_EQ(network->strategy().stats().bytes_held, kBatch * 16 * sizeof(float));
}

// A strategy that keeps nothing: each Activation(i) recomputes from the input
// into one of two tensors in turn, so each result overwrites the one before
// the previous, as the contract (the two latest stay valid) allows.
class RecomputeIntoTwoTensors : public CacheStrategy {
 public:
  absl::StatusOr<const Tensor*> Forward(const Tensor& input,
                                        const ForwardContext& context) override {
    input_ = &input;
    context_ = context;
    return Activation(static_cast<int>(layers().size()));
  }
  absl::StatusOr<const Tensor*> Activation(int i) override {
    if (input_ == nullptr) return absl::FailedPreconditionError("no pass");
    lowest_requested_ = std::min(lowest_requested_, i);
    Tensor& result = results_[calls_++ % 2];
    result = *input_;
    for (int k = 0; k < i; ++k) {
      layers()[k]->Forward(result, context_, &scratch_);
      result.swap(scratch_);
      ++recomputed_;
    }
    return &result;
  }
  void EndPass() override { input_ = nullptr; }
  int lowest_requested() const { return lowest_requested_; }
  CacheStats stats() const override {
    CacheStats stats;
    stats.recomputed_forwards = recomputed_;
    return stats;
  }

 private:
  const Tensor* input_ = nullptr;
  ForwardContext context_;
  Tensor results_[2], scratch_;
  uint64_t calls_ = 0;
  uint64_t recomputed_ = 0;
  int lowest_requested_ = 1 << 30;
};

// Tanh in the middle: its backward reads its output, which a network that
// asked for activations out of order would find overwritten. (ReLU's mask
// would not tell.)
TEST(NetworkTest, CorrectWithStrategiesWhoseResultsDoNotStayValid) {
  ThreeLayers t = MakeThreeLayers(11, Activation::kTanh);
  Dense* d0 = t.d0;
  Dense* d2 = t.d2;
  std::unique_ptr<Network> network =
      Build(std::move(t.layers), std::make_unique<RecomputeIntoTwoTensors>());
  ASSERT_NE(network, nullptr);
  TestRng rng(12);
  const Tensor input = rng.Random(kBatch, 5);
  const Tensor grad_output = rng.Random(kBatch, 3);
  const Reference expected = Compose(t, input, grad_output);

  absl::StatusOr<const Tensor*> output = network->Forward(input, ForwardContext{});
  ASSERT_TRUE(output.ok());
  ExpectClose(**output, expected.y, "output");
  ASSERT_TRUE(network->Backward(grad_output, ForwardContext{}).ok());
  EXPECT_GT(network->strategy().stats().recomputed_forwards, 0u);
  ExpectClose(d0->weight_gradient(), expected.grad_w0, "d0.weight");
  ExpectClose(d0->bias_gradient(), expected.grad_b0, "d0.bias");
  ExpectClose(d2->weight_gradient(), expected.grad_w2, "d2.weight");
  ExpectClose(d2->bias_gradient(), expected.grad_b2, "d2.bias");
}

// A frozen first layer needs no gradient: the network neither runs its
// backward nor asks the strategy for the activations below it.
TEST(NetworkTest, StopsAtTheLowestTrainableLayer) {
  ThreeLayers t = MakeThreeLayers(13, Activation::kTanh);
  Dense* d0 = t.d0;
  Dense* d2 = t.d2;
  d0->set_trainable(false);
  auto strategy = std::make_unique<RecomputeIntoTwoTensors>();
  RecomputeIntoTwoTensors* raw = strategy.get();
  std::unique_ptr<Network> network = Build(std::move(t.layers), std::move(strategy));
  ASSERT_NE(network, nullptr);
  TestRng rng(14);
  const Tensor input = rng.Random(kBatch, 5);
  const Tensor grad_output = rng.Random(kBatch, 3);
  const Reference expected = Compose(t, input, grad_output);
  network->ZeroGradients();
  ASSERT_TRUE(network->Forward(input, ForwardContext{}).ok());
  ASSERT_TRUE(network->Backward(grad_output, ForwardContext{}).ok());
  EXPECT_EQ(raw->lowest_requested(), 1);
  EXPECT_TRUE(d0->weight_gradient().isZero(0));
  ExpectClose(d2->weight_gradient(), expected.grad_w2, "d2.weight");
}

// Backward with grad_input gives dLoss/dInput (what a backbone under a head
// needs): the hand composition's, and finite differences of sum(y * g) agree;
// with every layer frozen it still runs all the way down.
TEST(NetworkTest, BackwardWritesTheInputGradientWhenAsked) {
  ThreeLayers t = MakeThreeLayers(21, Activation::kTanh);
  const ThreeLayers* layers = &t;
  const Matrix w0 = t.d0->weight().cast<double>();
  t.d0->set_trainable(false);
  t.d2->set_trainable(false);
  TestRng rng(22);
  const Tensor input = rng.Random(kBatch, 5);
  const Tensor grad_output = rng.Random(kBatch, 3);
  const Reference expected = Compose(*layers, input, grad_output);
  const Matrix grad_z0 =
      (expected.h.array().square() * -1 + 1).matrix().cwiseProduct(
          grad_output.cast<double>() * t.d2->weight().cast<double>().transpose());
  const Matrix expected_grad_input = grad_z0 * w0.transpose();
  std::unique_ptr<Network> network = Build(std::move(t.layers));
  ASSERT_NE(network, nullptr);

  ASSERT_TRUE(network->Forward(input, ForwardContext{}).ok());
  Tensor grad_input;
  ASSERT_TRUE(network->Backward(grad_output, ForwardContext{}, &grad_input).ok());
  ExpectClose(grad_input, expected_grad_input, "grad_input");

  // Finite differences of L(x) = sum(network(x) .* grad_output), in double
  // through the reference composition.
  constexpr double kStep = 1e-3;
  Matrix numeric(kBatch, 5);
  for (int r = 0; r < kBatch; ++r) {
    for (int c = 0; c < 5; ++c) {
      Tensor up = input, down = input;
      up(r, c) += static_cast<float>(kStep);
      down(r, c) -= static_cast<float>(kStep);
      const double step = static_cast<double>(up(r, c)) - down(r, c);
      const Matrix g = grad_output.cast<double>();
      numeric(r, c) = ((Compose(*layers, up, grad_output).y.cwiseProduct(g)).sum() -
                       (Compose(*layers, down, grad_output).y.cwiseProduct(g)).sum()) /
                      step;
    }
  }
  EXPECT_LT((grad_input.cast<double>() - numeric).cwiseAbs().maxCoeff(), 1e-3);
}

}  // namespace
}  // namespace mnemo
