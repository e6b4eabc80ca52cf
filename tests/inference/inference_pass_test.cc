// InferencePass (core/inference): the network's forward pass with at most two
// buffers per width.
#include "core/inference/inference_pass.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/config_loader.h"
#include "core/model_builder.h"
#include "core/network.h"
#include "gtest/gtest.h"
#include "tests/testing/tensors.h"

namespace mnemo {
namespace {

using ::mnemo::testing::TestRng;

std::unique_ptr<Network> Build(const std::string& model) {
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config =
      ConfigLoader(Registries::Global(), ConfigUse::kInference)
          .LoadText(absl::StrCat("model { ", model, " }"), "test.pbtxt");
  EXPECT_TRUE(config.ok()) << config.status();
  if (!config.ok()) return nullptr;
  absl::StatusOr<std::unique_ptr<Network>> network = BuildNetwork(**config, Registries::Global());
  EXPECT_TRUE(network.ok()) << network.status();
  return network.ok() ? *std::move(network) : nullptr;
}

std::vector<Layer*> LayersOf(Network& network) {
  std::vector<Layer*> layers;
  for (int i = 0; i < network.num_layers(); ++i) layers.push_back(&network.layer(i));
  return layers;
}

// The network's own forward pass (keep_all), copied out.
Tensor NetworkOutput(Network& network, const Tensor& input, const ForwardContext& context) {
  absl::StatusOr<const Tensor*> output = network.Forward(input, context);
  EXPECT_TRUE(output.ok()) << output.status();
  Tensor copy = **output;
  network.strategy().EndPass();
  return copy;
}

TEST(InferencePassTest, ADeepNetworkNeedsTwoBuffersOfItsWidthAndOneForTheOutput) {
  std::string model = "input_size: 10 init { scheme: HE_NORMAL } ";
  for (int i = 0; i < 6; ++i) model += "layer { type: \"Dense\" units: 8 activation: \"ReLU\" } ";
  model += "layer { type: \"Dense\" units: 3 }";
  std::unique_ptr<Network> network = Build(model);
  ASSERT_NE(network, nullptr);
  ASSERT_EQ(network->num_layers(), 13);

  InferencePass pass(LayersOf(*network));
  EXPECT_EQ(pass.num_buffers(), 3);
  TestRng rng(1);
  const ForwardContext context;
  for (int rows : {1, 7, 64}) {
    const Tensor input = rng.Random(rows, 10);
    const Tensor expected = NetworkOutput(*network, input, context);
    const Tensor& output = pass.Run(input, context);
    EXPECT_TRUE(output == expected) << rows << " rows";
  }
}

TEST(InferencePassTest, WidthsThatChangeKeepABufferEach) {
  // Outputs 16, 16, 16, 16, 5, 5: two buffers of 16 in turn, two of 5.
  std::unique_ptr<Network> network = Build(
      "input_size: 12 "
      "layer { type: \"Dense\" units: 16 activation: \"ReLU\" } "
      "layer { type: \"Dense\" units: 16 activation: \"Tanh\" } "
      "layer { type: \"Dense\" units: 5 activation: \"Sigmoid\" }");
  ASSERT_NE(network, nullptr);
  InferencePass pass(LayersOf(*network));
  EXPECT_EQ(pass.num_buffers(), 4);
  TestRng rng(2);
  const Tensor input = rng.Random(9, 12);
  const ForwardContext context;
  const Tensor expected = NetworkOutput(*network, input, context);
  EXPECT_TRUE(pass.Run(input, context) == expected);
  // Again, from buffers that now hold the previous pass.
  EXPECT_TRUE(pass.Run(input, context) == expected);
}

// A network built for inference (its config loaded with ConfigUse::kInference,
// as a Predictor loads it) allocates no gradients, each as large as its
// weights; one built for training has them, zero, of the weights' shapes.
// Both start from the same weights and answer alike.
TEST(InferenceNetworkTest, HasEmptyGradientsWhereATrainingNetworkHasZeroOnes) {
  const std::string model =
      "input_size: 10 "
      "layer { type: \"Dense\" units: 8 activation: \"ReLU\" } "
      "layer { type: \"Dropout\" rate: 0.5 } "
      "layer { type: \"Dense\" units: 3 }";
  std::unique_ptr<Network> inference = Build(model);
  ASSERT_NE(inference, nullptr);
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = ConfigLoader().LoadText(
      absl::StrCat("model { ", model,
                   " } trainer { optimizer { type: \"sgd\" learning_rate: 0.1 } batch_size: 4 "
                   "epochs: 1 }"),
      "train.pbtxt");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ((*config)->use(), ConfigUse::kTraining);
  absl::StatusOr<std::unique_ptr<Network>> training = BuildNetwork(**config, Registries::Global());
  ASSERT_TRUE(training.ok()) << training.status();
  ASSERT_EQ(inference->num_layers(), (*training)->num_layers());

  int parameters = 0;
  for (int i = 0; i < inference->num_layers(); ++i) {
    std::vector<Parameter> a = inference->layer(i).parameters();
    std::vector<Parameter> b = (*training)->layer(i).parameters();
    ASSERT_EQ(a.size(), b.size());
    for (size_t p = 0; p < a.size(); ++p) {
      SCOPED_TRACE(absl::StrCat(inference->layer(i).name(), ".", a[p].name));
      ++parameters;
      EXPECT_GT(a[p].value->size(), 0);
      EXPECT_EQ(a[p].gradient->rows(), 0);
      EXPECT_EQ(a[p].gradient->cols(), 0);
      EXPECT_TRUE(*a[p].value == *b[p].value);  // same seed, same initialisation
      EXPECT_EQ(b[p].gradient->rows(), b[p].value->rows());
      EXPECT_EQ(b[p].gradient->cols(), b[p].value->cols());
      EXPECT_TRUE(b[p].gradient->isZero(0));
    }
  }
  EXPECT_EQ(parameters, 4);  // two Dense layers' weight and bias

  inference->ZeroGradients();  // nothing to zero, and harmless
  TestRng rng(3);
  const Tensor input = rng.Random(6, 10);
  const ForwardContext context;
  EXPECT_TRUE(NetworkOutput(*inference, input, context) ==
              NetworkOutput(**training, input, context));
}

}  // namespace
}  // namespace mnemo
