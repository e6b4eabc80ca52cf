// The benchmark runner end to end (tools/bench/runner.h), through a program
// built on it (tiny_models_bench.cc) run as its own process, so that its peak
// resident memory is that of the benchmarks alone: three saved models of
// S = 39 MB each benchmarked in turn with teardown eviction stay within
// 1.5 S of the memory held without any model, and without eviction they
// need about 3 S; evicting a value before its last use shows as reloads;
// compare mode exits non-zero on a regression.

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/inference/saved_models.h"
#include "tests/plugins/test_args.h"
#include "tests/testing/run_command.h"
#include "tests/testing/test_files.h"
#include "tools/bench/records.h"
#include "tools/data/readers.h"

namespace mnemo {
namespace {

using ::mnemo::bench::ReadRunFile;
using ::mnemo::bench::Record;
using ::mnemo::bench::RunFile;

// 784 x 12288 + 12288 x 10 weights and biases: 38.7 MB of F32, each weight
// large enough to be mapped on its own by the allocator (and returned to the
// system when freed).
constexpr char kModel[] = R"pb(
  model {
    input_size: 784
    layer { type: "Dense" units: 12288 activation: "ReLU" }
    layer { type: "Dense" units: 10 }
  }
)pb";
constexpr int64_t kModelBytes = (784 * 12288 + 12288 + 12288 * 10 + 10) * 4;

using ::mnemo::testing::CommandResult;

CommandResult RunBench(const std::string& dir, const std::string& args) {
  return testing::RunCommand(absl::StrCat(testing::TestArg("bench"), " --model_dir=", dir,
                                          " --models=a,b,c --benchmark_min_time=0.01 ", args),
                             dir);
}

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TestDir();
    for (const char* name : {"a", "b", "c"}) {
      testing::SavedModel saved = testing::SaveRandomModel(kModel, name, 1);
      ASSERT_NE(saved.network, nullptr);
      saved_ = std::move(saved.network);  // the three are alike (seed 1)
    }
  }

  // Runs the program with `args` writing to <dir>/<name>/ and reads its records.
  RunFile RunAndRead(const std::string& name, const std::string& args) {
    const CommandResult result = RunBench(dir_, absl::StrCat("--out=", dir_, "/", name, " ", args));
    EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
    absl::StatusOr<RunFile> run = ReadRunFile(absl::StrCat(dir_, "/", name, "/tiny_models.json"));
    EXPECT_TRUE(run.ok()) << run.status() << "\n" << result.err;
    return run.ok() ? *run : RunFile();
  }

  std::string dir_;
  std::unique_ptr<Network> saved_;
};

// The saved model's accuracy on the first `n` Fashion-MNIST test images (the
// bench program's default --data_limit is 500), computed here from its
// weights with Eigen alone: relu(x W0 + b0) W1 + b1, then the arg-max.
double AccuracyByHand(Network& network, int n) {
  const std::string dir = absl::StrCat(kDefaultDataDir, "/t10k");
  absl::StatusOr<Dataset> data =
      ReadIdx(dir + "-images-idx3-ubyte.gz", dir + "-labels-idx1-ubyte.gz", n);
  EXPECT_TRUE(data.ok()) << data.status();
  if (!data.ok()) return -1;
  const std::vector<ModelParameter> p = network.Parameters();  // W0, b0, W1, b1
  const Tensor hidden =
      ((data->features * *p[0].value).rowwise() + p[1].value->row(0)).cwiseMax(0.0f);
  const Tensor logits = (hidden * *p[2].value).rowwise() + p[3].value->row(0);
  int correct = 0;
  for (int i = 0; i < n; ++i) {
    Eigen::Index best = 0;
    logits.row(i).maxCoeff(&best);
    correct += best == data->labels[i];
  }
  return static_cast<double>(correct) / n;
}

// The tests that measure the bench program's peak resident memory: BUILD
// runs them as a target of their own (runner_memory_test), which the
// sanitizer configs leave out (ASan's shadow memory and quarantine change a
// process's resident memory).
class RunnerPeakTest : public RunnerTest {};

int64_t MaxPeak(const RunFile& run) {
  int64_t peak = 0;
  for (const Record& record : run.records()) peak = std::max(peak, record.peak_rss_bytes());
  return peak;
}

