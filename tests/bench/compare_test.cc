#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/bench/records.h"

namespace mnemo::bench {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

Record MakeRecord(const std::string& name, double real_time_seconds) {
  Record record;
  record.set_name(name);
  record.set_real_time_seconds(real_time_seconds);
  return record;
}

void SetValue(Record* record, const std::string& name, double value, Value::Better better) {
  Value& v = (*record->mutable_values())[name];
  v.set_value(value);
  v.set_better(better);
}

RunFile MakeRun(std::vector<Record> records) {
  RunFile run;
  run.set_format_version(kRunFileFormatVersion);
  for (Record& record : records) *run.add_records() = std::move(record);
  return run;
}

// One record holding one value, `before` in the baseline and `after` now.
Comparison CompareValue(double before, double after, Value::Better better, double tolerance) {
  Record baseline = MakeRecord("r", 0);
  SetValue(&baseline, "v", before, better);
  Record current = MakeRecord("r", 0);
  SetValue(&current, "v", after, better);
  return CompareRuns(MakeRun({baseline}), MakeRun({current}), tolerance);
}

TEST(CompareRunsTest, EqualRunsHaveNoRegression) {
  Record timed = MakeRecord("timed", 0.5);
  SetValue(&timed, "accuracy", 0.9, Value::HIGHER);
  SetValue(&timed, "loss", 0.3, Value::LOWER);
  SetValue(&timed, "epochs", 3, Value::BETTER_UNSPECIFIED);
  timed.set_peak_rss_bytes(100 << 20);
  Record failed = MakeRecord("failed", 0);
  failed.set_error("no data");
  const RunFile run = MakeRun({timed, failed});

  const Comparison comparison = CompareRuns(run, run, 0.05);
  EXPECT_EQ(comparison.regressions, 0);
  EXPECT_EQ(comparison.improvements, 0);
  EXPECT_EQ(comparison.compared, 2);
  EXPECT_THAT(comparison.missing, IsEmpty());
  EXPECT_THAT(comparison.added, IsEmpty());
  // real_time, accuracy, epochs, loss, peak_rss, and the error seen on both sides.
  EXPECT_THAT(comparison.lines, SizeIs(6));
  EXPECT_THAT(comparison.lines, Not(Contains(HasSubstr("REGRESSION"))));
}

TEST(CompareRunsTest, SlowerTimeRegressesBeyondTheTolerance) {
  const RunFile baseline = MakeRun({MakeRecord("train/model:small", 1.0)});
  const RunFile current = MakeRun({MakeRecord("train/model:small", 1.1)});

  const Comparison strict = CompareRuns(baseline, current, 0.05);
  EXPECT_EQ(strict.regressions, 1);
  EXPECT_THAT(strict.lines,
              ElementsAre(AllOf(HasSubstr("train/model:small"), HasSubstr("real_time"),
                                HasSubstr("+10.0%"), EndsWith("REGRESSION"))));

  const Comparison loose = CompareRuns(baseline, current, 0.20);
  EXPECT_EQ(loose.regressions, 0);
  EXPECT_THAT(loose.lines, ElementsAre(EndsWith("ok")));

  const Comparison faster = CompareRuns(current, baseline, 0.05);
  EXPECT_EQ(faster.regressions, 0);
  EXPECT_EQ(faster.improvements, 1);
}

TEST(CompareRunsTest, LineReadsBaselineArrowCurrentChangeAndVerdict) {
  const Comparison comparison =
      CompareRuns(MakeRun({MakeRecord("accuracy/model:small", 0.512)}),
                  MakeRun({MakeRecord("accuracy/model:small", 0.498)}), 0.05);
  EXPECT_THAT(comparison.lines,
              ElementsAre("accuracy/model:small  real_time  512 ms -> 498 ms  -2.7%  ok"));
}

TEST(CompareRunsTest, HigherIsBetter) {
  EXPECT_EQ(CompareValue(0.90, 0.80, Value::HIGHER, 0.05).regressions, 1);
  const Comparison rising = CompareValue(0.80, 0.90, Value::HIGHER, 0.05);
  EXPECT_EQ(rising.regressions, 0);
  EXPECT_EQ(rising.improvements, 1);
  EXPECT_THAT(rising.lines, ElementsAre(EndsWith("improved")));
  const Comparison within = CompareValue(0.90, 0.88, Value::HIGHER, 0.05);
  EXPECT_EQ(within.regressions, 0);
  EXPECT_EQ(within.improvements, 0);
}

TEST(CompareRunsTest, LowerIsBetter) {
  EXPECT_EQ(CompareValue(0.5, 0.6, Value::LOWER, 0.05).regressions, 1);
  const Comparison falling = CompareValue(0.5, 0.4, Value::LOWER, 0.05);
  EXPECT_EQ(falling.regressions, 0);
  EXPECT_EQ(falling.improvements, 1);
  EXPECT_EQ(CompareValue(0.5, 0.51, Value::LOWER, 0.05).regressions, 0);
}

TEST(CompareRunsTest, ValueWithoutDirectionIsReportedOnly) {
  const Comparison comparison = CompareValue(1, 100, Value::BETTER_UNSPECIFIED, 0.05);
  EXPECT_EQ(comparison.regressions, 0);
  EXPECT_EQ(comparison.improvements, 0);
  EXPECT_THAT(comparison.lines, ElementsAre(AllOf(HasSubstr("+9900.0%"), EndsWith("info"))));
}

// The band is tolerance x |baseline|: higher stays better below zero.
TEST(CompareRunsTest, NegativeBaseline) {
  EXPECT_EQ(CompareValue(-1.0, -1.0, Value::HIGHER, 0.05).regressions, 0);
  EXPECT_EQ(CompareValue(-1.0, -1.02, Value::HIGHER, 0.05).regressions, 0);
  EXPECT_EQ(CompareValue(-1.0, -1.2, Value::HIGHER, 0.05).regressions, 1);
  EXPECT_EQ(CompareValue(-1.0, -0.8, Value::HIGHER, 0.05).improvements, 1);
  EXPECT_EQ(CompareValue(-1.0, -0.8, Value::LOWER, 0.05).regressions, 1);
  EXPECT_THAT(CompareValue(-2.0, -1.0, Value::HIGHER, 0.05).lines,
              ElementsAre(HasSubstr("+50.0%")));
}

// No relative band around zero: any move the wrong way counts.
TEST(CompareRunsTest, ZeroBaseline) {
  EXPECT_EQ(CompareValue(0, 0, Value::LOWER, 0.05).regressions, 0);
  EXPECT_EQ(CompareValue(0, 1, Value::LOWER, 0.05).regressions, 1);
  EXPECT_EQ(CompareValue(0, -0.001, Value::HIGHER, 0.05).regressions, 1);
  EXPECT_EQ(CompareValue(0, 0.001, Value::HIGHER, 0.05).improvements, 1);
  EXPECT_THAT(CompareValue(0, 1, Value::LOWER, 0.05).lines, ElementsAre(HasSubstr("n/a")));
}

TEST(CompareRunsTest, NanRegresses) {
  EXPECT_EQ(CompareValue(0.3, std::nan(""), Value::LOWER, 0.05).regressions, 1);
  EXPECT_EQ(CompareValue(std::nan(""), 0.3, Value::LOWER, 0.05).improvements, 1);
  EXPECT_EQ(CompareValue(std::nan(""), std::nan(""), Value::LOWER, 0.05).regressions, 0);
}

TEST(CompareRunsTest, NegativeOrNanToleranceCountsAsZero) {
  EXPECT_EQ(CompareValue(1, 1, Value::LOWER, -0.5).regressions, 0);
  EXPECT_EQ(CompareValue(1, 1.001, Value::LOWER, -0.5).regressions, 1);
  EXPECT_EQ(CompareValue(1, 1.001, Value::LOWER, std::nan("")).regressions, 1);
  EXPECT_EQ(CompareValue(1, 1, Value::LOWER, std::nan("")).tolerance, 0);
}

TEST(CompareRunsTest, PeakResidentMemoryLowerIsBetter) {
  Record baseline = MakeRecord("r", 0);
  baseline.set_peak_rss_bytes(int64_t{100} << 20);
  Record current = baseline;
  current.set_peak_rss_bytes(int64_t{120} << 20);
  const Comparison comparison = CompareRuns(MakeRun({baseline}), MakeRun({current}), 0.05);
  EXPECT_EQ(comparison.regressions, 1);
  EXPECT_THAT(comparison.lines,
              ElementsAre("r  peak_rss  100.0 MiB -> 120.0 MiB  +20.0%  REGRESSION"));

  // Zero: not measured on one side, so not compared.
  Record unmeasured = baseline;
  unmeasured.set_peak_rss_bytes(0);
  EXPECT_THAT(CompareRuns(MakeRun({unmeasured}), MakeRun({current}), 0.05).lines, IsEmpty());
}

TEST(CompareRunsTest, ValuesOnOneSideAreReportedNotJudged) {
  Record baseline = MakeRecord("r", 0);
  SetValue(&baseline, "old", 1, Value::HIGHER);
  Record current = MakeRecord("r", 0);
  SetValue(&current, "new", 1, Value::HIGHER);
  const Comparison comparison = CompareRuns(MakeRun({baseline}), MakeRun({current}), 0.05);
  EXPECT_EQ(comparison.regressions, 0);
  EXPECT_THAT(comparison.lines, ElementsAre(AllOf(HasSubstr("new"), HasSubstr("absent -> 1")),
                                            AllOf(HasSubstr("old"), HasSubstr("-> absent"))));
}

TEST(CompareRunsTest, MissingAndAddedRecordsAreListed) {
  const RunFile baseline = MakeRun({MakeRecord("a", 1), MakeRecord("b", 1)});
  const RunFile current = MakeRun({MakeRecord("b", 1), MakeRecord("c", 1)});
  const Comparison comparison = CompareRuns(baseline, current, 0.05);
  EXPECT_EQ(comparison.regressions, 0);
  EXPECT_EQ(comparison.compared, 1);
  EXPECT_THAT(comparison.missing, ElementsAre("a"));
  EXPECT_THAT(comparison.added, ElementsAre("c"));
  const std::string text = FormatComparison(comparison);
  EXPECT_THAT(text, HasSubstr("missing from the current run: a\n"));
  EXPECT_THAT(text, HasSubstr("new in the current run: c\n"));
  EXPECT_THAT(text, EndsWith("0 regressions, 0 improvements in 1 record compared "
                             "(tolerance 5%); 1 missing, 1 added\n"));
}

TEST(CompareRunsTest, NewErrorRegresses) {
  Record ok = MakeRecord("r", 1);
  SetValue(&ok, "accuracy", 0.9, Value::HIGHER);
  Record failed = MakeRecord("r", 0);
  failed.set_error("out of memory\nwhile loading");

  const Comparison broken = CompareRuns(MakeRun({ok}), MakeRun({failed}), 0.05);
  EXPECT_EQ(broken.regressions, 1);
  // Only the error: a failed benchmark's figures are not compared.
  EXPECT_THAT(broken.lines,
              ElementsAre("r  error  ok -> failed    REGRESSION: out of memory while loading"));
  EXPECT_THAT(FormatComparison(broken),
              EndsWith("1 regression, 0 improvements in 1 record compared "
                       "(tolerance 5%); 0 missing, 0 added\n"));

  const Comparison fixed = CompareRuns(MakeRun({failed}), MakeRun({ok}), 0.05);
  EXPECT_EQ(fixed.regressions, 0);
  EXPECT_EQ(fixed.improvements, 1);

  const Comparison still = CompareRuns(MakeRun({failed}), MakeRun({failed}), 0.05);
  EXPECT_EQ(still.regressions, 0);
  EXPECT_THAT(still.lines, ElementsAre(HasSubstr("info: out of memory")));
}

TEST(CompareRunsTest, ColumnsAreAligned) {
  Record baseline = MakeRecord("short", 2.0);
  SetValue(&baseline, "accuracy", 0.9, Value::HIGHER);
  Record longer = MakeRecord("a/much/longer/name", 0.002);
  const Comparison comparison =
      CompareRuns(MakeRun({baseline, longer}), MakeRun({baseline, longer}), 0.05);
  ASSERT_THAT(comparison.lines, SizeIs(3));
  const size_t arrow = comparison.lines[0].find(" -> ");
  for (const std::string& line : comparison.lines) EXPECT_EQ(line.find(" -> "), arrow) << line;
}

}  // namespace
}  // namespace mnemo::bench
