// The oneDNN layers against core's Eigen reference layers: forward, input
// gradient and parameter gradients agree within 1e-5 (relative, Frobenius)
// on odd shapes; primitives are made once per shape and reused; packed
// weights follow parameter updates; nothing falls back to Eigen.
#include "core/layer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/config.pb.h"
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

class OneDnnLayerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { mnemo::testing::LoadOneDnnPlugin(); }

  void SetUp() override {
    backend_ = mnemo::testing::OneDnnBackend();
    ASSERT_NE(backend_, nullptr);
    fallbacks_ = Counter(*backend_, "fallbacks");
    ASSERT_GE(fallbacks_, 0);
  }

  // Every pass of every test must have run on oneDNN: a fallback to the
  // Eigen reference would make the comparisons trivially pass.
  void TearDown() override {
    if (backend_ != nullptr) {
      EXPECT_EQ(Counter(*backend_, "fallbacks"), fallbacks_);
    }
  }

  // A layer of `type` as the model builder makes it for this backend; the
  // reference type with the same arguments starts with the same weights.
  std::unique_ptr<Layer> Make(const std::string& type, int input_size, int units,
                              uint64_t seed = 3) {
    config::Layer config;
    config.set_type(type);
    config.set_name("probe");
    config.set_units(units);
    config::Init init;
    init.set_scheme(config::Init::HE_NORMAL);
    absl::StatusOr<std::unique_ptr<Layer>> layer = Registries::Global().layers.Create(
        type, LayerArgs{config, input_size, init, seed, backend_.get()});
    EXPECT_TRUE(layer.ok()) << type << ": " << layer.status();
    return layer.ok() ? *std::move(layer) : nullptr;
  }

  std::shared_ptr<const Backend> backend_;
  double fallbacks_ = 0;
};

// Sets every parameter of both layers to the same random values (biases
// too, which start at zero) and marks them updated.
void SetSameParameters(Layer& a, Layer& b, TestRng& rng) {
  std::vector<Parameter> pa = a.parameters(), pb = b.parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    *pa[i].value = rng.Random(pa[i].value->rows(), pa[i].value->cols());
    *pb[i].value = *pa[i].value;
    // Gradients accumulate: start them away from zero to check that the
    // layer adds rather than overwrites.
    *pa[i].gradient = rng.Random(pa[i].gradient->rows(), pa[i].gradient->cols());
    *pb[i].gradient = *pa[i].gradient;
  }
  a.MarkParametersUpdated();
  b.MarkParametersUpdated();
}

// (rows, fan_in, units): the odd batch sizes 1, 3 and 257 with 1 and 1000
// features, and the seed MLP's 784 -> 256 -> 10.
class DenseShapeTest : public OneDnnLayerTest,
                       public ::testing::WithParamInterface<std::tuple<int, int, int>> {};

TEST_P(DenseShapeTest, ForwardAndBackwardMatchEigen) {
  const auto [rows, fan_in, units] = GetParam();
  std::unique_ptr<Layer> ours = Make("onednn/Dense", fan_in, units);
  std::unique_ptr<Layer> reference = Make("Dense", fan_in, units);
  ASSERT_NE(ours, nullptr);
  ASSERT_NE(reference, nullptr);
  EXPECT_STREQ(ours->type(), "onednn/Dense");
  // The same initialisation from the same seed: models move across backends.
  ASSERT_EQ(*ours->parameters()[0].value, *reference->parameters()[0].value);

  TestRng rng(static_cast<uint32_t>(rows * 7919 + fan_in * 31 + units));
  SetSameParameters(*ours, *reference, rng);
  const Tensor input = rng.Random(rows, fan_in);
  Tensor y, y_ref;
  ours->Forward(input, ForwardContext{}, &y);
  reference->Forward(input, ForwardContext{}, &y_ref);
  EXPECT_LE(RelativeError(y, y_ref), kTolerance);

  const Tensor grad_output = rng.Random(rows, units);
  Tensor grad_input, grad_input_ref;
  ours->Backward(input, y, grad_output, ForwardContext{}, &grad_input);
  reference->Backward(input, y_ref, grad_output, ForwardContext{}, &grad_input_ref);
  EXPECT_LE(RelativeError(grad_input, grad_input_ref), kTolerance);
  const std::vector<Parameter> p = ours->parameters(), p_ref = reference->parameters();
  for (size_t i = 0; i < p.size(); ++i) {
    EXPECT_LE(RelativeError(*p[i].gradient, *p_ref[i].gradient), kTolerance) << p[i].name;
  }

  // Without an input gradient (a first layer), the parameter gradients still
  // accumulate.
  ours->Backward(input, y, grad_output, ForwardContext{}, nullptr);
  reference->Backward(input, y_ref, grad_output, ForwardContext{}, nullptr);
  for (size_t i = 0; i < p.size(); ++i) {
    EXPECT_LE(RelativeError(*p[i].gradient, *p_ref[i].gradient), kTolerance) << p[i].name;
  }
}

