// Both memory-module plugins loaded as the tools load them, and the modules
// created through the global registry from config messages.
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "core/config.pb.h"
#include "core/plugin_loader.h"
#include "core/registry.h"
#include "tests/plugins/test_args.h"

namespace mnemo {
namespace {

using ::mnemo::testing::TestArg;

constexpr char kOptionsType[] = "mnemo.memory_modules.trainable_memory.TrainableMemoryOptions";

class MemoryPluginTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (const char* plugin : {"cached_memory_plugin", "trainable_memory_plugin"}) {
      absl::StatusOr<LoadedPlugin> loaded = PluginLoader::Global().Load(TestArg(plugin));
      ASSERT_TRUE(loaded.ok()) << loaded.status();
      EXPECT_EQ(loaded->name, plugin);
      EXPECT_EQ(loaded->types_registered, 1);
    }
  }

  // A memory_module message from text: the plugins' option types resolve
  // once the plugins are loaded.
  static config::MemoryModule Config(const std::string& text) {
    config::MemoryModule config;
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config)) << text;
    return config;
  }

  static absl::StatusOr<std::unique_ptr<MemoryModule>> Create(const config::MemoryModule& config,
                                                              int feature_dim = 4,
                                                              int num_classes = 3) {
    return Registries::Global().memory_modules.Create(
        config.type(), MemoryModuleArgs{config, feature_dim, num_classes});
  }
};

TEST_F(MemoryPluginTest, RegistersBothTypesWithTheirOptions) {
  const MemoryModuleRegistry& registry = Registries::Global().memory_modules;
  absl::StatusOr<MemoryModuleRegistry::Entry> cached = registry.Find("cached_memory");
  absl::StatusOr<MemoryModuleRegistry::Entry> trainable = registry.Find("trainable_memory");
  ASSERT_TRUE(cached.ok()) << cached.status();
  ASSERT_TRUE(trainable.ok()) << trainable.status();
  EXPECT_EQ(cached->options_type, "");
  EXPECT_EQ(trainable->options_type, kOptionsType);
}

// Store, Retrieve, Loss and the state through the interface alone.
TEST_F(MemoryPluginTest, BothModulesWorkThroughTheInterface) {
  for (const char* type : {"cached_memory", "trainable_memory"}) {
    SCOPED_TRACE(type);
    absl::StatusOr<std::unique_ptr<MemoryModule>> memory =
        Create(Config(std::string("type: \"") + type + "\" capacity: 8 features_after: \"h\""));
    ASSERT_TRUE(memory.ok()) << memory.status();
    EXPECT_EQ((*memory)->capacity(), 8);
    EXPECT_EQ((*memory)->feature_dim(), 4);
    Tensor features = Tensor::Identity(3, 4);
    ASSERT_TRUE((*memory)->Store(features, {0, 1, 2}).ok());
    EXPECT_EQ((*memory)->size(), 3);
    absl::StatusOr<Retrieval> answer = (*memory)->Retrieve(features);
    ASSERT_TRUE(answer.ok()) << answer.status();
    EXPECT_EQ(answer->label, (std::vector<int>{0, 1, 2}));
    EXPECT_EQ(answer->slot, (std::vector<int>{0, 1, 2}));
    Tensor grad;
    absl::StatusOr<float> loss = (*memory)->Loss(features, {0, 1, 2}, &grad);
    ASSERT_TRUE(loss.ok()) << loss.status();
    EXPECT_GT(*loss, 0.0f);
    EXPECT_EQ(grad.rows(), 3);
    std::map<std::string, Tensor> state = (*memory)->ExportState();
    (*memory)->Clear();
    EXPECT_EQ((*memory)->size(), 0);
    ASSERT_TRUE((*memory)->ImportState(state).ok());
    EXPECT_EQ((*memory)->size(), 3);
  }
}

TEST_F(MemoryPluginTest, TrainableReadsItsOptions) {
  absl::StatusOr<std::unique_ptr<MemoryModule>> memory = Create(
      Config(std::string("type: \"trainable_memory\" capacity: 4 options { [type.googleapis.com/") +
             kOptionsType + "] { value_scale: 2.5 } }"));
  ASSERT_TRUE(memory.ok()) << memory.status();
  ASSERT_TRUE((*memory)->Store(Tensor::Identity(1, 4), {1}).ok());
  EXPECT_EQ((*memory)->ExportState().at("values")(0, 1), 2.5f);
  ASSERT_EQ((*memory)->parameters().size(), 2u);

  // Without options: value_scale 5.
  memory = Create(Config("type: \"trainable_memory\" capacity: 4"));
  ASSERT_TRUE(memory.ok()) << memory.status();
  ASSERT_TRUE((*memory)->Store(Tensor::Identity(1, 4), {1}).ok());
  EXPECT_EQ((*memory)->ExportState().at("values")(0, 1), 5.0f);
}

TEST_F(MemoryPluginTest, BadSettingsAreRefusedWithTheirNames) {
  auto refused = [&](const std::string& text, const std::string& words, int num_classes = 3) {
    absl::StatusOr<std::unique_ptr<MemoryModule>> memory = Create(Config(text), 4, num_classes);
    ASSERT_FALSE(memory.ok()) << text;
    EXPECT_NE(memory.status().message().find(words), absl::string_view::npos) << memory.status();
  };
  refused("type: \"cached_memory\"", "capacity must be > 0");
  refused("type: \"trainable_memory\" capacity: 3 temperature: -1", "temperature must be > 0");
  refused("type: \"cached_memory\" capacity: 3", "num_classes > 0", 0);
  refused(std::string("type: \"trainable_memory\" capacity: 3 options { "
                      "[type.googleapis.com/") +
              kOptionsType + "] { value_scale: -1 } }",
          "value_scale must be > 0");
  config::MemoryModule wrong = Config("type: \"trainable_memory\" capacity: 3");
  wrong.mutable_options()->set_type_url("type.googleapis.com/mnemo.config.Trainer");
  absl::StatusOr<std::unique_ptr<MemoryModule>> memory = Create(wrong);
  ASSERT_FALSE(memory.ok());
  EXPECT_NE(memory.status().message().find(kOptionsType), absl::string_view::npos);
}

}  // namespace
}  // namespace mnemo
