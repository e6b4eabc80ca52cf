// The data-parallel benchmark end to end on tiny settings (a few steps of the
// seed MLP): tools/bench/data_parallel_benchmark under mpirun with 2 ranks
// prints one line of figures that agree with each other and with the model's
// size, and the launcher data_parallel_scaling runs it for 1 and 2 ranks and
// prints its table. No figure is timed against a bound.

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "tests/distributed/mpirun.h"
#include "tests/plugins/test_args.h"
#include "tests/testing/run_command.h"
#include "tests/testing/test_files.h"

namespace mnemo::testing {
namespace {

// The seed MLP's gradients: 784 x 256 + 256 weights and biases, then
// 256 x 10 + 10, in floats.
constexpr double kSeedGradientBytes = 4.0 * (784 * 256 + 256 + 256 * 10 + 10);

// The lines of `text` that start with "data_parallel ", as key -> value.
std::vector<std::map<std::string, std::string>> FigureLines(const std::string& text) {
  std::vector<std::map<std::string, std::string>> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::ConsumePrefix(&line, "data_parallel ")) continue;
    std::map<std::string, std::string>& figures = lines.emplace_back();
    for (absl::string_view field : absl::StrSplit(line, ' ', absl::SkipEmpty())) {
      const std::pair<std::string, std::string> kv = absl::StrSplit(field, absl::MaxSplits('=', 1));
      figures[kv.first] = kv.second;
    }
  }
  return lines;
}

double Number(const std::map<std::string, std::string>& figures, const std::string& key) {
  double value = NAN;
  const auto it = figures.find(key);
  if (it == figures.end() || !absl::SimpleAtod(it->second, &value)) {
    ADD_FAILURE() << "no number " << key;
  }
  return value;
}

TEST(DataParallelBenchmarkTest, TwoRanksPrintConsistentFigures) {
  const std::string dir = TestDir();
  const CommandResult run =
      RunCommand(absl::StrCat(Mpirun(2, TestArg("lsan_suppressions")), " ", TestArg("benchmark"),
                              " --config=", TestArg("config"),
                              " --warmup_steps=1 --steps=3 --allreduce_reps=3"),
                 dir);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  // Rank 0 alone prints.
  const std::vector<std::map<std::string, std::string>> lines = FigureLines(run.out);
  ASSERT_EQ(lines.size(), 1u) << run.out;
  const std::map<std::string, std::string>& figures = lines[0];
  EXPECT_EQ(figures.at("config"), "fashion_mlp");
  EXPECT_EQ(figures.at("ranks"), "2");
  EXPECT_EQ(figures.at("threads"), "1");
  EXPECT_EQ(figures.at("batch"), "256");
  EXPECT_EQ(figures.at("steps"), "3");
  EXPECT_EQ(Number(figures, "gradient_bytes"), kSeedGradientBytes);

  const double step = Number(figures, "step_seconds");
  const double samples = Number(figures, "samples_per_second");
  const double allreduce = Number(figures, "allreduce_seconds");
  ASSERT_GT(step, 0);
  ASSERT_GT(allreduce, 0);
  EXPECT_NEAR(samples, 256 / step, 1e-4 * samples);
  EXPECT_NEAR(Number(figures, "allreduce_gb_per_second"), kSeedGradientBytes / 1e9 / allreduce,
              1e-4 * kSeedGradientBytes / 1e9 / allreduce);
  EXPECT_NEAR(Number(figures, "allreduce_share"), allreduce / step, 1e-4 * allreduce / step);
  // Four steps of SGD from N(0, 0.01^2) weights: near ln 10 = 2.30, the loss
  // of a uniform guess over 10 classes.
  EXPECT_GT(Number(figures, "train_loss"), 2.0);
  EXPECT_LT(Number(figures, "train_loss"), 2.4);
}

// Checked before MPI starts: no mpirun needed.
TEST(DataParallelBenchmarkTest, RefusesNoWarmUp) {
  const std::string dir = TestDir();
  const CommandResult run = RunCommand(
      absl::StrCat(TestArg("benchmark"), " --config=", TestArg("config"), " --warmup_steps=0"),
      dir);
  EXPECT_NE(run.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(run.err, "--warmup_steps must be at least 1")) << run.err;
}

TEST(DataParallelScalingTest, PrintsEveryRunAndTheTable) {
  const std::string dir = TestDir();
  const CommandResult run = RunCommand(
      absl::StrCat(TestArg("scaling"), " --benchmark=", TestArg("benchmark"), " --mpirun='",
                   MpirunCommand(TestArg("lsan_suppressions")), "' --configs=", TestArg("config"),
                   " --warmup_steps=1 --steps=2 --allreduce_reps=2 --reps=1 --ranks=1,2"),
      dir);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_TRUE(absl::StrContains(run.out, "rep 1/1  fashion_mlp       1 rank ")) << run.out;
  EXPECT_TRUE(absl::StrContains(run.out, "rep 1/1  fashion_mlp       2 ranks")) << run.out;
  EXPECT_TRUE(absl::StrContains(run.out, "fashion_mlp: global batch 256, 2 timed steps after 1"))
      << run.out;
  // The row of 1 rank: its ratio to itself, and no all-reduce.
  bool one = false, two = false;
  for (absl::string_view line : absl::StrSplit(run.out, '\n')) {
    const std::vector<absl::string_view> columns =
        absl::StrSplit(line, absl::ByString("  "), absl::SkipWhitespace());
    if (columns.size() < 6) continue;
    if (absl::StripAsciiWhitespace(columns[0]) == "1") {
      one = true;
      EXPECT_EQ(absl::StripAsciiWhitespace(columns[2]), "1.00 / 1.00 / 1.00") << line;
      EXPECT_EQ(absl::StripAsciiWhitespace(columns[3]), "-") << line;
    }
    if (absl::StripAsciiWhitespace(columns[0]) == "2") {
      two = true;
      EXPECT_NE(absl::StripAsciiWhitespace(columns[3]), "-") << line;
    }
  }
  EXPECT_TRUE(one && two) << run.out;
}

}  // namespace
}  // namespace mnemo::testing