INSTANTIATE_TEST_SUITE_P(OddShapes, DenseShapeTest,
                         ::testing::Combine(::testing::Values(1, 3, 257),
                                            ::testing::Values(1, 1000),
                                            ::testing::Values(1, 1000)));
INSTANTIATE_TEST_SUITE_P(SeedMlp, DenseShapeTest,
                         ::testing::Values(std::make_tuple(1, 784, 256),
                                           std::make_tuple(257, 784, 256),
                                           std::make_tuple(256, 784, 256),
                                           std::make_tuple(3, 256, 10),
                                           std::make_tuple(256, 256, 10)));

// (type, rows, columns).
class ActivationShapeTest
    : public OneDnnLayerTest,
      public ::testing::WithParamInterface<std::tuple<std::string, int, int>> {};

TEST_P(ActivationShapeTest, ForwardAndBackwardMatchEigen) {
  const auto [type, rows, cols] = GetParam();
  std::unique_ptr<Layer> ours = Make("onednn/" + type, cols, 0);
  std::unique_ptr<Layer> reference = Make(type, cols, 0);
  ASSERT_NE(ours, nullptr);
  ASSERT_NE(reference, nullptr);
  EXPECT_EQ(ours->type(), "onednn/" + type);

  TestRng rng(static_cast<uint32_t>(rows * 131 + cols));
  // Wide enough to reach the saturated ends of sigmoid and tanh.
  Tensor input = rng.Random(rows, cols, -8.0f, 8.0f);
  input(0, 0) = 0.0f;  // ReLU's kink: its derivative there is taken as 0
  Tensor y, y_ref;
  ours->Forward(input, ForwardContext{}, &y);
  reference->Forward(input, ForwardContext{}, &y_ref);
  EXPECT_LE(RelativeError(y, y_ref), kTolerance);

  const Tensor grad_output = rng.Random(rows, cols);
  Tensor grad_input, grad_input_ref;
  ours->Backward(input, y, grad_output, ForwardContext{}, &grad_input);
  reference->Backward(input, y_ref, grad_output, ForwardContext{}, &grad_input_ref);
  EXPECT_LE(RelativeError(grad_input, grad_input_ref), kTolerance);
}

INSTANTIATE_TEST_SUITE_P(OddShapes, ActivationShapeTest,
                         ::testing::Combine(::testing::Values("ReLU", "Sigmoid", "Tanh"),
                                            ::testing::Values(1, 3, 257),
                                            ::testing::Values(1, 1000, 256)));

// The normalisations in their three modes: training (BatchNorm on the
// batch's statistics), evaluation (on the running ones) and frozen
// (BatchNorm on the running ones in training too).
enum class NormMode { kTraining, kEvaluation, kFrozen };

std::string ModeName(NormMode mode) {
  switch (mode) {
    case NormMode::kTraining:
      return "training";
    case NormMode::kEvaluation:
      return "evaluation";
    case NormMode::kFrozen:
      return "frozen";
  }
  return "";
}

