// Whole models on the oneDNN backend against the same models on the Eigen
// reference: a network built from a config trains to the same weights and
// losses, and a memory module's similarity search runs on the model's
// backend with the same answers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/config_loader.h"
#include "core/dataset.h"
#include "core/model_builder.h"
#include "core/optimizer.h"
#include "core/trainer.h"
#include "memory_modules/classifier/dual_path_classifier.h"
#include "tests/onednn/onednn_testing.h"
#include "tests/plugins/test_args.h"
#include "tests/testing/tensors.h"

namespace mnemo {
namespace {

using ::mnemo::testing::Counter;
using ::mnemo::testing::kTolerance;
using ::mnemo::testing::RelativeError;
using ::mnemo::testing::TestArg;
using ::mnemo::testing::TestRng;

class OneDnnNetworkTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    mnemo::testing::LoadOneDnnPlugin();
    for (const char* memory : {"cached_memory_plugin", "trainable_memory_plugin"}) {
      absl::StatusOr<LoadedPlugin> loaded = PluginLoader::Global().Load(TestArg(memory));
      ASSERT_TRUE(loaded.ok()) << loaded.status();
    }
  }

  absl::StatusOr<std::unique_ptr<LoadedConfig>> Load(const std::string& text) {
    return loader_.LoadText(text, "test.pbtxt");
  }

  ConfigLoader loader_;
};

// Every activation the backend provides, and the reference Dropout between.
std::string MlpConfig(const std::string& backend) {
  return "model {\n"
         "  input_size: 20\n"
         "  backend: \"" +
         backend +
         "\"\n"
         "  init { scheme: XAVIER_UNIFORM }\n"
         "  layer { type: \"Dense\" units: 33 activation: \"ReLU\" }\n"
         "  layer { type: \"Dropout\" rate: 0.25 }\n"
         "  layer { type: \"Dense\" units: 17 activation: \"Tanh\" }\n"
         "  layer { type: \"Dense\" units: 9 activation: \"Sigmoid\" }\n"
         "  layer { type: \"Dense\" units: 5 }\n"
         "}\n"
         "trainer {\n"
         "  optimizer { type: \"sgd\" learning_rate: 0.1 momentum: 0.9 }\n"
         "  batch_size: 16\n"
         "  epochs: 3\n"
         "  seed: 4\n"
         "}\n";
}

// Whether parameter `name` of layer i is the bias of a Dense layer under a
// BatchNorm: the batch's mean cancels it, so its gradient is 0 in exact
// arithmetic (rounding noise of 1e-7 on either backend, which relative to
// each other says nothing) and it stays at its start, 0.
bool CancelledByBatchNorm(Network& network, int i, const std::string& name) {
  return name == "bias" && i + 1 < network.num_layers() &&
         std::string(network.layer(i + 1).type()).find("BatchNorm") != std::string::npos;
}

// The normalisations between Dense layers: BatchNorm (its running
// statistics trained too) and LayerNorm.
std::string NormConfig(const std::string& backend) {
  return "model {\n"
         "  input_size: 20\n"
         "  backend: \"" +
         backend +
         "\"\n"
         "  init { scheme: XAVIER_UNIFORM }\n"
         "  layer { type: \"Dense\" units: 33 }\n"
         "  layer { type: \"BatchNorm\" momentum: 0.2 activation: \"ReLU\" }\n"
         "  layer { type: \"LayerNorm\" }\n"
         "  layer { type: \"Dense\" units: 17 activation: \"Tanh\" }\n"
         "  layer { type: \"BatchNorm\" }\n"
         "  layer { type: \"Dense\" units: 5 }\n"
         "}\n"
         "trainer {\n"
         "  optimizer { type: \"sgd\" learning_rate: 0.1 momentum: 0.9 }\n"
         "  batch_size: 16\n"
         "  epochs: 3\n"
         "  seed: 4\n"
         "}\n";
}

Dataset RandomDataset(int n, int features, int classes, uint32_t seed) {
  TestRng rng(seed);
  Dataset data;
  data.features = rng.Random(n, features, 0.0f, 1.0f);
  data.num_classes = classes;
  data.labels.resize(n);
  for (int i = 0; i < n; ++i) {
    // Learnable: the class follows the first features.
    data.labels[i] = static_cast<int32_t>(data.features(i, i % 3) * classes) % classes;
  }
  return data;
}

class OneDnnTrainingTest
    : public OneDnnNetworkTest,
      public ::testing::WithParamInterface<std::string (*)(const std::string&)> {};

