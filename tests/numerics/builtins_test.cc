// core registers its built-in types by an explicit call, not static registrars.
#include <string>

#include <gtest/gtest.h>

#include "core/registry.h"

namespace mnemo {
namespace {

TEST(BuiltinsTest, RegistersCoreLayersKeepAllAndTheEigenBackend) {
  Registries& registries = Registries::Global();
  for (const char* type : {"BatchNorm", "Dense", "Dropout", "LayerNorm", "MinMaxScale", "ReLU",
                           "Sigmoid", "Standardize", "Tanh"}) {
    absl::StatusOr<LayerRegistry::Entry> entry = registries.layers.Find(type);
    ASSERT_TRUE(entry.ok()) << type << ": " << entry.status();
    EXPECT_EQ(entry->options_type, "") << type;
  }
  absl::StatusOr<CacheStrategyRegistry::Entry> keep_all =
      registries.cache_strategies.Find("keep_all");
  ASSERT_TRUE(keep_all.ok()) << keep_all.status();
  EXPECT_EQ(keep_all->options_type, "");
  absl::StatusOr<std::unique_ptr<Backend>> eigen =
      registries.backends.Create("eigen", BackendArgs{4});
  ASSERT_TRUE(eigen.ok()) << eigen.status();
  EXPECT_STREQ((*eigen)->name(), "eigen");
  EXPECT_EQ((*eigen)->threads(), 1);  // core never starts a thread
}

TEST(BuiltinsTest, RegistersTheSameTypesIntoAFreshRegistry) {
  Registries fresh;
  PluginRegistrar registrar("test");
  RegisterBuiltins(registrar);
  EXPECT_EQ(registrar.size(), 12u);  // 9 layers, keep_all, eigen, local
  ASSERT_TRUE(registrar.CommitTo(fresh).ok());
  EXPECT_EQ(fresh.layers.Names(),
            (std::vector<std::string>{"BatchNorm", "Dense", "Dropout", "LayerNorm", "MinMaxScale",
                                      "ReLU", "Sigmoid", "Standardize", "Tanh"}));
  EXPECT_EQ(fresh.cache_strategies.Names(), (std::vector<std::string>{"keep_all"}));
  EXPECT_EQ(fresh.backends.Names(), (std::vector<std::string>{"eigen"}));
  // One process; Open MPI's communicator is a plugin's (plugins/mpi).
  EXPECT_EQ(fresh.communicators.Names(), (std::vector<std::string>{"local"}));
  // The data formats are the tools' (tools/data), not core's.
  EXPECT_TRUE(fresh.data_formats.Names().empty());
}

}  // namespace
}  // namespace mnemo
