// Predictor (core/inference): loads what tools/train saves and answers as the
// network itself does; refuses bad samples and bad files with clear messages.
#include "core/inference/predictor.h"

#include <cmath>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/loss.h"
#include "core/tensor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/inference/saved_models.h"
#include "tests/testing/tensors.h"
#include "tests/testing/test_files.h"

namespace mnemo {
namespace {

using ::mnemo::testing::SavedModel;
using ::mnemo::testing::SaveRandomModel;
using ::mnemo::testing::TestRng;
using ::testing::AllOf;
using ::testing::HasSubstr;

// Only a model: an inference config needs no data or trainer. Dropout is on
// in training only, so the predictor must pass its input through.
constexpr char kConfig[] = R"pb(
  model {
    input_size: 12
    layer { type: "Dense" units: 16 activation: "ReLU" }
    layer { type: "Dropout" rate: 0.5 }
    layer { type: "Dense" units: 5 }
  }
)pb";

// The same but for the first layer's width.
constexpr char kNarrowerConfig[] = R"pb(
  model {
    input_size: 12
    layer { type: "Dense" units: 8 activation: "ReLU" }
    layer { type: "Dropout" rate: 0.5 }
    layer { type: "Dense" units: 5 }
  }
)pb";

class PredictorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_ = SaveRandomModel(kConfig, "model", 11);
    ASSERT_NE(saved_.network, nullptr);
    absl::StatusOr<std::unique_ptr<Predictor>> predictor =
        Predictor::Load(saved_.config_path, saved_.model_path);
    ASSERT_TRUE(predictor.ok()) << predictor.status();
    predictor_ = *std::move(predictor);
  }

  // The network's own answer: its forward pass (training off) and arg-max.
  Tensor NetworkLogits(const Tensor& samples) {
    ForwardContext context;
    context.training = false;
    absl::StatusOr<const Tensor*> logits = saved_.network->Forward(samples, context);
    EXPECT_TRUE(logits.ok()) << logits.status();
    Tensor copy = **logits;
    saved_.network->strategy().EndPass();
    return copy;
  }

  SavedModel saved_;
  std::unique_ptr<Predictor> predictor_;
  TestRng rng_{5};
};

std::vector<int32_t> ArgMax(const Tensor& logits) {
  std::vector<int32_t> labels(logits.rows());
  ArgMaxRows(logits, labels.data());
  return labels;
}

std::vector<int32_t> ToVector(absl::Span<const int32_t> span) {
  return std::vector<int32_t>(span.begin(), span.end());
}

TEST_F(PredictorTest, AnswersAsTheNetworksForwardPassAndArgMax) {
  EXPECT_EQ(predictor_->input_size(), 12);
  EXPECT_EQ(predictor_->num_classes(), 5);
  const Tensor samples = rng_.Random(64, 12);
  const Tensor expected = NetworkLogits(samples);
  absl::StatusOr<Predictions> predictions = predictor_->Classify(samples);
  ASSERT_TRUE(predictions.ok()) << predictions.status();
  EXPECT_TRUE(*predictions->logits == expected);  // bit for bit: the same layers run
  EXPECT_EQ(ToVector(predictions->labels), ArgMax(expected));
  // The labels are not all alike, or the comparison would prove little.
  EXPECT_GT(std::set<int32_t>(predictions->labels.begin(), predictions->labels.end()).size(), 1u);
}

TEST_F(PredictorTest, RepeatedCallsGiveTheSameAnswers) {
  const Tensor samples = rng_.Random(32, 12);
  absl::StatusOr<Predictions> first = predictor_->Classify(samples);
  ASSERT_TRUE(first.ok());
  const std::vector<int32_t> labels = ToVector(first->labels);
  const Tensor logits = *first->logits;
  absl::StatusOr<Predictions> again = predictor_->Classify(samples);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(ToVector(again->labels), labels);
  EXPECT_TRUE(*again->logits == logits);
}