TEST_P(OneDnnTrainingTest, TrainingFromAConfigMatchesEigen) {
  auto onednn_config = Load(GetParam()("onednn"));
  auto eigen_config = Load(GetParam()("eigen"));
  ASSERT_TRUE(onednn_config.ok()) << onednn_config.status();
  ASSERT_TRUE(eigen_config.ok()) << eigen_config.status();
  auto onednn = BuildNetwork(**onednn_config, Registries::Global());
  auto eigen = BuildNetwork(**eigen_config, Registries::Global());
  ASSERT_TRUE(onednn.ok()) << onednn.status();
  ASSERT_TRUE(eigen.ok()) << eigen.status();
  ASSERT_STREQ((*onednn)->layer(0).type(), "onednn/Dense");
  ASSERT_STREQ((*onednn)->backend().name(), "onednn");
  const double fallbacks = Counter((*onednn)->backend(), "fallbacks");

  const config::Trainer& trainer_config = (*onednn_config)->experiment().trainer();
  auto onednn_optimizer = CreateOptimizer(trainer_config.optimizer());
  auto eigen_optimizer = CreateOptimizer(trainer_config.optimizer());
  ASSERT_TRUE(onednn_optimizer.ok() && eigen_optimizer.ok());
  auto onednn_trainer = Trainer::Create(trainer_config, onednn->get(), onednn_optimizer->get());
  auto eigen_trainer = Trainer::Create(trainer_config, eigen->get(), eigen_optimizer->get());
  ASSERT_TRUE(onednn_trainer.ok() && eigen_trainer.ok());

  // 100 samples in batches of 16: the last batch of each epoch has 4 rows,
  // so every layer also meets a second shape.
  const Dataset train = RandomDataset(100, 20, 5, 1);
  const Dataset test = RandomDataset(37, 20, 5, 2);
  auto onednn_history = onednn_trainer->Fit(train, test);
  auto eigen_history = eigen_trainer->Fit(train, test);
  ASSERT_TRUE(onednn_history.ok()) << onednn_history.status();
  ASSERT_TRUE(eigen_history.ok()) << eigen_history.status();
  ASSERT_EQ(onednn_history->size(), 3u);
  for (size_t e = 0; e < onednn_history->size(); ++e) {
    const EpochMetrics& a = (*onednn_history)[e];
    const EpochMetrics& b = (*eigen_history)[e];
    EXPECT_NEAR(a.train_loss, b.train_loss, 1e-4 * b.train_loss) << "epoch " << e + 1;
    EXPECT_NEAR(a.test_loss, b.test_loss, 1e-4 * b.test_loss) << "epoch " << e + 1;
    EXPECT_EQ(a.test_accuracy, b.test_accuracy) << "epoch " << e + 1;
  }
  // 21 momentum steps compound the rounding differences of every product:
  // the weights, and BatchNorm's running statistics, still agree to 1e-4
  // (relative, per tensor).
  for (int i = 0; i < (*onednn)->num_layers(); ++i) {
    for (const bool buffers : {false, true}) {
      Layer& ours = (*onednn)->layer(i);
      Layer& reference = (*eigen)->layer(i);
      std::vector<Parameter> a = buffers ? ours.buffers() : ours.parameters();
      std::vector<Parameter> b = buffers ? reference.buffers() : reference.parameters();
      ASSERT_EQ(a.size(), b.size());
      for (size_t p = 0; p < a.size(); ++p) {
        if (CancelledByBatchNorm(**onednn, i, a[p].name)) {
          EXPECT_LE(a[p].value->cwiseAbs().maxCoeff(), 1e-5) << ours.name();
          EXPECT_LE(b[p].value->cwiseAbs().maxCoeff(), 1e-5) << ours.name();
          continue;
        }
        EXPECT_LE(RelativeError(*a[p].value, *b[p].value), 1e-4) << ours.name() << "." << a[p].name;
      }
    }
  }
  EXPECT_EQ(Counter((*onednn)->backend(), "fallbacks"), fallbacks);
}

INSTANTIATE_TEST_SUITE_P(Models, OneDnnTrainingTest, ::testing::Values(&MlpConfig, &NormConfig),
                         [](const ::testing::TestParamInfo<OneDnnTrainingTest::ParamType>& info) {
                           return info.index == 0 ? std::string("Mlp") : std::string("Norms");
                         });