TEST_F(RunnerPeakTest, TeardownEvictionHoldsOneModelAtATime) {
  const RunFile run = RunAndRead("evicting", "");
  ASSERT_EQ(run.records_size(), 3);
  const double expected = AccuracyByHand(*saved_, 500);
  ASSERT_GE(expected, 0);
  EXPECT_EQ(run.records(0).name(), "accuracy/model:a/data:fashion_test");
  EXPECT_EQ(run.records(2).params().at("model"), "c");
  for (const Record& record : run.records()) {
    EXPECT_EQ(record.error(), "");
    // Random weights: what the runner reports is what they score (within one
    // image of 500: a near-tie of two logits may round either way).
    EXPECT_NEAR(record.values().at("accuracy").value(), expected, 1.0 / 500 + 1e-9);
    EXPECT_GT(record.values().at("samples_per_second").value(), 0.0);
    EXPECT_GT(record.real_time_seconds(), 0.0);
    EXPECT_GT(record.iterations(), 0);
  }
  // After each teardown only the data set is cached; every model was loaded
  // once (no reload) and evicted once.
  const Record& last = run.records(2);
  EXPECT_EQ(last.memo().entries(), 1);
  EXPECT_EQ(last.memo().loads(), 4);
  EXPECT_EQ(last.memo().evictions(), 3);
  EXPECT_EQ(last.memo().reloads(), 0);
  EXPECT_EQ(last.memo().hits(), 2);  // the data set, for b and c (within a benchmark's
                                     // runs the body's Gets hit as well)
  // Model b starts with a's evicted: the libraries and the data set are in,
  // no model. From there each benchmark's peak stays within 1.5 models.
  const int64_t baseline = run.records(1).rss_before_bytes();
  for (const Record& record : run.records()) {
    EXPECT_LT(record.peak_rss_bytes() - baseline, kModelBytes * 3 / 2)
        << record.name() << ": peak " << record.peak_rss_bytes() << ", baseline " << baseline;
  }
  EXPECT_GE(run.context().cores(), 1);
  EXPECT_NE(run.context().cpu_model(), "");
}

TEST_F(RunnerPeakTest, WithoutTeardownEveryModelStaysResident) {
  const RunFile run = RunAndRead("keeping", "--noteardown");
  ASSERT_EQ(run.records_size(), 3);
  EXPECT_EQ(run.records(2).memo().entries(), 4);
  EXPECT_EQ(run.records(2).memo().evictions(), 0);
  EXPECT_EQ(run.records(2).memo().bytes() - run.records(0).memo().bytes(), 2 * kModelBytes);
  // The measurement sees what eviction saves: about three models at once.
  const int64_t start = run.records(0).rss_before_bytes();
  EXPECT_GT(MaxPeak(run) - start, kModelBytes * 5 / 2) << "peak " << MaxPeak(run);
}

TEST_F(RunnerTest, EvictingBeforeTheLastUseIsReportedAsReloads) {
  const CommandResult result =
      RunBench(dir_, absl::StrCat("--out=", dir_, "/early --evict_data_early"));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  absl::StatusOr<RunFile> run = ReadRunFile(dir_ + "/early/tiny_models.json");
  ASSERT_TRUE(run.ok()) << run.status();
  // The data set, evicted after each benchmark, is loaded again for b and c.
  EXPECT_EQ(run->records(2).memo().reloads(), 2);
  EXPECT_EQ(run->records(2).memo().reloads_by_key().at("fashion_test"), 2);
  EXPECT_NE(result.err.find("RELOADS"), std::string::npos) << result.err;
}

TEST_F(RunnerTest, CompareModeExitsNonZeroOnARegression) {
  RunFile baseline = RunAndRead("baseline", "");
  ASSERT_EQ(baseline.records_size(), 3);
  const std::string baseline_path = dir_ + "/baseline/tiny_models.json";

  // The same file against itself: nothing changed.
  CommandResult same =
      RunBench(dir_, absl::StrCat("--compare_files=", baseline_path, ",", baseline_path));
  EXPECT_EQ(same.exit_code, 0) << same.out << same.err;
  EXPECT_EQ(same.out.find("REGRESSION"), std::string::npos) << same.out;

  // A "current" run whose accuracy on model b fell by a half.
  RunFile worse = baseline;
  auto& accuracy = (*worse.mutable_records(1)->mutable_values())["accuracy"];
  accuracy.set_value(accuracy.value() / 2 - 0.01);
  const std::string worse_path = dir_ + "/worse.json";
  ASSERT_TRUE(bench::WriteRunFile(worse, worse_path, dir_ + "/worse.csv").ok());
  CommandResult regressed =
      RunBench(dir_, absl::StrCat("--compare_files=", baseline_path, ",", worse_path));
  EXPECT_EQ(regressed.exit_code, 1) << regressed.out << regressed.err;
  EXPECT_NE(regressed.out.find("REGRESSION"), std::string::npos) << regressed.out;
  EXPECT_NE(regressed.out.find("accuracy/model:b"), std::string::npos) << regressed.out;
}

TEST_F(RunnerTest, AModelThatFailsToLoadFailsItsBenchmarkWithTheReason) {
  WriteFile(dir_ + "/b.safetensors", "not a safetensors file");
  const CommandResult result = RunBench(dir_, absl::StrCat("--out=", dir_, "/failing"));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("1 benchmark failed"), std::string::npos) << result.err;
  absl::StatusOr<RunFile> run = ReadRunFile(dir_ + "/failing/tiny_models.json");
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->records_size(), 3);
  EXPECT_EQ(run->records(0).error(), "");
  EXPECT_NE(run->records(1).error().find("b.safetensors"), std::string::npos)
      << run->records(1).error();
  EXPECT_EQ(run->records(2).error(), "");
}

}  // namespace
}  // namespace mnemo