TEST_F(PredictorTest, BatchSpanAndSingleSamplesAgree) {
  const Tensor samples = rng_.Random(40, 12);
  absl::StatusOr<Predictions> batch = predictor_->Classify(samples);
  ASSERT_TRUE(batch.ok()) << batch.status();
  const std::vector<int32_t> labels = ToVector(batch->labels);
  const Tensor logits = *batch->logits;

  absl::StatusOr<Predictions> span =
      predictor_->Classify(absl::MakeConstSpan(samples.data(), samples.size()));
  ASSERT_TRUE(span.ok()) << span.status();
  EXPECT_EQ(ToVector(span->labels), labels);
  EXPECT_TRUE(*span->logits == logits);

  Tensor probabilities;
  SoftmaxRows(logits, &probabilities);
  for (int r = 0; r < samples.rows(); ++r) {
    absl::StatusOr<int32_t> one = predictor_->ClassifyOne(
        absl::MakeConstSpan(samples.row(r).data(), static_cast<size_t>(samples.cols())));
    ASSERT_TRUE(one.ok()) << one.status();
    EXPECT_EQ(*one, labels[r]) << "sample " << r;
    // One row is a matrix-vector product, the batch a matrix-matrix one: the
    // sums are ordered differently, so they agree to rounding only.
    absl::StatusOr<const Tensor*> one_probabilities = predictor_->Probabilities();
    ASSERT_TRUE(one_probabilities.ok());
    ASSERT_EQ((*one_probabilities)->rows(), 1);
    EXPECT_TRUE((*one_probabilities)->isApprox(probabilities.row(r), 1e-5f)) << "sample " << r;
  }
  // A batch of one row takes the batch path and answers alike.
  absl::StatusOr<Predictions> single = predictor_->Classify(samples.topRows(1).eval());
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->labels[0], labels[0]);
  EXPECT_TRUE(single->logits->isApprox(logits.topRows(1), 1e-5f));
}

TEST_F(PredictorTest, ProbabilitiesAreTheSoftmaxOfTheLastLogits) {
  absl::StatusOr<const Tensor*> none = predictor_->Probabilities();
  EXPECT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition);

  const Tensor samples = rng_.Random(8, 12);
  absl::StatusOr<Predictions> predictions = predictor_->Classify(samples);
  ASSERT_TRUE(predictions.ok());
  absl::StatusOr<const Tensor*> probabilities = predictor_->Probabilities();
  ASSERT_TRUE(probabilities.ok()) << probabilities.status();
  const Tensor& p = **probabilities;
  const Tensor& logits = *predictions->logits;
  ASSERT_EQ(p.rows(), 8);
  ASSERT_EQ(p.cols(), 5);
  for (int r = 0; r < 8; ++r) {
    EXPECT_NEAR(p.row(r).sum(), 1.0f, 1e-6f);
    Eigen::Index best = 0;
    p.row(r).maxCoeff(&best);
    EXPECT_EQ(best, predictions->labels[r]);
    // p_i / p_j = exp(l_i - l_j).
    EXPECT_NEAR(p(r, 0) / p(r, 1), std::exp(logits(r, 0) - logits(r, 1)), 1e-4f);
  }
}

TEST_F(PredictorTest, AnEmptyBatchHasNoLabels) {
  absl::StatusOr<Predictions> predictions = predictor_->Classify(Tensor(0, 12));
  ASSERT_TRUE(predictions.ok()) << predictions.status();
  EXPECT_TRUE(predictions->labels.empty());
}

TEST_F(PredictorTest, LoadsTheConfigStoredInTheModelFile) {
  absl::StatusOr<std::unique_ptr<Predictor>> stored = Predictor::Load("", saved_.model_path);
  ASSERT_TRUE(stored.ok()) << stored.status();
  const Tensor samples = rng_.Random(16, 12);
  absl::StatusOr<Predictions> a = predictor_->Classify(samples);
  ASSERT_TRUE(a.ok());
  const std::vector<int32_t> expected = ToVector(a->labels);
  absl::StatusOr<Predictions> b = (*stored)->Classify(samples);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(ToVector(b->labels), expected);
}

