// A Predictor serving a model with a memory module (memory_models.h's tiny
// model, with each real memory plugin, which the model's config loads): the
// dual path's answers, examples of a class the head lacks added while
// serving, and Save and Load keeping them.
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/inference/predictor.h"
#include "core/model_builder.h"
#include "core/model_io.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/inference/memory_models.h"
#include "tests/plugins/test_args.h"
#include "tests/testing/test_files.h"

namespace mnemo {
namespace {

using ::mnemo::testing::SaveMemoryModel;
using ::mnemo::testing::TestArg;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

Tensor Rows(std::initializer_list<std::initializer_list<float>> rows) {
  Tensor t(static_cast<Eigen::Index>(rows.size()), 2);
  Eigen::Index r = 0;
  for (const auto& row : rows) {
    Eigen::Index c = 0;
    for (float v : row) t(r, c++) = v;
    ++r;
  }
  return t;
}

// One case per memory plugin: its type and the test argument of its path.
class PredictorDualPathTest : public ::testing::TestWithParam<const char*> {
 protected:
  // TestDir() of a parameterised case: its name ("Case/0") has a slash.
  static std::string TestDir() {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '_');
    const char* tmp = std::getenv("TEST_TMPDIR");
    const std::string dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name);
    ::mkdir(dir.c_str(), 0777);
    return dir;
  }

  std::string type() const { return GetParam(); }
  std::string plugin() const { return TestArg(absl::StrCat(GetParam(), "_plugin")); }

  // The tiny model saved in this test's directory; its path.
  std::string Saved(const config::DataNames& names = {}) {
    const std::string path = absl::StrCat(TestDir(), "/", type(), ".safetensors");
    SaveMemoryModel(type(), plugin(), path, names);
    return path;
  }

  static std::unique_ptr<Predictor> Load(const std::string& path) {
    absl::StatusOr<std::unique_ptr<Predictor>> predictor = Predictor::Load("", path);
    EXPECT_TRUE(predictor.ok()) << predictor.status();
    return predictor.ok() ? *std::move(predictor) : nullptr;
  }

  static std::vector<int32_t> Labels(Predictor& predictor, const Tensor& samples) {
    absl::StatusOr<Predictions> predictions = predictor.Classify(samples);
    EXPECT_TRUE(predictions.ok()) << predictions.status();
    if (!predictions.ok()) return {};
    return std::vector<int32_t>(predictions->labels.begin(), predictions->labels.end());
  }
};

TEST_P(PredictorDualPathTest, AnswersTheMemorysClassWhereItIsConfident) {
  std::unique_ptr<Predictor> predictor = Load(Saved());
  ASSERT_NE(predictor, nullptr);
  EXPECT_TRUE(predictor->has_memory());
  EXPECT_EQ(predictor->num_classes(), 3);
  EXPECT_EQ(predictor->memory_num_classes(), 4);
  // (1, 0.05): cosine 0.9988 with [1, 0] (class 1); the trainable memory's
  // confidence is that times its slot's certainty, e^5 / (e^5 + 3) = 0.98:
  // above 0.85 either way. (0.1, 3): class 2 likewise. (1, 1): cosine 0.707
  // with both, the head's 0. (-1, 0): cosine 0 at best, the head's 0.
  const Tensor samples = Rows({{1, 0.05f}, {0.1f, 3}, {1, 1}, {-1, 0}});
  EXPECT_THAT(Labels(*predictor, samples), ElementsAre(1, 2, 0, 0));
  // The logits are the head's, whatever the memory answered.
  absl::StatusOr<Predictions> predictions = predictor->Classify(samples);
  ASSERT_TRUE(predictions.ok());
  EXPECT_EQ(predictions->logits->cols(), 3);
  EXPECT_FLOAT_EQ((*predictions->logits)(0, 0), 5.0f);
  // One sample at a time answers as a batch does.
  for (int r = 0; r < samples.rows(); ++r) {
    absl::StatusOr<int32_t> one = predictor->ClassifyOne({samples(r, 0), samples(r, 1)});
    ASSERT_TRUE(one.ok()) << one.status();
    EXPECT_EQ(*one, Labels(*predictor, samples.row(r))[0]) << r;
  }
}

