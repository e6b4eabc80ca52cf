// A config whose layer options are of a plugin's type is read in two steps:
// the plugin list, then (with the plugin loaded) the whole file. A binary of
// its own, so that the plugin is surely not loaded before the config is read.

#include <cstdlib>
#include <fstream>
#include <string>

#include <google/protobuf/descriptor.h>

#include "core/config_loader.h"
#include "core/model_builder.h"
#include "core/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/plugins/test_args.h"

namespace mnemo {
namespace {

using ::mnemo::testing::TestArg;
using ::testing::HasSubstr;

constexpr char kScaleOptions[] = "mnemo.plugins.template_plugin.ScaleOptions";

std::string WriteConfig(const std::string& name, const std::string& text) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// The plugin comes last in the file: a one-step parse would meet its options
// type before it could know which library defines it.
std::string ScaleConfig(const std::string& options) {
  return "model {\n"
         "  input_size: 3\n"
         "  layer { type: \"Dense\" units: 5 }\n"
         "  layer {\n"
         "    type: \"Scale\"\n" +
         options +
         "  }\n"
         "}\n"
         "trainer { optimizer { type: \"sgd\" learning_rate: 0.1 } batch_size: 8 epochs: 1 }\n"
         // Relative: found in the runfiles (the working directory of a test).
         "plugin: \"" +
         TestArg("template_plugin") + "\"\n";
}

TEST(PluginOptionsTest, TwoStepParseCarriesTheFactorToTheLayer) {
  // Nothing has loaded the plugin yet, so its options type does not exist.
  ASSERT_EQ(google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(
                kScaleOptions),
            nullptr);

  const std::string path = WriteConfig(
      "scale.pbtxt", ScaleConfig("    options {\n"
                                 "      [type.googleapis.com/mnemo.plugins.template_plugin."
                                 "ScaleOptions] { factor: 2.5 }\n"
                                 "    }\n"));
  ConfigLoader loader;
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = loader.LoadFile(path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_NE(google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(
                kScaleOptions),
            nullptr);
  EXPECT_TRUE(Registries::Global().layers.Contains("Scale"));
  EXPECT_EQ((*config)->experiment().model().layer(1).options().type_url(),
            std::string("type.googleapis.com/") + kScaleOptions);

  absl::StatusOr<std::unique_ptr<Network>> network =
      BuildNetwork(**config, Registries::Global());
  ASSERT_TRUE(network.ok()) << network.status();
  Layer& scale = (*network)->layer(1);
  EXPECT_STREQ(scale.type(), "Scale");
  EXPECT_EQ(scale.name(), "1_scale");
  Tensor input = Tensor::Random(2, 5), output;
  scale.Forward(input, {}, &output);
  EXPECT_TRUE(output.isApprox(2.5f * input));
}

TEST(PluginOptionsTest, OptionsOfAnotherTypeAreRefusedAtTheOptions) {
  const std::string path = WriteConfig(
      "scale_init.pbtxt",
      ScaleConfig("    options { [type.googleapis.com/mnemo.config.Init] { std: 1 } }\n"));
  ConfigLoader loader;
  auto config = loader.LoadFile(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            path + ":6:5: layer type \"Scale\" takes options of type " + kScaleOptions +
                ", not mnemo.config.Init");
}

TEST(PluginOptionsTest, MissingOptionsAreTheFactorysErrorAtTheLayer) {
  const std::string path = WriteConfig("scale_bare.pbtxt", ScaleConfig(""));
  ConfigLoader loader;
  auto config = loader.LoadFile(path);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr(path + ":4:3: Scale: Scale needs options { [type.googleapis.com/" +
                        kScaleOptions + "] { factor: ... } }"));
}

}  // namespace
}  // namespace mnemo
