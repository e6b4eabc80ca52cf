// The memo plugin as configs use it: loaded by the config loader, built by
// the model builder (its options and its inner strategy's checked, errors at
// their file:line:column), and named memos shared across networks. The
// plugin is loaded with dlopen, as in the tools: this binary does not link
// the memo's code.

#include <memory>
#include <string>

#include "core/config_loader.h"
#include "core/model_builder.h"
#include "core/registry.h"
#include "core/status_macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/plugins/test_args.h"

namespace mnemo {
namespace {

using ::mnemo::testing::TestArg;
using ::testing::HasSubstr;

constexpr char kPath[] = "memo_test.pbtxt";

// Line 5 holds `cache_strategy {`, at column 1.
std::string Config(const std::string& memo_options, const std::string& extra = "") {
  return "plugin: \"" + TestArg("memo_plugin") +
         "\"\n"
         "model { input_size: 12 init { scheme: HE_NORMAL }\n"
         "  layer { type: \"Dense\" units: 16 activation: \"ReLU\" trainable: false }\n"
         "  layer { type: \"Dense\" units: 4 } }\n"
         "cache_strategy {\n"
         "  type: \"memo\"\n"
         "  options { [type.googleapis.com/mnemo.caching.memo.MemoOptions] {\n" +
         memo_options + "\n  } }\n" + extra +
         "}\n"
         "trainer { optimizer { type: \"sgd\" learning_rate: 0.1 } batch_size: 8 epochs: 1 }\n";
}

absl::StatusOr<std::unique_ptr<Network>> Build(const std::string& text) {
  ConfigLoader loader;
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<LoadedConfig> config, loader.LoadText(text, kPath));
  return BuildNetwork(*config, Registries::Global());
}

std::string BuildError(const std::string& text) {
  absl::StatusOr<std::unique_ptr<Network>> network = Build(text);
  EXPECT_FALSE(network.ok());
  return std::string(network.status().message());
}

double Counter(Network& network, const std::string& name) {
  for (const auto& [key, value] : network.strategy().stats().counters) {
    if (key == name) return value;
  }
  ADD_FAILURE() << "no counter " << name;
  return -1;
}

void Forward(Network& network) {
  Tensor batch(8, 12);  // eight different rows
  for (int r = 0; r < 8; ++r) {
    for (int c = 0; c < 12; ++c) batch(r, c) = 0.1f * static_cast<float>(r) + 0.01f * c;
  }
  ASSERT_TRUE(network.Forward(batch, {false, 0, 0}).ok());
  network.strategy().EndPass();
}

TEST(MemoConfigTest, BuildsFromAConfigWithKeepAllInside) {
  absl::StatusOr<std::unique_ptr<Network>> network =
      Build(Config("capacity_bytes: 1000000\n inner { type: \"keep_all\" }"));
  ASSERT_TRUE(network.ok()) << network.status();
  Forward(**network);
  Forward(**network);
  EXPECT_EQ(Counter(**network, "memoized_layers"), 2);
  EXPECT_EQ(Counter(**network, "capacity_bytes"), 1000000);
  EXPECT_EQ(Counter(**network, "rows_computed"), 8);  // the first pass
  EXPECT_EQ(Counter(**network, "rows_reused"), 8);    // the second
}

TEST(MemoConfigTest, AnUnsetInnerIsKeepAll) {
  absl::StatusOr<std::unique_ptr<Network>> network = Build(Config("capacity_bytes: 1000000"));
  ASSERT_TRUE(network.ok()) << network.status();
  Forward(**network);
  EXPECT_EQ(Counter(**network, "memoized_layers"), 2);
}

TEST(MemoConfigTest, ABadCapacityIsAConfigErrorAtItsPlace) {
  EXPECT_THAT(BuildError(Config("capacity_bytes: 0")),
              HasSubstr("memo_test.pbtxt:5:1: memo: options.capacity_bytes must be > 0"));
  EXPECT_THAT(BuildError(Config("capacity_bytes: -5")),
              HasSubstr("memo_test.pbtxt:5:1: memo: options.capacity_bytes must be > 0"));
  // Every problem of the options in one report.
  const std::string both = BuildError(Config("capacity_bytes: 0 inner { type: \"nope\" }"));
  EXPECT_THAT(both, HasSubstr("options.capacity_bytes must be > 0"));
  EXPECT_THAT(both, HasSubstr("options.inner: unknown cache strategy type \"nope\""));
}

TEST(MemoConfigTest, OptionsOfAnotherTypeOrNoneAreRefused) {
  const std::string wrong =
      "plugin: \"" + TestArg("memo_plugin") +
      "\"\n"
      "model { input_size: 4 layer { type: \"Dense\" units: 2 } }\n"
      "cache_strategy { type: \"memo\"\n"
      "  options { [type.googleapis.com/mnemo.config.Init] { std: 1 } } }\n"
      "trainer { optimizer { type: \"sgd\" learning_rate: 0.1 } batch_size: 8 epochs: 1 }\n";
  EXPECT_THAT(BuildError(wrong),
              HasSubstr("takes options of type mnemo.caching.memo.MemoOptions, not "
                        "mnemo.config.Init"));
  const std::string none =
      "plugin: \"" + TestArg("memo_plugin") +
      "\"\n"
      "model { input_size: 4 layer { type: \"Dense\" units: 2 } }\n"
      "cache_strategy { type: \"memo\" }\n"
      "trainer { optimizer { type: \"sgd\" learning_rate: 0.1 } batch_size: 8 epochs: 1 }\n";
  EXPECT_THAT(
      BuildError(none),
      HasSubstr("memo_test.pbtxt:3:1: memo: memo needs options { "
                "[type.googleapis.com/mnemo.caching.memo.MemoOptions] { capacity_bytes: ... } }"));
}

TEST(MemoConfigTest, TheInnerStrategyIsCheckedLikeATopLevelOne) {
  EXPECT_THAT(BuildError(Config("capacity_bytes: 1000\n inner { type: \"nope\" }")),
              HasSubstr("memo: options.inner: unknown cache strategy type \"nope\" (known "
                        "types: "));
  EXPECT_THAT(
      BuildError(Config("capacity_bytes: 1000\n inner { type: \"keep_all\"\n"
                        "   options { [type.googleapis.com/mnemo.config.Init] { std: 1 } } }")),
      HasSubstr("options.inner: cache strategy type \"keep_all\" takes no options"));
  EXPECT_THAT(BuildError(Config("capacity_bytes: 1000\n inner { type: \"memo\" }")),
              HasSubstr("options.inner cannot be another memo"));
}

TEST(MemoConfigTest, PureLayerTypesMustBeRegistered) {
  EXPECT_THAT(BuildError(Config("capacity_bytes: 1000\n pure_layer_types: \"Swish\"")),
              HasSubstr("options.pure_layer_types: unknown layer type \"Swish\""));
  EXPECT_TRUE(Build(Config("capacity_bytes: 1000\n pure_layer_types: \"ReLU\"")).ok());
}

TEST(MemoConfigTest, NetworksOfOneNameShareTheirMemo) {
  const std::string text = Config("capacity_bytes: 1000000 name: \"config_test_shared\"");
  absl::StatusOr<std::unique_ptr<Network>> first = Build(text);
  absl::StatusOr<std::unique_ptr<Network>> second = Build(text);
  ASSERT_TRUE(first.ok() && second.ok());
  Forward(**first);
  Forward(**second);
  EXPECT_EQ(Counter(**first, "rows_computed"), Counter(**first, "entries"));
  EXPECT_EQ(Counter(**second, "rows_computed"), 0);  // the first network's rows served it
  EXPECT_EQ(Counter(**second, "rows_reused"), 8);

  // A network of its own (no name) starts empty.
  absl::StatusOr<std::unique_ptr<Network>> own = Build(Config("capacity_bytes: 1000000"));
  ASSERT_TRUE(own.ok());
  Forward(**own);
  EXPECT_GT(Counter(**own, "rows_computed"), 0);

  EXPECT_THAT(BuildError(Config("capacity_bytes: 2000000 name: \"config_test_shared\"")),
              HasSubstr("the memo named \"config_test_shared\" exists with capacity_bytes "
                        "1000000"));
}

TEST(MemoConfigTest, TheShippedConfigCoversTheBackbone) {
  ConfigLoader loader;
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config =
      loader.LoadFile(TestArg("frozen_backbone_memo"));
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<std::unique_ptr<Network>> network =
      BuildNetwork(**config, Registries::Global());
  ASSERT_TRUE(network.ok()) << network.status();
  EXPECT_EQ(Counter(**network, "memoized_layers"), 6);
  EXPECT_EQ(Counter(**network, "capacity_bytes"), 512.0 * 1024 * 1024);
}

}  // namespace
}  // namespace mnemo
