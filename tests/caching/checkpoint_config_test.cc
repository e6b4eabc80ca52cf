// The checkpoint plugin as a user meets it: loaded by a config's `plugin:`
// line, configured by its typed options, its mistakes reported at the
// config's cache_strategy with the smallest workable value, and the shipped
// deep MLP config training with it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>

#include "caching/checkpoint/budget_schedule.h"
#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/config_loader.h"
#include "core/model_builder.h"
#include "core/network.h"
#include "core/registry.h"
#include "core/status_macros.h"
#include "tests/testing/tensors.h"

namespace mnemo {
namespace {

using ::testing::HasSubstr;

constexpr char kPlugin[] = "caching/checkpoint/libcheckpoint_plugin.so";

// A small model with the given cache_strategy options and batch size.
std::string Config(const std::string& options, int batch_size = 16) {
  return std::string("plugin: \"") + kPlugin + "\"\n" +
         "model {\n"
         "  input_size: 6\n"
         "  layer { type: \"Dense\" units: 8 activation: \"ReLU\" }\n"
         "  layer { type: \"Dropout\" rate: 0.2 }\n"
         "  layer { type: \"Dense\" units: 8 activation: \"Tanh\" }\n"
         "  layer { type: \"Dense\" units: 3 }\n"
         "}\n"
         "cache_strategy {\n"
         "  type: \"checkpoint\"\n" +
         (options.empty() ? "" : "  options {\n"
                                 "    [type.googleapis.com/mnemo.caching.checkpoint."
                                 "CheckpointOptions] { " + options + " }\n"
                                 "  }\n") +
         "}\n"
         "trainer {\n"
         "  optimizer { type: \"sgd\" learning_rate: 0.1 }\n"
         "  batch_size: " + std::to_string(batch_size) + "\n"
         "  epochs: 1\n"
         "}\n";
}

absl::StatusOr<std::unique_ptr<Network>> Build(const std::string& text) {
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<LoadedConfig> config,
                         ConfigLoader().LoadText(text, "test.pbtxt"));
  return BuildNetwork(*config, Registries::Global());
}

// Activation bytes of the Config() model at `rows` rows: 6, 8, 8, 8, 8, 8, 3 wide.
caching::checkpoint::Chain SmallChain(int rows) {
  caching::checkpoint::Chain chain;
  for (int width : {6, 8, 8, 8, 8, 8, 3}) chain.sizes.push_back(int64_t{rows} * width * 4);
  return chain;
}

TEST(CheckpointConfigTest, EveryScheduleBuildsFromAConfig) {
  for (const std::string& options :
       {std::string(""), std::string("sqrt: true"), std::string("every_n: 2"),
        std::string("memory_budget_bytes: 100000")}) {
    SCOPED_TRACE(options);
    absl::StatusOr<std::unique_ptr<Network>> network = Build(Config(options));
    ASSERT_TRUE(network.ok()) << network.status();
    EXPECT_EQ((*network)->num_layers(), 6);
    testing::TestRng rng(1);
    const Tensor input = rng.Random(16, 6);
    const ForwardContext context{true, 1, 0};
    ASSERT_TRUE((*network)->Forward(input, context).ok());
    ASSERT_TRUE((*network)->Backward(Tensor::Ones(16, 3), context).ok());
    EXPECT_GT((*network)->strategy().stats().peak_bytes_held, 0u);
  }
  absl::StatusOr<CacheStrategyRegistry::Entry> entry =
      Registries::Global().cache_strategies.Find("checkpoint");
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ(entry->options_type, "mnemo.caching.checkpoint.CheckpointOptions");
  EXPECT_NE(entry->library.find("libcheckpoint_plugin.so"), std::string::npos);
}

TEST(CheckpointConfigTest, BadOptionsAreConfigErrorsWithTheSmallestWorkableValue) {
  absl::StatusOr<std::unique_ptr<Network>> zero = Build(Config("every_n: 0"));
  ASSERT_FALSE(zero.ok());
  EXPECT_THAT(std::string(zero.status().message()),
              HasSubstr("test.pbtxt:9:1: checkpoint: every_n must be at least 1 (got 0); "
                        "the smallest workable value is 1"));

  const int64_t least = caching::checkpoint::MinimumBudget(SmallChain(16));
  absl::StatusOr<std::unique_ptr<Network>> small =
      Build(Config("memory_budget_bytes: " + std::to_string(least - 1)));
  ASSERT_FALSE(small.ok());
  EXPECT_THAT(std::string(small.status().message()),
              HasSubstr("test.pbtxt:9:1: the cache strategy refused the network: "
                        "memory_budget_bytes " + std::to_string(least - 1)));
  EXPECT_THAT(std::string(small.status().message()),
              HasSubstr("at batch 16 needs: the smallest workable budget is " +
                        std::to_string(least) + " bytes"));
  // The same budget works at a batch it fits.
  EXPECT_TRUE(Build(Config("memory_budget_bytes: " + std::to_string(least), 16)).ok());

  absl::StatusOr<std::unique_ptr<Network>> off = Build(Config("sqrt: false"));
  ASSERT_FALSE(off.ok());
  EXPECT_THAT(std::string(off.status().message()), HasSubstr("sqrt: false names no schedule"));

  absl::StatusOr<std::unique_ptr<Network>> negative = Build(Config("memory_budget_bytes: -5"));
  ASSERT_FALSE(negative.ok());
  EXPECT_THAT(std::string(negative.status().message()), HasSubstr("must be > 0 (got -5)"));
}

// The shipped config: 32 x (Dense 512 + ReLU) + Dense 10 with sqrt. One step
// at a small batch gives keep_all's gradients bit for bit, in less memory.
TEST(CheckpointConfigTest, TheDeepMlpConfigTrainsLikeKeepAll) {
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config =
      ConfigLoader().LoadFile("configs/deep_mlp_checkpoint.pbtxt");
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<std::unique_ptr<Network>> network =
      BuildNetwork(**config, Registries::Global());
  ASSERT_TRUE(network.ok()) << network.status();
  ASSERT_EQ((*network)->num_layers(), 65);
  (*config)->mutable_experiment().mutable_cache_strategy()->Clear();  // keep_all
  absl::StatusOr<std::unique_ptr<Network>> reference =
      BuildNetwork(**config, Registries::Global());
  ASSERT_TRUE(reference.ok()) << reference.status();

  testing::TestRng rng(2);
  const Tensor input = rng.Random(32, 784);
  const Tensor grad = rng.Random(32, 10);
  const ForwardContext context{true, 1, 0};
  for (Network* n : {network->get(), reference->get()}) {
    n->ZeroGradients();
    ASSERT_TRUE(n->Forward(input, context).ok());
    ASSERT_TRUE(n->Backward(grad, context).ok());
  }
  for (int t = 0; t < 65; ++t) {
    const auto want = (*reference)->layer(t).parameters();
    const auto got = (*network)->layer(t).parameters();
    for (size_t p = 0; p < want.size(); ++p) {
      ASSERT_EQ(std::memcmp(want[p].gradient->data(), got[p].gradient->data(),
                            sizeof(float) * want[p].gradient->size()),
                0)
          << "layer " << t << " " << want[p].name;
    }
  }
  const CacheStats checkpointed = (*network)->strategy().stats();
  const CacheStats all = (*reference)->strategy().stats();
  EXPECT_LT(checkpointed.peak_bytes_held * 10, all.peak_bytes_held * 3);  // < 30%
  EXPECT_GT(checkpointed.recomputed_forwards, 0u);
}

}  // namespace
}  // namespace mnemo
