// Predictor on models of the other tasks: a regression model answers values,
// a one-output sigmoid classifier answers classes with two probabilities,
// and the data's names saved with a model come back with it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/config_loader.h"
#include "core/inference/predictor.h"
#include "core/model_builder.h"
#include "core/model_io.h"
#include "tests/testing/test_files.h"

namespace mnemo {
namespace {

using ::testing::ElementsAre;

// Saves a 2-input model with one Dense layer of `units` outputs, weights
// `weight` (2 x units) and bias `bias`, trained for `loss`, with `names`.
std::string SaveLinear(const std::string& loss, const Tensor& weight, const Tensor& bias,
                       const config::DataNames& names) {
  const std::string text =
      absl::StrCat("model { input_size: 2 layer { type: 'Dense' units: ", weight.cols(),
                   " } loss: ", loss, " }");
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config =
      ConfigLoader(Registries::Global(), ConfigUse::kInference).LoadText(text, "linear.pbtxt");
  EXPECT_TRUE(config.ok()) << config.status();
  absl::StatusOr<std::unique_ptr<Network>> network = BuildNetwork(**config, Registries::Global());
  EXPECT_TRUE(network.ok()) << network.status();
  for (const Parameter& p : (*network)->layer(0).parameters()) {
    *p.value = p.name == "weight" ? weight : bias;
  }
  const std::string path = absl::StrCat(TestDir(), "/", loss, ".safetensors");
  EXPECT_TRUE(SaveModel(path, **network, text, names).ok());
  return path;
}

TEST(PredictorTasksTest, ARegressionModelAnswersValues) {
  config::DataNames names;
  names.add_feature("rooms");
  names.add_feature("age");
  names.add_target("price");
  names.add_target("rent");
  const std::string path =
      SaveLinear("MEAN_SQUARED_ERROR", (Tensor(2, 2) << 2, 0, -1, 3).finished(),
                 (Tensor(1, 2) << 0.5, 1).finished(), names);
  absl::StatusOr<std::unique_ptr<Predictor>> predictor = Predictor::Load("", path);
  ASSERT_TRUE(predictor.ok()) << predictor.status();
  EXPECT_TRUE((*predictor)->regression());
  EXPECT_THAT((*predictor)->names().feature(), ElementsAre("rooms", "age"));
  EXPECT_THAT((*predictor)->names().target(), ElementsAre("price", "rent"));
  absl::StatusOr<const Tensor*> values = (*predictor)->Predict((Tensor(1, 2) << 3, 4).finished());
  ASSERT_TRUE(values.ok()) << values.status();
  // (3, 4) x [[2, 0], [-1, 3]] + (0.5, 1) = (2.5, 13).
  EXPECT_TRUE(**values == (Tensor(1, 2) << 2.5, 13).finished());
  const std::vector<float> one = {3, 4};
  EXPECT_EQ((*predictor)->ClassifyOne(one).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*predictor)->Probabilities().status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(PredictorTasksTest, ASigmoidClassifierAnswersItsLabelsWithTwoProbabilities) {
  config::DataNames names;
  names.add_class_label("benign");
  names.add_class_label("malignant");
  const std::string path = SaveLinear("SIGMOID_CROSS_ENTROPY", (Tensor(2, 1) << 1, -1).finished(),
                                      Tensor::Zero(1, 1), names);
  absl::StatusOr<std::unique_ptr<Predictor>> predictor = Predictor::Load("", path);
  ASSERT_TRUE(predictor.ok()) << predictor.status();
  EXPECT_FALSE((*predictor)->regression());
  absl::StatusOr<Predictions> answers =
      (*predictor)->Classify((Tensor(2, 2) << 3, 1, 0, 2).finished());  // logits 2 and -2
  ASSERT_TRUE(answers.ok()) << answers.status();
  EXPECT_THAT(answers->labels, ElementsAre(1, 0));
  EXPECT_EQ((*predictor)->ClassLabel(answers->labels[0]), "malignant");
  EXPECT_EQ((*predictor)->ClassLabel(answers->labels[1]), "benign");
  absl::StatusOr<const Tensor*> probabilities = (*predictor)->Probabilities();
  ASSERT_TRUE(probabilities.ok());
  const double p = 1 / (1 + std::exp(-2.0));
  EXPECT_NEAR((**probabilities)(0, 1), p, 1e-6);
  EXPECT_NEAR((**probabilities)(0, 0), 1 - p, 1e-6);
  EXPECT_NEAR((**probabilities)(1, 1), 1 - p, 1e-6);
}

TEST(PredictorTasksTest, AModelWithoutNamesAnswersIds) {
  const std::string path =
      SaveLinear("SOFTMAX_CROSS_ENTROPY", (Tensor(2, 3) << 1, 0, 0, 0, 1, 0).finished(),
                 Tensor::Zero(1, 3), config::DataNames());
  absl::StatusOr<std::unique_ptr<Predictor>> predictor = Predictor::Load("", path);
  ASSERT_TRUE(predictor.ok()) << predictor.status();
  EXPECT_EQ((*predictor)->names().feature_size(), 0);
  EXPECT_EQ((*predictor)->ClassLabel(2), "2");
}

TEST(PredictorTasksTest, ANonFiniteWeightIsRefusedNamingTheTensorAndElement) {
  struct Case {
    bool in_bias;
    float value;
    std::string element;
  };
  for (const Case& c : {Case{false, NAN, "weight\", element [1, 0] = nan"},
                        Case{false, -INFINITY, "weight\", element [1, 0] = -inf"},
                        Case{true, INFINITY, "bias\", element [0, 1] = inf"}}) {
    Tensor weight = (Tensor(2, 2) << 1, 2, 3, 4).finished();
    Tensor bias = Tensor::Zero(1, 2);
    (c.in_bias ? bias(0, 1) : weight(1, 0)) = c.value;
    const std::string path = SaveLinear("MEAN_SQUARED_ERROR", weight, bias, config::DataNames());
    absl::StatusOr<std::unique_ptr<Predictor>> predictor = Predictor::Load("", path);
    ASSERT_FALSE(predictor.ok());
    EXPECT_EQ(predictor.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_EQ(std::string(predictor.status().message()),
              absl::StrCat(path, ": layer \"0_dense\" (Dense), parameter \"", c.element,
                           ": a model with a NaN or infinite weight is refused (the network now "
                           "holds it: discard it)"));
  }
}

TEST(PredictorTasksTest, AGivenConfigMustDescribeTheStoredModel) {
  const std::string trained =
      "model { input_size: 2 layer { type: 'Dense' units: 3 activation: 'ReLU' } "
      "layer { type: 'Dense' units: 1 } loss: MEAN_SQUARED_ERROR }";
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config =
      ConfigLoader(Registries::Global(), ConfigUse::kInference).LoadText(trained, "t.pbtxt");
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<std::unique_ptr<Network>> network = BuildNetwork(**config, Registries::Global());
  ASSERT_TRUE(network.ok());
  const std::string model = absl::StrCat(TestDir(), "/model.safetensors");
  ASSERT_TRUE(SaveModel(model, **network, trained).ok());

  struct Case {
    std::string config;      // beside the model
    std::string difference;  // "" = accepted
  };
  for (const Case& c : std::vector<Case>{
           // Another activation: the same tensors, another model.
           {"activation: 'Tanh'",
            "`layer.activation: \"ReLU\"` where the config has "
            "`layer.activation: \"Tanh\"`"},
           // Another loss.
           {"loss: HUBER", "`loss: MEAN_SQUARED_ERROR` where the config has `loss: HUBER`"},
           // Only the threads: the same model.
           {"threads: 1", ""},
       }) {
    std::string text = trained;
    if (absl::StartsWith(c.config, "activation")) {
      text.replace(text.find("activation: 'ReLU'"), 18, c.config);
    } else if (absl::StartsWith(c.config, "loss")) {
      text.replace(text.find("loss: MEAN_SQUARED_ERROR"), 24, c.config);
    } else {
      text.replace(text.find("input_size: 2"), 13, "input_size: 2 " + c.config);
    }
    const std::string path = absl::StrCat(TestDir(), "/given.pbtxt");
    WriteFile(path, text);
    absl::StatusOr<std::unique_ptr<Predictor>> predictor = Predictor::Load(path, model);
    if (c.difference.empty()) {
      EXPECT_TRUE(predictor.ok()) << predictor.status();
      continue;
    }
    ASSERT_FALSE(predictor.ok()) << c.config;
    EXPECT_EQ(std::string(predictor.status().message()),
              absl::StrCat(model,
                           " was trained as another model than the given config describes (only "
                           "model.backend, model.threads and a precision of FP32 or BF16 may "
                           "differ): the file's model has ",
                           c.difference));
  }
}

}  // namespace
}  // namespace mnemo