// (type, rows, features, mode).
class NormShapeTest
    : public OneDnnLayerTest,
      public ::testing::WithParamInterface<std::tuple<std::string, int, int, NormMode>> {};

// Forward, input gradient and parameter gradients (added to random ones,
// then again without an input gradient) against core's layer, gamma and beta
// random, the running statistics random and equal; then a step's CommitStep,
// which must move the running statistics alike (with the batch's: training)
// or leave them (the other modes).
TEST_P(NormShapeTest, ForwardBackwardAndTheStepMatchEigen) {
  const auto [type, rows, cols, mode] = GetParam();
  std::unique_ptr<Layer> ours = Make("onednn/" + type, cols, 0);
  std::unique_ptr<Layer> reference = Make(type, cols, 0);
  ASSERT_NE(ours, nullptr);
  ASSERT_NE(reference, nullptr);
  EXPECT_EQ(ours->type(), "onednn/" + type);
  TestRng rng(static_cast<uint32_t>(rows * 131 + cols + static_cast<int>(mode)));
  SetSameParameters(*ours, *reference, rng);
  const std::vector<Parameter> b = ours->buffers(), b_ref = reference->buffers();
  ASSERT_EQ(b.size(), b_ref.size());
  for (size_t i = 0; i < b.size(); ++i) {
    *b[i].value = b[i].name == "running_var" ? rng.Random(1, cols, 0.5f, 2.0f)
                                             : rng.Random(1, cols, -1.0f, 1.0f);
    *b_ref[i].value = *b[i].value;
  }
  if (mode == NormMode::kFrozen) {
    ours->set_trainable(false);
    reference->set_trainable(false);
  }
  const ForwardContext context{mode != NormMode::kEvaluation, /*seed=*/1, /*step=*/0};
  // Features off 0 and of a spread unlike 1: the statistics matter.
  const Tensor input = rng.Random(rows, cols, -3.0f, 5.0f);
  Tensor y, y_ref;
  ours->Forward(input, context, &y);
  reference->Forward(input, context, &y_ref);
  EXPECT_LE(RelativeError(y, y_ref), kTolerance);

  const Tensor grad_output = rng.Random(rows, cols);
  Tensor grad_input, grad_input_ref;
  ours->Backward(input, y, grad_output, context, &grad_input);
  reference->Backward(input, y_ref, grad_output, context, &grad_input_ref);
  EXPECT_LE(RelativeError(grad_input, grad_input_ref), kTolerance);
  const std::vector<Parameter> p = ours->parameters(), p_ref = reference->parameters();
  ASSERT_EQ(p.size(), 2u);
  for (size_t i = 0; i < p.size(); ++i) {
    EXPECT_LE(RelativeError(*p[i].gradient, *p_ref[i].gradient), kTolerance) << p[i].name;
  }
  ours->Backward(input, y, grad_output, context, nullptr);
  reference->Backward(input, y_ref, grad_output, context, nullptr);
  for (size_t i = 0; i < p.size(); ++i) {
    EXPECT_LE(RelativeError(*p[i].gradient, *p_ref[i].gradient), kTolerance) << p[i].name;
  }

  std::vector<Tensor> before;
  for (const Parameter& buffer : b) before.push_back(*buffer.value);
  const uint64_t version = ours->parameter_version();
  ours->CommitStep();
  reference->CommitStep();
  const bool moves = type == "BatchNorm" && mode == NormMode::kTraining && rows > 1;
  EXPECT_EQ(ours->parameter_version() != version, moves);
  for (size_t i = 0; i < b.size(); ++i) {
    EXPECT_LE(RelativeError(*b[i].value, *b_ref[i].value), kTolerance) << b[i].name;
    EXPECT_EQ(*b[i].value != before[i], moves) << b[i].name;
  }
}

