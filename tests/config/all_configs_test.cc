// Every config shipped in configs/ loads (plugins included) and builds.

#include <dirent.h>

#include <string>
#include <vector>

#include "core/config_loader.h"
#include "core/model_builder.h"
#include "core/optimizer.h"
#include "gtest/gtest.h"

namespace mnemo {
namespace {

std::vector<std::string> ShippedConfigs() {
  std::vector<std::string> paths;
  if (DIR* dir = opendir("configs")) {
    while (dirent* entry = readdir(dir)) {
      const std::string name = entry->d_name;
      if (name.size() > 6 && name.substr(name.size() - 6) == ".pbtxt") {
        paths.push_back("configs/" + name);
      }
    }
    closedir(dir);
  }
  return paths;
}

TEST(AllConfigsTest, EveryShippedConfigLoadsAndBuilds) {
  const std::vector<std::string> paths = ShippedConfigs();
  ASSERT_GE(paths.size(), 2u) << "configs/ not in the runfiles";
  for (const std::string& path : paths) {
    SCOPED_TRACE(path);
    ConfigLoader loader;
    absl::StatusOr<std::unique_ptr<LoadedConfig>> config = loader.LoadFile(path);
    ASSERT_TRUE(config.ok()) << config.status();
    absl::StatusOr<std::unique_ptr<Network>> network =
        BuildNetwork(**config, Registries::Global());
    ASSERT_TRUE(network.ok()) << network.status();
    EXPECT_EQ((*network)->input_size(), (*config)->experiment().model().input_size());
    EXPECT_TRUE(CreateOptimizer((*config)->experiment().trainer().optimizer()).ok());
  }
}

TEST(AllConfigsTest, ThePluginConfigGetsItsLayerFromThePlugin) {
  ConfigLoader loader;
  auto config = loader.LoadFile("configs/fashion_mlp_plugin.pbtxt");
  ASSERT_TRUE(config.ok()) << config.status();
  auto network = BuildNetwork(**config, Registries::Global());
  ASSERT_TRUE(network.ok()) << network.status();
  ASSERT_EQ((*network)->num_layers(), 4);
  EXPECT_STREQ((*network)->layer(2).type(), "Scale");
  auto entry = Registries::Global().layers.Find("Scale");
  ASSERT_TRUE(entry.ok());
  EXPECT_NE(entry->library.find("libtemplate_plugin.so"), std::string::npos) << entry->library;
}

}  // namespace
}  // namespace mnemo
