#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/config_loader.h"
#include "core/model_builder.h"
#include "gtest/gtest.h"
#include "tools/command_line.h"
#include "tools/model_summary.h"
#include "tools/progress.h"
#include "tools/run_outputs.h"
#include "tools/svg_plot.h"

namespace mnemo {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::vector<EpochMetrics> History() {
  std::vector<EpochMetrics> history;
  for (int e = 1; e <= 3; ++e) {
    EpochMetrics m;
    m.epoch = e;
    m.train_loss = 1.0 / e;
    m.test_loss = 1.1 / e;
    m.train_accuracy = 0.7 + 0.05 * e;
    m.test_accuracy = 0.68 + 0.05 * e;
    m.train_seconds = 0.5;
    m.samples_per_second = 120000;
    m.learning_rate = 0.1 / e;
    history.push_back(m);
  }
  return history;
}

TEST(SvgPlotTest, DrawsEverySeriesWithALegendAndSkipsNonFiniteValues) {
  Chart chart{"loss <&>", "epoch", "value", {1, 2, 3}, {{"train", {3, 2, 1}},
                                                         {"test", {3, NAN, 2}}}};
  const std::string svg = RenderSvg({chart, chart});
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_EQ(Count(svg, "<polyline"), 4u);
  EXPECT_EQ(Count(svg, "<circle"), 2 * (3 + 2));  // the NaN point is not drawn
  EXPECT_NE(svg.find("loss &lt;&amp;&gt;"), std::string::npos);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
}

TEST(RunOutputsTest, WritesCsvJsonAndPlot) {
  const std::string dir = std::string(getenv("TEST_TMPDIR")) + "/run/nested";
  ASSERT_TRUE(PrepareOutputDirectory(dir).ok());
  ASSERT_TRUE(WriteMetrics(dir, "configs/x.pbtxt", History()).ok());
  ASSERT_TRUE(WriteTrainingPlot(dir + "/training.svg", "x", History()).ok());

  const std::string csv = ReadAll(dir + "/metrics.csv");
  EXPECT_EQ(Count(csv, "\n"), 4u);
  EXPECT_EQ(csv.find("epoch,train_loss,train_accuracy,test_loss,test_accuracy,train_seconds,"
                     "samples_per_second,learning_rate\n"),
            0u)
      << csv;
  EXPECT_NE(csv.find("2,0.500000,0.800000,0.550000,0.780000,0.5000,120000.0,0.05\n"),
            std::string::npos)
      << csv;
  const std::string json = ReadAll(dir + "/metrics.json");
  EXPECT_NE(json.find("\"config\": \"configs/x.pbtxt\""), std::string::npos);
  EXPECT_EQ(Count(json, "\"epoch\":"), 3u);
  EXPECT_NE(json.find("\"learning_rate\": 0.03333333}"), std::string::npos) << json;
  EXPECT_EQ(Count(ReadAll(dir + "/training.svg"), "<polyline"), 4u);
}

TEST(RunOutputsTest, StepsCsvHasARowPerStepAndThePlotARatePanel) {
  const std::string dir = std::string(getenv("TEST_TMPDIR")) + "/steps";
  ASSERT_TRUE(PrepareOutputDirectory(dir).ok());
  // 3 epochs of 2 steps; a rate far below 1e-6 keeps its digits.
  const std::vector<double> rates = {0.1, 0.2, 0.3, 0.05, 0.01, 4e-8};
  ASSERT_TRUE(WriteSteps(dir, rates, 2).ok());
  EXPECT_EQ(ReadAll(dir + "/steps.csv"),
            "step,epoch,learning_rate\n1,1,0.1\n2,1,0.2\n3,2,0.3\n4,2,0.05\n5,3,0.01\n"
            "6,3,4e-08\n");

  ASSERT_TRUE(WriteTrainingPlot(dir + "/training.svg", "x", History(), false, rates).ok());
  const std::string svg = ReadAll(dir + "/training.svg");
  EXPECT_NE(svg.find(">x: learning rate</text>"), std::string::npos);
  EXPECT_EQ(Count(svg, "<polyline"), 5u);
  // Markers on the epochs' points only (4 series of 3), none per step.
  EXPECT_EQ(Count(svg, "<circle"), 12u);

  // Many steps: a few thousand points at most, the last step among them.
  std::vector<double> many(30001);
  for (size_t i = 0; i < many.size(); ++i) many[i] = 1.0 / (1 + i);
  std::vector<EpochMetrics> one = History();
  one.resize(1);
  ASSERT_TRUE(WriteTrainingPlot(dir + "/many.svg", "x", one, false, many).ok());
  const std::string dense = ReadAll(dir + "/many.svg");
  const size_t start = dense.rfind("<polyline points=\"");
  ASSERT_NE(start, std::string::npos);
  const std::string points = dense.substr(start, dense.find('"', start + 18) - start);
  EXPECT_LE(Count(points, ","), 2001u);
  EXPECT_GE(Count(points, ","), 1000u);
}

TEST(RunOutputsTest, UnusableOutputDirectoryIsReportedBeforeTraining) {
  const std::string file = std::string(getenv("TEST_TMPDIR")) + "/a_file";
  std::ofstream(file) << "x";
  absl::Status status = PrepareOutputDirectory(file + "/sub");
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("output directory unusable"), std::string::npos) << status;
}