std::vector<std::tuple<std::string, int, int, NormMode>> NormShapes() {
  std::vector<std::tuple<std::string, int, int, NormMode>> shapes;
  for (const char* type : {"LayerNorm", "BatchNorm"}) {
    for (NormMode mode : {NormMode::kTraining, NormMode::kEvaluation, NormMode::kFrozen}) {
      if (std::string(type) == "LayerNorm" && mode == NormMode::kFrozen) continue;  // no modes
      for (int rows : {1, 3, 257}) {
        for (int cols : {1, 37, 1000}) shapes.emplace_back(type, rows, cols, mode);
      }
      shapes.emplace_back(type, 256, 1024, mode);  // the Fashion-MNIST recipe's width
    }
  }
  return shapes;
}

INSTANTIATE_TEST_SUITE_P(Shapes, NormShapeTest, ::testing::ValuesIn(NormShapes()),
                         [](const ::testing::TestParamInfo<NormShapeTest::ParamType>& info) {
                           return std::get<0>(info.param) + "_" +
                                  std::to_string(std::get<1>(info.param)) + "x" +
                                  std::to_string(std::get<2>(info.param)) + "_" +
                                  ModeName(std::get<3>(info.param));
                         });

// A step of each shape makes its primitives once: repeated, nothing new.
TEST_F(OneDnnLayerTest, NormPrimitivesAreMadeOncePerShapeAndMode) {
  std::unique_ptr<Layer> layer_norm = Make("onednn/LayerNorm", 30, 0);
  std::unique_ptr<Layer> batch_norm = Make("onednn/BatchNorm", 30, 0);
  ASSERT_NE(layer_norm, nullptr);
  ASSERT_NE(batch_norm, nullptr);
  TestRng rng(10);
  const Tensor x = rng.Random(64, 30);
  Tensor h, y, grad_h, grad_x;
  auto step = [&] {
    for (bool training : {true, false}) {
      const ForwardContext context{training, 1, 0};
      layer_norm->Forward(x, context, &h);
      batch_norm->Forward(h, context, &y);
      batch_norm->Backward(h, y, y, context, &grad_h);
      layer_norm->Backward(x, h, grad_h, context, &grad_x);
    }
    batch_norm->CommitStep();
  };
  step();
  const double created = Counter(*backend_, "primitives_created");
  step();
  step();
  EXPECT_EQ(Counter(*backend_, "primitives_created"), created);
}

TEST_F(OneDnnLayerTest, SigmoidKeepsTinyOutputsPrecise) {
  std::unique_ptr<Layer> ours = Make("onednn/Sigmoid", 4, 0);
  ASSERT_NE(ours, nullptr);
  Tensor input(1, 4);
  input << -20.0f, -10.0f, 10.0f, 20.0f;
  Tensor output;
  ours->Forward(input, ForwardContext{}, &output);
  // 1 / (1 + e^20) = 2.06e-9: a sigmoid computed as 1 - (something near 1)
  // would give 0 or a value off by orders of magnitude.
  EXPECT_NEAR(output(0, 0) / 2.0611536e-9f, 1.0f, 1e-5f);
  EXPECT_NEAR(output(0, 1) / 4.5397868e-5f, 1.0f, 1e-5f);
  EXPECT_NEAR(output(0, 3), 1.0f, 1e-7f);
}

TEST_F(OneDnnLayerTest, PrimitivesAreMadeOncePerShapeAndReused) {
  std::unique_ptr<Layer> dense = Make("onednn/Dense", 40, 30);
  std::unique_ptr<Layer> relu = Make("onednn/ReLU", 30, 0);
  ASSERT_NE(dense, nullptr);
  ASSERT_NE(relu, nullptr);
  TestRng rng(5);
  const Tensor a = rng.Random(64, 40), b = rng.Random(65, 40);
  Tensor h, y, grad_h, grad_x;
  auto step = [&](const Tensor& x) {
    dense->Forward(x, ForwardContext{}, &h);
    relu->Forward(h, ForwardContext{}, &y);
    relu->Backward(h, y, y, ForwardContext{}, &grad_h);
    dense->Backward(x, h, grad_h, ForwardContext{}, &grad_x);
  };
  step(a);
  const double after_first = Counter(*backend_, "primitives_created");
  step(a);
  EXPECT_EQ(Counter(*backend_, "primitives_created"), after_first);
  step(b);  // a new batch size: new primitives
  const double after_second = Counter(*backend_, "primitives_created");
  EXPECT_GT(after_second, after_first);
  step(a);  // both shapes stay cached: nothing new
  step(b);
  EXPECT_EQ(Counter(*backend_, "primitives_created"), after_second);
}