TEST_F(PredictorTest, LoadsFromALoadedConfig) {
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config =
      ConfigLoader().LoadText(kConfig, "training.pbtxt");
  // The training loader wants a trainer section; the inference one does not.
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("trainer.batch_size"));
  config = ConfigLoader(Registries::Global(), ConfigUse::kInference).LoadText(kConfig, "x.pbtxt");
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<std::unique_ptr<Predictor>> predictor =
      Predictor::Load(**config, saved_.model_path);
  ASSERT_TRUE(predictor.ok()) << predictor.status();
  EXPECT_EQ((*predictor)->config().path(), "x.pbtxt");
}

TEST_F(PredictorTest, ServesWithoutTheTrainingData) {
  const std::string path = absl::StrCat(::mnemo::TestDir(), "/elsewhere.pbtxt");
  WriteFile(path, absl::StrCat(kConfig, R"pb(
              data { dir: "/no/such/training/data" }
              trainer {
                optimizer { type: "sgd" learning_rate: 0.1 }
                batch_size: 4
                epochs: 1
              }
            )pb"));
  absl::StatusOr<std::unique_ptr<Predictor>> predictor = Predictor::Load(path, saved_.model_path);
  ASSERT_TRUE(predictor.ok()) << predictor.status();
  EXPECT_TRUE((*predictor)->Classify(rng_.Random(2, 12)).ok());
}

TEST_F(PredictorTest, RefusesAWrongWidth) {
  absl::StatusOr<Predictions> wide = predictor_->Classify(rng_.Random(3, 13));
  EXPECT_EQ(wide.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(wide.status().message(), HasSubstr("takes 12 features per sample, got 13"));

  const std::vector<float> floats(25, 0.5f);
  absl::StatusOr<Predictions> ragged = predictor_->Classify(absl::MakeConstSpan(floats));
  EXPECT_EQ(ragged.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ragged.status().message(),
              HasSubstr("25 floats are not a whole number of samples of 12 features"));

  absl::StatusOr<int32_t> one = predictor_->ClassifyOne(absl::MakeConstSpan(floats.data(), 11));
  EXPECT_EQ(one.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(one.status().message(), HasSubstr("takes 12 features per sample, got 11"));
}

TEST_F(PredictorTest, RefusesNonFiniteFeaturesNamingTheSampleAndFeature) {
  Tensor samples = rng_.Random(4, 12);
  samples(2, 7) = std::numeric_limits<float>::quiet_NaN();
  absl::StatusOr<Predictions> nan = predictor_->Classify(samples);
  EXPECT_EQ(nan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(nan.status().message(), HasSubstr("sample 2, feature 7 is nan"));

  samples(2, 7) = 0;
  samples(3, 0) = -std::numeric_limits<float>::infinity();
  absl::StatusOr<Predictions> inf =
      predictor_->Classify(absl::MakeConstSpan(samples.data(), samples.size()));
  EXPECT_THAT(inf.status().message(), HasSubstr("sample 3, feature 0 is -inf"));

  absl::StatusOr<int32_t> one =
      predictor_->ClassifyOne(absl::MakeConstSpan(samples.row(3).data(), 12));
  EXPECT_THAT(one.status().message(), HasSubstr("sample 0, feature 0 is -inf"));

  // A refusal changes nothing: the next good batch is answered.
  samples(3, 0) = 0;
  EXPECT_TRUE(predictor_->Classify(samples).ok());
}

TEST_F(PredictorTest, RefusesAMissingModelFileNamingIt) {
  const std::string missing = absl::StrCat(::mnemo::TestDir(), "/no_such.safetensors");
  absl::StatusOr<std::unique_ptr<Predictor>> predictor =
      Predictor::Load(saved_.config_path, missing);
  ASSERT_FALSE(predictor.ok());
  EXPECT_THAT(predictor.status().message(), HasSubstr(missing));
}

TEST_F(PredictorTest, RefusesAMissingConfigFileNamingIt) {
  const std::string missing = absl::StrCat(::mnemo::TestDir(), "/no_such.pbtxt");
  absl::StatusOr<std::unique_ptr<Predictor>> predictor =
      Predictor::Load(missing, saved_.model_path);
  ASSERT_FALSE(predictor.ok());
  EXPECT_THAT(predictor.status().message(), HasSubstr(missing));
}

TEST_F(PredictorTest, RefusesACorruptModelFileNamingIt) {
  const std::string bytes = ReadBytes(saved_.model_path);
  ASSERT_GT(bytes.size(), 100u);
  const std::string truncated = absl::StrCat(::mnemo::TestDir(), "/truncated.safetensors");
  WriteFile(truncated, bytes.substr(0, bytes.size() - 10));
  const std::string garbage = absl::StrCat(::mnemo::TestDir(), "/garbage.safetensors");
  WriteFile(garbage, "this is not a safetensors file at all");
  for (const std::string& path : {truncated, garbage}) {
    absl::StatusOr<std::unique_ptr<Predictor>> predictor =
        Predictor::Load(saved_.config_path, path);
    ASSERT_FALSE(predictor.ok()) << path;
    EXPECT_THAT(predictor.status().message(), HasSubstr(path));
  }
}

TEST_F(PredictorTest, RefusesAModelOfAnotherArchitectureNamingTensorsAndShapes) {
  SavedModel narrower = SaveRandomModel(kNarrowerConfig, "narrower", 12);
  ASSERT_NE(narrower.network, nullptr);
  absl::StatusOr<std::unique_ptr<Predictor>> predictor =
      Predictor::Load(saved_.config_path, narrower.model_path);
  ASSERT_FALSE(predictor.ok());
  EXPECT_EQ(predictor.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(predictor.status().message(),
              AllOf(HasSubstr(narrower.model_path), HasSubstr("does not match the model"),
                    HasSubstr("tensor \"0_dense.weight\" has shape [12, 8] but the model "
                              "needs [12, 16]")));

  // A model with a layer fewer: the missing tensors are named.
  SavedModel shallower = SaveRandomModel(R"pb(
                                           model {
                                             input_size: 12
                                             layer { type: "Dense" units: 16 activation: "ReLU" }
                                           }
                                         )pb",
                                         "shallower", 13);
  ASSERT_NE(shallower.network, nullptr);
  predictor = Predictor::Load(saved_.config_path, shallower.model_path);
  ASSERT_FALSE(predictor.ok());
  EXPECT_THAT(predictor.status().message(), HasSubstr("tensor \"2_dense.weight\" is missing"));
}

TEST_F(PredictorTest, ReportsAConfigErrorWithItsLocation) {
  const std::string path = absl::StrCat(::mnemo::TestDir(), "/bad.pbtxt");
  WriteFile(path, "model {\n  input_size: 12\n  layer { type: \"Dens\" units: 16 }\n}\n");
  absl::StatusOr<std::unique_ptr<Predictor>> predictor = Predictor::Load(path, saved_.model_path);
  ASSERT_FALSE(predictor.ok());
  EXPECT_THAT(predictor.status().message(), AllOf(HasSubstr(absl::StrCat(path, ":3:")),
                                                  HasSubstr("unknown layer type \"Dens\"")));
}

// A model with a memory module is served as its dual path
// (predictor_dual_path_test); its config must say where the features are.
TEST_F(PredictorTest, AMemoryModuleWithoutItsFeatureLayerIsRefused) {
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config =
      ConfigLoader(Registries::Global(), ConfigUse::kInference).LoadText(kConfig, "m.pbtxt");
  ASSERT_TRUE(config.ok()) << config.status();
  (*config)->mutable_experiment().mutable_memory_module()->set_type("cached_memory");
  absl::StatusOr<std::unique_ptr<Predictor>> predictor =
      Predictor::Load(**config, saved_.model_path);
  ASSERT_FALSE(predictor.ok());
  EXPECT_THAT(predictor.status().message(), HasSubstr("memory_module.features_after is required"));
}

}  // namespace
}  // namespace mnemo