// One step from identical weights: the gradients of every parameter agree to
// the layers' own tolerance.
TEST_P(OneDnnTrainingTest, FirstStepGradientsMatchEigen) {
  auto onednn_config = Load(GetParam()("onednn"));
  auto eigen_config = Load(GetParam()(""));
  ASSERT_TRUE(onednn_config.ok() && eigen_config.ok());
  auto onednn = BuildNetwork(**onednn_config, Registries::Global());
  auto eigen = BuildNetwork(**eigen_config, Registries::Global());
  ASSERT_TRUE(onednn.ok() && eigen.ok());
  const Dataset data = RandomDataset(257, 20, 5, 3);
  const ForwardContext context{/*training=*/true, 4, 0};
  Tensor grad_onednn, grad_eigen;
  for (auto* network : {onednn->get(), eigen->get()}) {
    absl::StatusOr<const Tensor*> logits = network->Forward(data.features, context);
    ASSERT_TRUE(logits.ok()) << logits.status();
    Tensor& grad = network == onednn->get() ? grad_onednn : grad_eigen;
    ASSERT_TRUE(network->backend().SoftmaxCrossEntropy(**logits, data.labels, &grad, nullptr).ok());
    network->ZeroGradients();
    ASSERT_TRUE(network->Backward(grad, context).ok());
  }
  EXPECT_LE(RelativeError(grad_onednn, grad_eigen), kTolerance);
  for (int i = 0; i < (*onednn)->num_layers(); ++i) {
    std::vector<Parameter> a = (*onednn)->layer(i).parameters();
    std::vector<Parameter> b = (*eigen)->layer(i).parameters();
    for (size_t p = 0; p < a.size(); ++p) {
      if (CancelledByBatchNorm(**onednn, i, a[p].name)) {
        // Noise against the weight gradient's size.
        const float scale = a[0].gradient->cwiseAbs().maxCoeff();
        EXPECT_LE(a[p].gradient->cwiseAbs().maxCoeff(), 1e-4f * scale);
        EXPECT_LE(b[p].gradient->cwiseAbs().maxCoeff(), 1e-4f * scale);
        continue;
      }
      EXPECT_LE(RelativeError(*a[p].gradient, *b[p].gradient), kTolerance)
          << (*onednn)->layer(i).name() << "." << a[p].name;
    }
  }
}

// Built for inference (as a Predictor builds it), the backend's Dense holds
// no gradients (it wraps core's Dense, which leaves them empty) and answers
// as the network built for training from the same config and seed, at one
// row (its row-GEMV path) and at a batch (oneDNN's matmul).
TEST_F(OneDnnNetworkTest, AnInferenceNetworkHasNoGradientsAndAnswersAsATrainingOne) {
  auto training_config = Load(MlpConfig("onednn"));
  auto inference_config = ConfigLoader(Registries::Global(), ConfigUse::kInference)
                              .LoadText(MlpConfig("onednn"), "test.pbtxt");
  ASSERT_TRUE(training_config.ok()) << training_config.status();
  ASSERT_TRUE(inference_config.ok()) << inference_config.status();
  auto training = BuildNetwork(**training_config, Registries::Global());
  auto inference = BuildNetwork(**inference_config, Registries::Global());
  ASSERT_TRUE(training.ok()) << training.status();
  ASSERT_TRUE(inference.ok()) << inference.status();
  ASSERT_STREQ((*inference)->layer(0).type(), "onednn/Dense");

  for (int i = 0; i < (*inference)->num_layers(); ++i) {
    std::vector<Parameter> a = (*inference)->layer(i).parameters();
    std::vector<Parameter> b = (*training)->layer(i).parameters();
    ASSERT_EQ(a.size(), b.size());
    for (size_t p = 0; p < a.size(); ++p) {
      EXPECT_EQ(a[p].gradient->size(), 0) << (*inference)->layer(i).name() << "." << a[p].name;
      EXPECT_EQ(b[p].gradient->rows(), b[p].value->rows());
      EXPECT_EQ(b[p].gradient->cols(), b[p].value->cols());
      EXPECT_TRUE(*a[p].value == *b[p].value);
    }
  }
  (*inference)->ZeroGradients();

  TestRng rng(6);
  const ForwardContext context;  // training off
  for (int rows : {1, 16}) {
    const Tensor input = rng.Random(rows, 20);
    Tensor outputs[2];
    for (int n = 0; n < 2; ++n) {
      Network& network = n == 0 ? **inference : **training;
      absl::StatusOr<const Tensor*> output = network.Forward(input, context);
      ASSERT_TRUE(output.ok()) << output.status();
      outputs[n] = **output;
      network.strategy().EndPass();
    }
    EXPECT_LE(RelativeError(outputs[0], outputs[1]), 1e-6) << rows << " rows";
  }
}