TEST_P(PredictorDualPathTest, AnExampleOfANewClassIsAnsweredAndSavedWithTheModel) {
  const std::string path = Saved();
  std::unique_ptr<Predictor> predictor = Load(path);
  ASSERT_NE(predictor, nullptr);
  const Tensor query = Rows({{-1, 0.05f}, {-1, -1}});
  EXPECT_THAT(Labels(*predictor, query), ElementsAre(0, 0));
  // Class 3: the memory's, not the head's. (-2, 0): features (-2, 0).
  ASSERT_TRUE(predictor->AddExamples(Rows({{-2, 0}}), std::vector<int32_t>{3}).ok());
  // (-1, 0.05): cosine 0.9988 with it; (-1, -1): 0.707, not confident.
  EXPECT_THAT(Labels(*predictor, query), ElementsAre(3, 0));
  EXPECT_EQ(predictor->ClassLabel(3), "3");

  // Not over the file it was loaded from unless asked.
  absl::Status refused = predictor->Save(path);
  EXPECT_EQ(refused.code(), absl::StatusCode::kAlreadyExists) << refused;
  EXPECT_THAT(refused.message(), HasSubstr(path));
  std::unique_ptr<Predictor> original = Load(path);
  ASSERT_NE(original, nullptr);
  EXPECT_THAT(Labels(*original, query), ElementsAre(0, 0));

  const std::string added = absl::StrCat(TestDir(), "/added.safetensors");
  ASSERT_TRUE(predictor->Save(added).ok());
  std::unique_ptr<Predictor> reloaded = Load(added);
  ASSERT_NE(reloaded, nullptr);
  EXPECT_THAT(Labels(*reloaded, query), ElementsAre(3, 0));
  EXPECT_THAT(Labels(*reloaded, Rows({{1, 0.05f}, {0.1f, 3}})), ElementsAre(1, 2));
  EXPECT_EQ(reloaded->memory_num_classes(), 4);

  // Asked to: the original file replaced.
  ASSERT_TRUE(predictor->Save(path, /*overwrite=*/true).ok());
  std::unique_ptr<Predictor> replaced = Load(path);
  ASSERT_NE(replaced, nullptr);
  EXPECT_THAT(Labels(*replaced, query), ElementsAre(3, 0));
}

TEST_P(PredictorDualPathTest, ANewClassBeyondTheNamedOnesPrintsAsItsId) {
  config::DataNames names;
  for (const char* name : {"zero", "one", "two"}) names.add_class_label(name);
  std::unique_ptr<Predictor> predictor = Load(Saved(names));
  ASSERT_NE(predictor, nullptr);
  ASSERT_TRUE(predictor->AddExamples(Rows({{-2, 0}}), std::vector<int32_t>{3}).ok());
  const std::vector<int32_t> labels = Labels(*predictor, Rows({{-1, 0.05f}, {1, 0.05f}}));
  ASSERT_THAT(labels, ElementsAre(3, 1));
  EXPECT_EQ(predictor->ClassLabel(labels[0]), "3");
  EXPECT_EQ(predictor->ClassLabel(labels[1]), "one");
  // Save keeps the names.
  const std::string added = absl::StrCat(TestDir(), "/named.safetensors");
  ASSERT_TRUE(predictor->Save(added).ok());
  std::unique_ptr<Predictor> reloaded = Load(added);
  ASSERT_NE(reloaded, nullptr);
  EXPECT_EQ(reloaded->ClassLabel(1), "one");
}

