// A plugin registers a data format of its own, and a config names it as it
// names core's: the loader checks the data section with the format's checks
// (with their places), LoadData reads through it, and a model trains on it.

#include <string>

#include "core/config_loader.h"
#include "core/model_builder.h"
#include "core/optimizer.h"
#include "core/trainer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/plugins/test_args.h"
#include "tools/data/readers.h"

namespace mnemo {
namespace {

using ::mnemo::testing::TestArg;
using ::testing::HasSubstr;

std::string Config(const std::string& data) {
  return "plugin: \"" + TestArg("counting_format_plugin") +
         "\"\n"
         "model { input_size: 4 layer { type: \"Dense\" units: 16 activation: \"ReLU\" }\n"
         "        layer { type: \"Dense\" units: 5 } }\n"
         "data { format: \"counting\" " +
         data +
         " }\n"
         "trainer { optimizer { type: \"adam\" learning_rate: 0.05 } batch_size: 16 epochs: 40 "
         "seed: 2 }\n";
}

TEST(DataFormatPluginTest, APluginsFormatIsReadAndTrainedOn) {
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config =
      ConfigLoader().LoadText(Config("train_limit: 64"), "counting.pbtxt");
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<TrainTestData> data = LoadData((*config)->experiment());
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->train.size(), 64);
  EXPECT_EQ(data->test.size(), 16);
  absl::StatusOr<std::unique_ptr<Network>> network = BuildNetwork(**config, Registries::Global());
  ASSERT_TRUE(network.ok()) << network.status();
  absl::StatusOr<std::unique_ptr<Optimizer>> optimizer =
      CreateOptimizer((*config)->experiment().trainer().optimizer());
  ASSERT_TRUE(optimizer.ok());
  absl::StatusOr<Trainer> trainer =
      Trainer::Create((*config)->experiment().trainer(), network->get(), optimizer->get());
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  absl::StatusOr<std::vector<EpochMetrics>> history = trainer->Fit(data->train, data->test);
  ASSERT_TRUE(history.ok()) << history.status();
  // Counting set bits is easy: the model learns it (chance is 0.2 at best).
  EXPECT_GE(history->back().test_accuracy, 0.9);
}

TEST(DataFormatPluginTest, TheFormatsOwnChecksAreReportedWithTheirPlace) {
  const std::string text = Config("dir: \"/tmp\"");
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config =
      ConfigLoader().LoadText(text, "counting.pbtxt");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("counting.pbtxt:4:27: format \"counting\" reads no files: leave data.dir "
                        "out"));
}

}  // namespace
}  // namespace mnemo