// The memory modules' similarity search on the onednn backend gives the
// reference's answers, and it does run there.
TEST_F(OneDnnNetworkTest, MemoryModulesSearchOnTheModelsBackend) {
  std::shared_ptr<const Backend> backend = mnemo::testing::OneDnnBackend();
  ASSERT_NE(backend, nullptr);
  for (const char* type : {"cached_memory", "trainable_memory"}) {
    config::MemoryModule config;
    config.set_type(type);
    config.set_capacity(300);
    config.set_top_k(5);
    config.set_similarity_threshold(0.5f);
    auto ours =
        Registries::Global().memory_modules.Create(type, MemoryModuleArgs{config, 48, 7, backend});
    auto reference =
        Registries::Global().memory_modules.Create(type, MemoryModuleArgs{config, 48, 7, nullptr});
    ASSERT_TRUE(ours.ok()) << ours.status();
    ASSERT_TRUE(reference.ok()) << reference.status();

    TestRng rng(11);
    const double gemms = Counter(*backend, "similarity_gemms");
    // Batches of 128 until the memory is full and replaces items (Store's
    // batched similarities), then retrieval and the loss.
    for (int batch = 0; batch < 4; ++batch) {
      const Tensor features = rng.Random(128, 48);
      std::vector<int> labels(128);
      for (int& label : labels) label = static_cast<int>(rng.Uniform(0.0f, 6.999f));
      ASSERT_TRUE((*ours)->Store(features, labels).ok()) << type;
      ASSERT_TRUE((*reference)->Store(features, labels).ok()) << type;
    }
    EXPECT_EQ((*ours)->size(), (*reference)->size()) << type;
    const Tensor queries = rng.Random(257, 48);
    auto retrieved = (*ours)->Retrieve(queries);
    auto retrieved_ref = (*reference)->Retrieve(queries);
    ASSERT_TRUE(retrieved.ok() && retrieved_ref.ok()) << type;
    EXPECT_EQ(retrieved->label, retrieved_ref->label) << type;
    EXPECT_EQ(retrieved->slot, retrieved_ref->slot) << type;
    for (size_t i = 0; i < retrieved->confidence.size(); ++i) {
      EXPECT_NEAR(retrieved->confidence[i], retrieved_ref->confidence[i], 1e-5) << type << i;
    }
    std::vector<int> query_labels(257);
    for (int& label : query_labels) label = static_cast<int>(rng.Uniform(0.0f, 6.999f));
    Tensor grad, grad_ref;
    auto loss = (*ours)->Loss(queries, query_labels, &grad);
    auto loss_ref = (*reference)->Loss(queries, query_labels, &grad_ref);
    ASSERT_TRUE(loss.ok() && loss_ref.ok()) << type;
    EXPECT_NEAR(*loss, *loss_ref, kTolerance * *loss_ref) << type;
    EXPECT_LE(RelativeError(grad, grad_ref), kTolerance) << type;
    EXPECT_GT(Counter(*backend, "similarity_gemms"), gemms) << type;
  }
}

