// Every built-in layer's backward pass against central finite differences of
// its forward pass; the normalisations in training and in evaluation mode.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/config.pb.h"
#include "core/layer.h"
#include "core/registry.h"
#include "core/tensor.h"
#include "tests/testing/tensors.h"

namespace mnemo {
namespace {

using ::mnemo::testing::TestRng;

// The scalar the gradients are of: L = sum(output .* R) for a fixed random R,
// so dL/dOutput = R and every output element takes part with its own weight.
// Accumulated in double so the sum adds no rounding of its own.
double Loss(Layer& layer, const Tensor& input, const Tensor& r, const ForwardContext& context) {
  Tensor output;
  layer.Forward(input, context, &output);
  return (output.cast<double>().array() * r.cast<double>().array()).sum();
}

// dL/d(*x)(k) by central differences. The step is taken in float, so the
// denominator is the step actually made, not `h`.
double FiniteDifference(Layer& layer, const Tensor& input, const Tensor& r,
                        const ForwardContext& context, Tensor* x, Eigen::Index k, float h) {
  const float saved = x->data()[k];
  x->data()[k] = saved + h;
  const double plus_at = x->data()[k];
  const double plus = Loss(layer, input, r, context);
  x->data()[k] = saved - h;
  const double minus_at = x->data()[k];
  const double minus = Loss(layer, input, r, context);
  x->data()[k] = saved;
  return (plus - minus) / (plus_at - minus_at);
}

// Tolerance, for inputs, weights and R in [-1, 1]: float rounding of the
// outputs is ~1e-7 relative, summed over the few hundred outputs one element
// moves and divided by 2h, it stays below 1e-4; the truncation error of the
// smooth layers (Sigmoid, Tanh) is h^2/6 |f'''| <= 4e-5 at h = 1e-2, and zero
// for the piecewise-linear ones. 1e-3 absolute plus 1e-3 relative is ten
// times that, yet far below any real error (a wrong sign, a missing factor
// or a transposed matrix moves a gradient by O(1)).
void ExpectNear(double analytic, double numeric, const std::string& what) {
  EXPECT_NEAR(analytic, numeric, 1e-3 + 1e-3 * std::abs(numeric)) << what;
}

struct Shape {
  int batch;
  int input;
  int units;  // Dense only; activations keep `input`
};

std::unique_ptr<Layer> MakeLayer(const std::string& type, int input_size, int units,
                                 float epsilon = 0) {
  config::Layer config;
  config.set_type(type);
  config.set_name("under_test");
  config.set_units(units);
  config.set_epsilon(epsilon);
  config::Init init;
  init.set_scheme(config::Init::XAVIER_UNIFORM);
  absl::StatusOr<std::unique_ptr<Layer>> layer = Registries::Global().layers.Create(
      type, LayerArgs{config, input_size, init, /*seed=*/7});
  EXPECT_TRUE(layer.ok()) << layer.status();
  return layer.ok() ? std::move(*layer) : nullptr;
}

// Checks dL/dInput and every dL/dParameter of `layer` on a random batch, in
// the mode `context` says. `kink_margin` > 0 keeps inputs that far from 0,
// where ReLU has its kink.
void CheckGradients(Layer& layer, int batch, float h, float kink_margin, uint32_t seed,
                    const ForwardContext& context = ForwardContext{}) {
  TestRng rng(seed);
  Tensor input = rng.Random(batch, layer.input_size());
  for (Eigen::Index k = 0; k < input.size(); ++k) {
    float& v = input.data()[k];
    if (std::abs(v) < kink_margin) v = v < 0 ? -kink_margin : kink_margin;
  }
  const Tensor r = rng.Random(batch, layer.output_size());
  // Non-zero parameters everywhere (the bias starts at zero).
  for (const Parameter& p : layer.parameters()) *p.value = rng.Random(p.value->rows(), p.value->cols());

  Tensor output;
  layer.Forward(input, context, &output);
  for (const Parameter& p : layer.parameters()) p.gradient->setZero();
  Tensor grad_input;
  layer.Backward(input, output, r, context, &grad_input);
  ASSERT_EQ(grad_input.rows(), input.rows());
  ASSERT_EQ(grad_input.cols(), input.cols());

  Tensor perturbed = input;
  for (Eigen::Index k = 0; k < input.size(); ++k) {
    ExpectNear(grad_input.data()[k],
               FiniteDifference(layer, perturbed, r, context, &perturbed, k, h),
               "d/dinput[" + std::to_string(k) + "]");
  }
  for (const Parameter& p : layer.parameters()) {
    for (Eigen::Index k = 0; k < p.value->size(); ++k) {
      ExpectNear(p.gradient->data()[k], FiniteDifference(layer, input, r, context, p.value, k, h),
                 "d/d" + p.name + "[" + std::to_string(k) + "]");
    }
  }
}

class DenseGradientTest : public ::testing::TestWithParam<Shape> {};

TEST_P(DenseGradientTest, MatchesFiniteDifferences) {
  const Shape s = GetParam();
  std::unique_ptr<Layer> layer = MakeLayer("Dense", s.input, s.units);
  ASSERT_NE(layer, nullptr);
  // Dense is linear in each of its inputs: a large step has no truncation
  // error and divides the rounding error of the outputs down.
  CheckGradients(*layer, s.batch, /*h=*/0.25f, /*kink_margin=*/0.0f, /*seed=*/1);
}

INSTANTIATE_TEST_SUITE_P(Shapes, DenseGradientTest,
                         ::testing::Values(Shape{1, 1, 1}, Shape{3, 5, 4}, Shape{7, 257, 3},
                                           Shape{2, 3, 257}, Shape{16, 17, 18}));

struct ActivationCase {
  const char* type;
  Shape shape;
};

class ActivationGradientTest : public ::testing::TestWithParam<ActivationCase> {};

TEST_P(ActivationGradientTest, MatchesFiniteDifferences) {
  const ActivationCase c = GetParam();
  std::unique_ptr<Layer> layer = MakeLayer(c.type, c.shape.input, /*units=*/0);
  ASSERT_NE(layer, nullptr);
  EXPECT_EQ(layer->output_size(), c.shape.input);
  EXPECT_TRUE(layer->parameters().empty());
  // h = 1e-2 and inputs at least 0.05 from ReLU's kink: no difference
  // straddles it.
  CheckGradients(*layer, c.shape.batch, /*h=*/1e-2f, /*kink_margin=*/0.05f, /*seed=*/2);
}

std::vector<ActivationCase> AllActivations() {
  std::vector<ActivationCase> cases;
  for (const char* type : {"ReLU", "Sigmoid", "Tanh"}) {
    for (const Shape& s : {Shape{1, 1, 0}, Shape{3, 5, 0}, Shape{7, 257, 0}}) {
      cases.push_back({type, s});
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(
    Layers, ActivationGradientTest, ::testing::ValuesIn(AllActivations()),
    [](const ::testing::TestParamInfo<ActivationCase>& info) {
      return std::string(info.param.type) + "_" + std::to_string(info.param.shape.batch) +
             "x" + std::to_string(info.param.shape.input);
    });

// The normalisations: (type, training mode, batch, features).
struct NormCase {
  const char* type;
  bool training;
  Shape shape;
};

class NormGradientTest : public ::testing::TestWithParam<NormCase> {};

// LayerNorm over each row, BatchNorm over the batch (training: the full
// gradient through the batch's mean and variance) or with its running
// statistics (evaluation), gamma and beta random. A step of 1e-2 on inputs
// in [-1, 1]: the normalisations are smooth, their third derivatives of
// order 1 / std^3, so the truncation error stays near 1e-4; a larger epsilon
// than PyTorch's (1e-2) keeps a feature whose few values happen to be close
// from making them large. One row (BatchNorm's training output is beta),
// one feature (LayerNorm's) and widths past a block of 16 are among them.
TEST_P(NormGradientTest, MatchesFiniteDifferences) {
  const NormCase c = GetParam();
  std::unique_ptr<Layer> layer = MakeLayer(c.type, c.shape.input, /*units=*/0, /*epsilon=*/1e-2f);
  ASSERT_NE(layer, nullptr);
  EXPECT_EQ(layer->output_size(), c.shape.input);
  // Running statistics away from their start (0 and 1), the variance > 0.
  TestRng rng(5);
  for (const Parameter& b : layer->buffers()) {
    *b.value = b.name == "running_var" ? rng.Random(1, c.shape.input, 0.2f, 2.0f)
                                       : rng.Random(1, c.shape.input);
  }
  CheckGradients(*layer, c.shape.batch, /*h=*/1e-2f, /*kink_margin=*/0.0f, /*seed=*/4,
                 ForwardContext{c.training, /*seed=*/1, /*step=*/0});
}

std::vector<NormCase> AllNorms() {
  std::vector<NormCase> cases;
  for (const char* type : {"LayerNorm", "BatchNorm"}) {
    for (bool training : {true, false}) {
      for (const Shape& s : {Shape{1, 1, 0}, Shape{1, 5, 0}, Shape{3, 5, 0}, Shape{8, 3, 0},
                             Shape{5, 37, 0}, Shape{7, 257, 0}}) {
        cases.push_back({type, training, s});
      }
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Layers, NormGradientTest, ::testing::ValuesIn(AllNorms()),
                         [](const ::testing::TestParamInfo<NormCase>& info) {
                           return std::string(info.param.type) +
                                  (info.param.training ? "_training_" : "_eval_") +
                                  std::to_string(info.param.shape.batch) + "x" +
                                  std::to_string(info.param.shape.input);
                         });

// Parameter gradients are added to, as the layer contract says; and a null
// grad_input (the first layer) still yields them.
TEST(DenseGradientTest, AccumulatesAndAllowsNullInputGradient) {
  std::unique_ptr<Layer> layer = MakeLayer("Dense", 6, 4);
  ASSERT_NE(layer, nullptr);
  TestRng rng(3);
  const Tensor input = rng.Random(5, 6);
  const Tensor r = rng.Random(5, 4);
  Tensor output;
  layer->Forward(input, ForwardContext{}, &output);

  Tensor grad_input;
  layer->Backward(input, output, r, ForwardContext{}, &grad_input);
  std::vector<Tensor> once;
  for (const Parameter& p : layer->parameters()) once.push_back(*p.gradient);

  layer->Backward(input, output, r, ForwardContext{}, /*grad_input=*/nullptr);
  const std::vector<Parameter> params = layer->parameters();
  ASSERT_EQ(params.size(), 2u);
  for (size_t i = 0; i < params.size(); ++i) {
    EXPECT_TRUE(params[i].gradient->isApprox(2 * once[i], 1e-6f)) << params[i].name;
    EXPECT_GT(once[i].norm(), 0.0f) << params[i].name;
  }
}

}  // namespace
}  // namespace mnemo