TEST_F(OneDnnLayerTest, SteadyStateReusesBuffers) {
  std::unique_ptr<Layer> dense = Make("onednn/Dense", 784, 256);
  ASSERT_NE(dense, nullptr);
  TestRng rng(6);
  const Tensor x = rng.Random(256, 784), grad_y = rng.Random(256, 256);
  Tensor y, grad_x;
  for (int i = 0; i < 2; ++i) {
    dense->Forward(x, ForwardContext{}, &y);
    dense->Backward(x, y, grad_y, ForwardContext{}, &grad_x);
  }
  const float* y_storage = y.data();
  const float* grad_storage = grad_x.data();
  const double growths = Counter(*backend_, "scratchpad_growths");
  const double created = Counter(*backend_, "primitives_created");
  for (int i = 0; i < 3; ++i) {
    dense->Forward(x, ForwardContext{}, &y);
    dense->Backward(x, y, grad_y, ForwardContext{}, &grad_x);
  }
  EXPECT_EQ(y.data(), y_storage);
  EXPECT_EQ(grad_x.data(), grad_storage);
  EXPECT_EQ(Counter(*backend_, "scratchpad_growths"), growths);
  EXPECT_EQ(Counter(*backend_, "primitives_created"), created);
}

// For a few rows the forward pass reads a copy of the weights in another
// layout (packed for oneDNN's matmul; transposed for few outputs): the copy
// must follow every parameter update, and only those.
TEST_F(OneDnnLayerTest, WeightCopiesFollowParameterUpdates) {
  for (const auto& [rows, fan_in, units] :
       {std::make_tuple(2, 784, 256), std::make_tuple(16, 100, 30), std::make_tuple(1, 256, 10)}) {
    std::unique_ptr<Layer> ours = Make("onednn/Dense", fan_in, units);
    std::unique_ptr<Layer> reference = Make("Dense", fan_in, units);
    ASSERT_NE(ours, nullptr);
    ASSERT_NE(reference, nullptr);
    TestRng rng(7);
    const Tensor x = rng.Random(rows, fan_in);
    Tensor y, y_ref;
    for (int round = 0; round < 3; ++round) {
      SetSameParameters(*ours, *reference, rng);
      const double packs = Counter(*backend_, "weight_packs");
      ours->Forward(x, ForwardContext{}, &y);
      ours->Forward(x, ForwardContext{}, &y);  // same version: no second copy
      reference->Forward(x, ForwardContext{}, &y_ref);
      EXPECT_LE(RelativeError(y, y_ref), kTolerance)
          << fan_in << "x" << units << " round " << round;
      EXPECT_EQ(Counter(*backend_, "weight_packs"), packs + 1) << fan_in << "x" << units;
    }
  }
}