// scan_precision "int8" on the onednn backend: with no more items than the
// candidates (20 for top_k 5) the answers are exact search's, the
// reference backend's fp32 ones; with more, nearly all are. The reference
// backend and the trainable memory refuse it, naming the field.
TEST_F(OneDnnNetworkTest, CachedMemoryInt8ScanMatchesExactSearch) {
  std::shared_ptr<const Backend> backend = mnemo::testing::OneDnnBackend();
  ASSERT_NE(backend, nullptr);
  for (int capacity : {20, 2000}) {
    SCOPED_TRACE(capacity);
    config::MemoryModule config;
    config.set_type("cached_memory");
    config.set_capacity(capacity);
    config.set_top_k(5);
    config.set_scan_precision("int8");
    auto ours = Registries::Global().memory_modules.Create(
        "cached_memory", MemoryModuleArgs{config, 48, 7, backend});
    ASSERT_TRUE(ours.ok()) << ours.status();
    config.set_scan_precision("fp32");
    auto reference = Registries::Global().memory_modules.Create(
        "cached_memory", MemoryModuleArgs{config, 48, 7, nullptr});
    ASSERT_TRUE(reference.ok()) << reference.status();
    TestRng rng(12);
    for (int stored = 0; stored < capacity; stored += 128) {
      const int rows = std::min(128, capacity - stored);
      // Clustered around 7 directions, one per class, as features are.
      Tensor features = rng.Random(rows, 48, -0.5f, 0.5f);
      std::vector<int> labels(rows);
      for (int r = 0; r < rows; ++r) {
        labels[r] = r % 7;
        features(r, labels[r]) += 2.0f;
      }
      ASSERT_TRUE((*ours)->Store(features, labels).ok());
      ASSERT_TRUE((*reference)->Store(features, labels).ok());
    }
    Tensor queries = rng.Random(300, 48, -0.5f, 0.5f);
    for (int r = 0; r < 300; ++r) queries(r, r % 7) += 2.0f;
    auto got = (*ours)->Retrieve(queries);
    auto want = (*reference)->Retrieve(queries);
    ASSERT_TRUE(got.ok() && want.ok());
    int slots_differ = 0;
    for (int r = 0; r < 300; ++r) {
      slots_differ += got->slot[r] != want->slot[r];
      if (capacity <= 20) {
        EXPECT_EQ(got->label[r], want->label[r]) << r;
        EXPECT_EQ(got->slot[r], want->slot[r]) << r;
        EXPECT_NEAR(got->confidence[r], want->confidence[r], 1e-6) << r;
      }
    }
    // 2000 items: the best match is among the 20 candidates for nearly
    // every query.
    EXPECT_LE(slots_differ, 3);
  }
  for (const char* type : {"cached_memory", "trainable_memory"}) {
    config::MemoryModule config;
    config.set_type(type);
    config.set_capacity(10);
    config.set_scan_precision("int8");
    const std::shared_ptr<const Backend> on =
        std::string(type) == "cached_memory" ? ReferenceBackend() : backend;
    auto refused =
        Registries::Global().memory_modules.Create(type, MemoryModuleArgs{config, 8, 3, on});
    ASSERT_FALSE(refused.ok()) << type;
    EXPECT_NE(refused.status().message().find("memory_module.scan_precision"), std::string::npos)
        << refused.status().message();
  }
}

// A dual-path classifier from a config with backend "onednn": backbone, head
// and memory all on it.
TEST_F(OneDnnNetworkTest, DualPathClassifierUsesTheBackendThroughout) {
  auto config =
      Load("plugin: \"" + TestArg("cached_memory_plugin") +
           "\"\n"
           "model {\n"
           "  input_size: 12\n"
           "  backend: \"onednn\"\n"
           "  layer { name: \"features\" type: \"Dense\" units: 8 activation: \"ReLU\" }\n"
           "  layer { type: \"Dense\" units: 4 }\n"
           "}\n"
           "memory_module { type: \"cached_memory\" capacity: 64 features_after: \"features\" }\n"
           "trainer { optimizer { type: \"sgd\" learning_rate: 0.1 } batch_size: 16 epochs: 1 }\n");
  ASSERT_TRUE(config.ok()) << config.status();
  auto classifier = DualPathClassifier::Create(**config);
  ASSERT_TRUE(classifier.ok()) << classifier.status();
  EXPECT_STREQ((*classifier)->backbone().backend().name(), "onednn");
  EXPECT_STREQ((*classifier)->head().backend().name(), "onednn");
  EXPECT_STREQ((*classifier)->backbone().layer(0).type(), "onednn/Dense");

  const Backend& backend = (*classifier)->head().backend();
  const double gemms = Counter(backend, "similarity_gemms");
  const Dataset data = RandomDataset(16, 12, 4, 5);
  auto optimizer = CreateOptimizer((*config)->experiment().trainer().optimizer());
  ASSERT_TRUE(optimizer.ok());
  // Two steps of core's training loop (one batch an epoch).
  auto trainer =
      Trainer::Create((*config)->experiment().trainer(), classifier->get(), optimizer->get());
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  for (int epoch = 1; epoch <= 2; ++epoch) {
    absl::StatusOr<EpochMetrics> trained = trainer->TrainEpoch(data, epoch);
    ASSERT_TRUE(trained.ok()) << trained.status();
  }
  auto prediction = (*classifier)->Predict(data.features);
  ASSERT_TRUE(prediction.ok()) << prediction.status();
  EXPECT_GT(Counter(backend, "similarity_gemms"), gemms);
}

}  // namespace
}  // namespace mnemo
