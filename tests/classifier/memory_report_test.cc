// The memory experiment's report: the seed's results block line by line, the
// path ratio's wording, the four plots and the metrics files.
#include "tools/memory_report.h"

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_files.h"

namespace mnemo {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

PathTimes Times(int batch, double feature, double retrieval, double head) {
  PathTimes t;
  t.batch_size = batch;
  t.samples = 100;
  t.feature_ms = feature;
  t.retrieval_ms = retrieval;
  t.head_ms = head;
  return t;
}

MemoryRun SampleRun() {
  MemoryRun run;
  run.memory_type = "cached_memory";
  run.config_path = "configs/memory_cached.pbtxt";
  for (int e = 1; e <= 2; ++e) {
    DualPathEpochMetrics m;
    m.epoch = e;
    m.train_loss = 0.8939;
    m.train_classification_loss = 0.69;
    m.train_memory_loss = 0.5092;
    m.train_accuracy = 0.8306;
    m.test.samples = 10000;
    m.test.accuracy = 0.8467;
    m.test.network_accuracy = 0.84;
    m.test.memory_accuracy = 0.8;
    m.test.memory_answered = 5346;
    m.test.memory_usage = 0.5346;
    m.test.memory_path_accuracy = 0.95;
    m.test.memory_corrected = 120;
    m.test.memory_broke = 53;
    m.test.network_path_accuracy = e == 1 ? NAN : 0.7;
    m.memory_size = e == 1 ? 5000 : 10000;
    m.memory_capacity = 10000;
    run.history.push_back(m);
  }
  run.batch_times = Times(128, 0.1, 0.07, 0.0683);
  run.single_times = Times(1, 0.2, 0.1, 0.3);
  return run;
}

TEST(MemoryReportTest, TheResultsBlockHasTheSeedsLinesThenOurs) {
  const std::vector<std::string> lines = absl::StrSplit(FormatResults(SampleRun()), '\n');
  ASSERT_GE(lines.size(), 23u);
  EXPECT_THAT(std::vector<std::string>(lines.begin(), lines.begin() + 19),
              ElementsAre(std::string(48, '-'), "Cached Memory Results.", std::string(48, '-'),
                          "Epoch 2/2 Summary:", "Train Loss: 0.8939", "Memory Loss: 0.5092",
                          "Train Accuracy: 83.06%", "Test Accuracy: 84.67%", "Memory Usage: 53.46%",
                          "Memory Size: 10000/10000", "Memory is full",
                          "Network-only Test Accuracy: 84.00%", "Memory-only Test Accuracy: 80.00%",
                          "Memory-path Accuracy: 95.00% (on the 5346 test samples the memory "
                          "answered)",
                          "Network-path Accuracy: 70.00% (on the 4654 test samples the network "
                          "answered)",
                          "Memory answers that differ from the network's: 120 corrected, 53 "
                          "broken (test accuracy +0.67 points against the network alone)",
                          std::string(48, '-'), "Average memory path time: 0.1700 ms per sample",
                          "Average neural network path time: 0.1683 ms per sample"));
  EXPECT_EQ(lines[19], "Memory path is 1.01x slower than neural network");
  EXPECT_THAT(lines[20], HasSubstr("Per-sample times at batch 128 (100 test samples): feature "
                                   "extraction 0.1000 ms, memory retrieval 0.0700 ms, network "
                                   "head 0.0683 ms"));
  EXPECT_THAT(lines[21], HasSubstr("at batch 1 "));
  EXPECT_THAT(lines[21], HasSubstr("Memory path is 1.67x faster than neural network"));
}

TEST(MemoryReportTest, ParametersAndNames) {
  EXPECT_EQ(DisplayName("trainable_memory"), "Trainable Memory");
  ExperimentParameters p;
  p.memory_size = 10000;
  p.confidence_threshold = 0.85f;
  p.epochs = 5;
  p.batch_size = 128;
  p.memory_loss_weight = 0.4f;
  p.similarity_threshold = 0.9f;
  p.temperature = 0.1f;
  p.top_k = 1;
  const std::vector<std::string> lines = absl::StrSplit(FormatParameters(p), '\n');
  EXPECT_THAT(
      std::vector<std::string>(lines.begin(), lines.begin() + 8),
      ElementsAre(std::string(47, '-'), "Parameters", std::string(47, '-'), "- Memory size: 10000",
                  "- Confidence threshold: 0.85", "- Number of epochs: 5", "- Batch size: 128",
                  "- Memory loss weight: 0.4"));
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(MemoryReportTest, WritesTheFourPlotsAndTheMetrics) {
  const std::string dir = TestDir();
  MemoryRun run = SampleRun();
  absl::StatusOr<std::vector<std::string>> plots = WriteMemoryPlots(dir, run);
  ASSERT_TRUE(plots.ok()) << plots.status();
  EXPECT_THAT(*plots, ElementsAre(dir + "/loss_curves.svg", dir + "/memory_loss.svg",
                                  dir + "/accuracy_curves.svg", dir + "/memory_usage.svg"));
  EXPECT_THAT(ReadAll(dir + "/loss_curves.svg"), HasSubstr("Cached Memory: loss curves"));
  EXPECT_THAT(ReadAll(dir + "/memory_loss.svg"), HasSubstr("Cached Memory: memory loss"));
  EXPECT_THAT(ReadAll(dir + "/accuracy_curves.svg"), HasSubstr("test (network only)"));
  EXPECT_THAT(ReadAll(dir + "/memory_usage.svg"), HasSubstr("memory fill n/M"));

  ASSERT_TRUE(WriteMemoryMetrics(dir, run).ok());
  const std::vector<std::string> csv =
      absl::StrSplit(ReadAll(dir + "/metrics.csv"), '\n', absl::SkipEmpty());
  ASSERT_EQ(csv.size(), 3u);
  EXPECT_THAT(csv[1], HasSubstr(",0.950000,,5000,10000,"));  // NaN: an empty field
  const std::string json = ReadAll(dir + "/metrics.json");
  EXPECT_THAT(json, HasSubstr("\"network_path_accuracy\": null"));  // epoch 1: NaN
  EXPECT_THAT(json, HasSubstr("\"batch_size\": 128"));
}

}  // namespace
}  // namespace mnemo