// At batch 1 a wide layer reads its weights where they are (row_gemv.h):
// no primitive, no copy, and the same values. Built without AVX-512 there is
// no row GEMV: batch 1 runs on oneDNN's matmul, with the same values.
TEST_F(OneDnnLayerTest, BatchOneReadsTheWeightsInPlace) {
  std::unique_ptr<Layer> ours = Make("onednn/Dense", 784, 256);
  std::unique_ptr<Layer> reference = Make("Dense", 784, 256);
  ASSERT_NE(ours, nullptr);
  ASSERT_NE(reference, nullptr);
  TestRng rng(9);
  SetSameParameters(*ours, *reference, rng);
  const Tensor x = rng.Random(1, 784);
  Tensor y, y_ref;
  const double created = Counter(*backend_, "primitives_created");
  const double packs = Counter(*backend_, "weight_packs");
  ours->Forward(x, ForwardContext{}, &y);
  reference->Forward(x, ForwardContext{}, &y_ref);
  EXPECT_LE(RelativeError(y, y_ref), kTolerance);
#ifdef __AVX512F__
  EXPECT_EQ(Counter(*backend_, "primitives_created"), created);
  EXPECT_EQ(Counter(*backend_, "weight_packs"), packs);
#else
  EXPECT_GT(Counter(*backend_, "primitives_created") + Counter(*backend_, "weight_packs"),
            created + packs);
#endif
}

TEST_F(OneDnnLayerTest, EmptyBatchGivesEmptyOutputsAndAddsNothing) {
  std::unique_ptr<Layer> dense = Make("onednn/Dense", 5, 4);
  std::unique_ptr<Layer> tanh_layer = Make("onednn/Tanh", 4, 0);
  ASSERT_NE(dense, nullptr);
  ASSERT_NE(tanh_layer, nullptr);
  const Tensor empty(0, 5);
  Tensor h, y, grad_h, grad_x;
  dense->Forward(empty, ForwardContext{}, &h);
  tanh_layer->Forward(h, ForwardContext{}, &y);
  EXPECT_EQ(y.rows(), 0);
  EXPECT_EQ(y.cols(), 4);
  const Tensor weight_gradient = *dense->parameters()[0].gradient;
  tanh_layer->Backward(h, y, y, ForwardContext{}, &grad_h);
  dense->Backward(empty, h, grad_h, ForwardContext{}, &grad_x);
  EXPECT_EQ(grad_x.rows(), 0);
  EXPECT_EQ(grad_x.cols(), 5);
  EXPECT_EQ(*dense->parameters()[0].gradient, weight_gradient);
}

TEST_F(OneDnnLayerTest, FactoriesCheckSizesAsCoreDoes) {
  config::Layer config;
  config.set_type("onednn/Dense");
  config.set_name("probe");
  absl::StatusOr<std::unique_ptr<Layer>> dense = Registries::Global().layers.Create(
      "onednn/Dense", LayerArgs{config, 4, config::Init{}, 1, backend_.get()});
  ASSERT_FALSE(dense.ok());
  EXPECT_THAT(dense.status().message(), HasSubstr("units > 0"));

  config.set_type("onednn/ReLU");
  config.set_units(7);
  absl::StatusOr<std::unique_ptr<Layer>> relu = Registries::Global().layers.Create(
      "onednn/ReLU", LayerArgs{config, 6, config::Init{}, 1, backend_.get()});
  ASSERT_FALSE(relu.ok());
  EXPECT_THAT(relu.status().message(), HasSubstr("got 7"));
}

// A layer made on its own (no backend in its arguments) computes as well.
TEST_F(OneDnnLayerTest, LayerWithoutBackendUsesOneThreadPerCore) {
  config::Layer config;
  config.set_type("onednn/Dense");
  config.set_name("alone");
  config.set_units(3);
  config::Init init;
  absl::StatusOr<std::unique_ptr<Layer>> ours =
      Registries::Global().layers.Create("onednn/Dense", LayerArgs{config, 5, init, 9});
  absl::StatusOr<std::unique_ptr<Layer>> reference =
      Registries::Global().layers.Create("Dense", LayerArgs{config, 5, init, 9});
  ASSERT_TRUE(ours.ok()) << ours.status();
  ASSERT_TRUE(reference.ok()) << reference.status();
  TestRng rng(8);
  const Tensor x = rng.Random(2, 5);
  Tensor y, y_ref;
  (*ours)->Forward(x, ForwardContext{}, &y);
  (*reference)->Forward(x, ForwardContext{}, &y_ref);
  EXPECT_LE(RelativeError(y, y_ref), kTolerance);
}

}  // namespace
}  // namespace mnemo