TEST(CommandLineTest, QuotesWhatTheShellWouldSplitAndAddsTheFlagOnce) {
  EXPECT_EQ(ShellQuote("--out=/tmp/run-1"), "--out=/tmp/run-1");
  EXPECT_EQ(ShellQuote("a b"), "'a b'");
  EXPECT_EQ(ShellQuote("it's"), "'it'\\''s'");
  EXPECT_EQ(ShellQuote(""), "''");
  unsetenv("BUILD_WORKSPACE_DIRECTORY");
  EXPECT_EQ(RerunCommand({"tools/train", "--out=/tmp/a b"}, "//tools:train", "--resume"),
            "tools/train '--out=/tmp/a b' --resume");
  EXPECT_EQ(RerunCommand({"tools/train", "--resume"}, "//tools:train", "--resume"),
            "tools/train --resume");
}

TEST(ProgressBarTest, PlainLinesAtEachQuarterWhenNotATerminal) {
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  ProgressBar bar(out);
  ASSERT_FALSE(bar.interactive());
  bar.Start("epoch 1/1", 8);
  for (int i = 1; i <= 8; ++i) bar.Update(i, "loss 0.5");
  bar.Finish();
  std::rewind(out);
  std::string text;
  char buffer[256];
  while (std::fgets(buffer, sizeof(buffer), out)) text += buffer;
  std::fclose(out);
  EXPECT_EQ(text,
            "epoch 1/1: 2/8 loss 0.5\nepoch 1/1: 4/8 loss 0.5\n"
            "epoch 1/1: 6/8 loss 0.5\nepoch 1/1: 8/8 loss 0.5\n");
}

TEST(ModelSummaryTest, FoldsRepeatedBlocksAndMarksFrozenLayers) {
  std::string text = "model {\n  input_size: 8\n";
  for (int i = 0; i < 4; ++i) text += "  layer { type: \"Dense\" units: 6 activation: \"ReLU\" }\n";
  text +=
      "  layer { type: \"Dense\" units: 5 activation: \"Tanh\" trainable: false }\n"
      "  layer { type: \"Dense\" units: 3 }\n}\n"
      "trainer { optimizer { type: \"sgd\" learning_rate: 0.1 } batch_size: 4 epochs: 1 }\n";
  ConfigLoader loader;
  auto config = loader.LoadText(text, "summary.pbtxt");
  ASSERT_TRUE(config.ok()) << config.status();
  auto network = BuildNetwork(**config, Registries::Global());
  ASSERT_TRUE(network.ok()) << network.status();
  EXPECT_EQ(DescribeNetwork(**network),
            "8 -> 4 x (Dense(6) -> ReLU(6)) -> Dense(5, frozen) -> Tanh(5, frozen) -> "
            "Dense(3)");
}

}  // namespace
}  // namespace mnemo
