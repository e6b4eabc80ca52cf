// A network as an nn.Sequential: the modules, in order, for every layer type
// the export knows; Dense transposed; input scaling as a diagonal Linear. (The
// refusals need a plugin's layer or a memory module: export_pytorch_test.)

#include "tools/export/pytorch_state_dict.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config_loader.h"
#include "core/layers/dense.h"
#include "core/model_builder.h"
#include "core/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mnemo {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::unique_ptr<LoadedConfig> Load(const std::string& text) {
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config =
      ConfigLoader(Registries::Global(), ConfigUse::kInference).LoadText(text, "test.pbtxt");
  EXPECT_TRUE(config.ok()) << config.status();
  return config.ok() ? *std::move(config) : nullptr;
}

TEST(PyTorchStateDictTest, EveryKnownLayerAsItsModule) {
  std::unique_ptr<LoadedConfig> config = Load(R"(
    model {
      input_size: 2
      layer { type: "Standardize" }
      layer { type: "Dense" units: 3 activation: "Tanh" }
      layer { type: "Dropout" rate: 0.25 }
      layer { type: "Dense" units: 1 activation: "Sigmoid" }
      layer { type: "MinMaxScale" }
      loss: MEAN_SQUARED_ERROR
    })");
  ASSERT_NE(config, nullptr);
  absl::StatusOr<std::unique_ptr<Network>> network = BuildNetwork(*config, Registries::Global());
  ASSERT_TRUE(network.ok()) << network.status();
  auto& dense = dynamic_cast<Dense&>((*network)->layer(1));
  dense.weight() << 1, 2, 3, 4, 5, 6;  // fan_in 2 x fan_out 3
  dense.bias() << 7, 8, 9;
  std::vector<Parameter> scaling = (*network)->layer(0).parameters();
  ASSERT_EQ(scaling.size(), 2u);
  *scaling[0].value << 10, 20;  // shift
  *scaling[1].value << 0.5, 4;  // scale

  absl::StatusOr<PyTorchSequential> exported = ExportToPyTorch(**network, *config);
  ASSERT_TRUE(exported.ok()) << exported.status();
  EXPECT_EQ(exported->Expression(),
            "nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 3), nn.Tanh(), nn.Dropout(p=0.25), "
            "nn.Linear(3, 1), nn.Sigmoid(), nn.Linear(1, 1))");
  std::vector<std::string> names;
  for (const TorchTensor& t : exported->state_dict) names.push_back(t.name);
  EXPECT_THAT(names, ElementsAre("0.weight", "0.bias", "1.weight", "1.bias", "4.weight", "4.bias",
                                 "6.weight", "6.bias"));
  const std::vector<TorchTensor>& sd = exported->state_dict;
  EXPECT_THAT(sd[0].shape, ElementsAre(2, 2));
  EXPECT_THAT(sd[0].values, ElementsAre(0.5f, 0, 0, 4));
  EXPECT_THAT(sd[1].shape, ElementsAre(2));
  EXPECT_THAT(sd[1].values, ElementsAre(-5, -80));
  // [out, in]: row j is output j's weights.
  EXPECT_THAT(sd[2].shape, ElementsAre(3, 2));
  EXPECT_THAT(sd[2].values, ElementsAre(1, 4, 2, 5, 3, 6));
  EXPECT_THAT(sd[3].shape, ElementsAre(3));
  EXPECT_THAT(sd[3].values, ElementsAre(7, 8, 9));
  EXPECT_THAT(sd[4].shape, ElementsAre(1, 3));
  EXPECT_THAT(sd[5].shape, ElementsAre(1));
  ASSERT_EQ(exported->notes.size(), 3u);
  EXPECT_THAT(exported->notes[0],
              HasSubstr("0: Standardize (\"0_standardize\") as nn.Linear(2, 2)"));
  EXPECT_THAT(exported->notes[1], HasSubstr("6: MinMaxScale"));
  EXPECT_EQ(exported->notes[2], "output: the 1 predicted value");
}

// LayerNorm as nn.LayerNorm (gamma and beta as weight and bias), BatchNorm
// as nn.BatchNorm1d with its running statistics; a frozen BatchNorm says to
// keep it in eval().
TEST(PyTorchStateDictTest, NormalisationsAsTheirModulesWithTheirBuffers) {
  std::unique_ptr<LoadedConfig> config = Load(R"(
    model {
      input_size: 2
      layer { type: "LayerNorm" epsilon: 0.25 }
      layer { type: "BatchNorm" momentum: 0.5 trainable: false }
    })");
  ASSERT_NE(config, nullptr);
  absl::StatusOr<std::unique_ptr<Network>> network = BuildNetwork(*config, Registries::Global());
  ASSERT_TRUE(network.ok()) << network.status();
  *(*network)->layer(0).parameters()[0].value << 1, 2;  // gamma
  *(*network)->layer(0).parameters()[1].value << 3, 4;  // beta
  *(*network)->layer(1).parameters()[0].value << 5, 6;
  *(*network)->layer(1).parameters()[1].value << 7, 8;
  *(*network)->layer(1).buffers()[0].value << 9, 10;   // running_mean
  *(*network)->layer(1).buffers()[1].value << 11, 12;  // running_var

  absl::StatusOr<PyTorchSequential> exported = ExportToPyTorch(**network, *config);
  ASSERT_TRUE(exported.ok()) << exported.status();
  EXPECT_EQ(exported->Expression(),
            "nn.Sequential(nn.LayerNorm(2, eps=0.25), nn.BatchNorm1d(2, eps=9.99999975e-06, "
            "momentum=0.5))");
  std::vector<std::string> names;
  std::vector<std::vector<float>> values;
  for (const TorchTensor& t : exported->state_dict) {
    names.push_back(t.name);
    values.push_back(t.values);
    EXPECT_THAT(t.shape, ElementsAre(2)) << t.name;
  }
  EXPECT_THAT(names, ElementsAre("0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                                 "1.running_var"));
  EXPECT_THAT(values, ElementsAre(ElementsAre(1, 2), ElementsAre(3, 4), ElementsAre(5, 6),
                                  ElementsAre(7, 8), ElementsAre(9, 10), ElementsAre(11, 12)));
  ASSERT_EQ(exported->notes.size(), 2u);
  EXPECT_THAT(exported->notes[0], HasSubstr("1: BatchNorm (\"1_batchnorm\") as nn.BatchNorm1d"));
  EXPECT_THAT(exported->notes[0], HasSubstr("keep it in eval()"));
}

}  // namespace
}  // namespace mnemo