TEST_P(PredictorDualPathTest, RefusesBadExamplesChangingNothing) {
  std::unique_ptr<Predictor> predictor = Load(Saved());
  ASSERT_NE(predictor, nullptr);
  absl::Status status = predictor->AddExamples(Rows({{-2, 0}}), std::vector<int32_t>{4});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "AddExamples: label 4 of example 0 is not a class of the memory (4 classes, 0 to 3: "
            "memory_module.num_classes)");
  status = predictor->AddExamples(Rows({{0, 0}}), std::vector<int32_t>{3});
  EXPECT_THAT(status.message(), HasSubstr("zero vector")) << status;
  status = predictor->AddExamples(Rows({{NAN, 0}}), std::vector<int32_t>{3});
  EXPECT_FALSE(status.ok());
  status = predictor->AddExamples(Tensor::Ones(1, 3), std::vector<int32_t>{3});
  EXPECT_FALSE(status.ok());
  // Five examples for a memory of 4.
  status = predictor->AddExamples(Tensor::Ones(5, 2), std::vector<int32_t>(5, 3));
  EXPECT_THAT(status.message(), HasSubstr("capacity 4")) << status;
  EXPECT_THAT(Labels(*predictor, Rows({{-1, 0.05f}, {1, 0.05f}})), ElementsAre(0, 1));
}

TEST_P(PredictorDualPathTest, RefusesAMemoryModelFileWithoutTheMemorysContents) {
  const std::string path = Saved();
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config =
      ConfigLoader(Registries::Global(), ConfigUse::kInference)
          .LoadText(testing::MemoryModelConfig(type(), plugin()), path);
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<std::unique_ptr<Network>> network = BuildNetwork(**config, Registries::Global());
  ASSERT_TRUE(network.ok()) << network.status();
  const std::string bare = absl::StrCat(TestDir(), "/bare.safetensors");
  ASSERT_TRUE(SaveModel(bare, **network, testing::MemoryModelConfig(type(), plugin())).ok());
  absl::StatusOr<std::unique_ptr<Predictor>> predictor = Predictor::Load("", bare);
  ASSERT_FALSE(predictor.ok());
  EXPECT_THAT(predictor.status().message(),
              AllOf(HasSubstr(bare), HasSubstr("the memory's contents do not fit")));
}

INSTANTIATE_TEST_SUITE_P(BothModules, PredictorDualPathTest,
                         ::testing::Values("cached_memory", "trainable_memory"));

TEST(PredictorWithoutMemoryTest, TakesNoExamples) {
  const std::string path = absl::StrCat(TestDir(), "/plain.safetensors");
  const std::string text = "model { input_size: 2 layer { type: \"Dense\" units: 3 } }";
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config =
      ConfigLoader(Registries::Global(), ConfigUse::kInference).LoadText(text, path);
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<std::unique_ptr<Network>> network = BuildNetwork(**config, Registries::Global());
  ASSERT_TRUE(network.ok());
  ASSERT_TRUE(SaveModel(path, **network, text).ok());
  absl::StatusOr<std::unique_ptr<Predictor>> predictor = Predictor::Load("", path);
  ASSERT_TRUE(predictor.ok()) << predictor.status();
  EXPECT_FALSE((*predictor)->has_memory());
  EXPECT_EQ((*predictor)->memory_num_classes(), 0);
  absl::Status status = (*predictor)->AddExamples(Rows({{1, 0}}), std::vector<int32_t>{0});
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  // Save writes the model anew all the same, and not over itself unasked.
  EXPECT_EQ((*predictor)->Save(path).code(), absl::StatusCode::kAlreadyExists);
  const std::string copy = absl::StrCat(TestDir(), "/copy.safetensors");
  ASSERT_TRUE((*predictor)->Save(copy).ok());
  absl::StatusOr<std::unique_ptr<Predictor>> reloaded = Predictor::Load("", copy);
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
}

}  // namespace
}  // namespace mnemo
