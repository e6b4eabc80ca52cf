#include "tools/bench/runner.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "caching/bench_memo/memo_cache.h"
#include "core/format_bytes.h"
#include "core/status_macros.h"
#include "tools/bench/records.h"
#include "tools/paths.h"
#include "tools/resident_memory.h"
#include "tools/run_outputs.h"

ABSL_FLAG(std::string, out, "",
          "directory of the run's records, <suite>.json and <suite>.csv; default out/bench");
ABSL_FLAG(std::string, compare, "",
          "a record file of an earlier run: compare this run with it and exit 1 on a "
          "regression");
ABSL_FLAG(std::string, compare_files, "",
          "BASELINE.json,CURRENT.json: compare two record files without running anything");
ABSL_FLAG(double, tolerance, 0.05,
          "relative change within which compare mode calls a figure unchanged");
ABSL_FLAG(bool, teardown, true,
          "run the benchmarks' teardown hooks (--noteardown keeps every memo cached: the "
          "memory all models at once would need)");
ABSL_FLAG(double, memo_capacity_mb, 0,
          "a bound on the memo cache's bytes, least recently used out first; 0 = none");

namespace mnemo {
namespace bench {
namespace {

// Passes Google Benchmark's output to the display reporter (its context
// once, not once a benchmark) and keeps the runs for the records.
class CollectingReporter : public benchmark::BenchmarkReporter {
 public:
  explicit CollectingReporter(benchmark::BenchmarkReporter* display) : display_(display) {}

  bool ReportContext(const Context& context) override {
    if (context_shown_) return true;
    context_shown_ = true;
    return display_->ReportContext(context);
  }
  void ReportRuns(const std::vector<Run>& runs) override {
    display_->ReportRuns(runs);
    runs_.insert(runs_.end(), runs.begin(), runs.end());
  }
  void Finalize() override { display_->Finalize(); }

  std::vector<Run> TakeRuns() { return std::exchange(runs_, {}); }

 private:
  benchmark::BenchmarkReporter* display_;
  bool context_shown_ = false;
  std::vector<Run> runs_;
};

// The run a record keeps: with repetitions, their median; otherwise the last
// (Google Benchmark reports each run it sized before the one it kept only
// internally, so there is one).
const benchmark::BenchmarkReporter::Run* RecordedRun(
    const std::vector<benchmark::BenchmarkReporter::Run>& runs) {
  for (const auto& run : runs) {
    if (run.run_type == benchmark::BenchmarkReporter::Run::RT_Aggregate &&
        run.aggregate_name == "median") {
      return &run;
    }
  }
  return runs.empty() ? nullptr : &runs.back();
}

void FillMemoRecord(const MemoStats& stats, MemoRecord* record) {
  record->set_entries(stats.entries);
  record->set_bytes(stats.bytes);
  record->set_loads(stats.loads);
  record->set_load_failures(stats.load_failures);
  record->set_hits(stats.hits);
  record->set_evictions(stats.evictions);
  record->set_capacity_evictions(stats.capacity_evictions);
  record->set_evicted_in_use(stats.evicted_in_use);
  record->set_reloads(stats.reloads);
  record->set_load_seconds(stats.load_seconds);
  record->set_reload_seconds(stats.reload_seconds);
  for (const auto& [key, count] : stats.reloads_by_key) {
    (*record->mutable_reloads_by_key())[key] = count;
  }
}

std::string MemoLine(const MemoStats& stats) {
  std::string line =
      absl::StrFormat("memo: %d cached (%s), %d loads (%.2f s), %d hits, %d evicted", stats.entries,
                      FormatBytes(static_cast<double>(stats.bytes)), stats.loads,
                      stats.load_seconds, stats.hits, stats.evictions + stats.capacity_evictions);
  if (stats.reloads > 0) {
    // The seed's warning, made visible: an eviction before a value's last use.
    absl::StrAppendFormat(&line, ", %d RELOADS (%.2f s lost; evicted before their last use)",
                          stats.reloads, stats.reload_seconds);
  }
  return line;
}

absl::Status CompareFiles(const std::string& baseline_path, const RunFile& current) {
  MNEMO_ASSIGN_OR_RETURN(RunFile baseline, ReadRunFile(baseline_path));
  const Comparison comparison = CompareRuns(baseline, current, absl::GetFlag(FLAGS_tolerance));
  std::fputs(FormatComparison(comparison).c_str(), stdout);
  if (comparison.regressions > 0) {
    return absl::FailedPreconditionError(absl::StrCat(comparison.regressions, " regression",
                                                      comparison.regressions == 1 ? "" : "s",
                                                      " against ", baseline_path));
  }
  return absl::OkStatus();
}

// Runs `benchmark` on its own between its hooks, with the peak resident
// memory reset before it; leaves `record` empty when a filter skipped it.
absl::Status RunOne(const Benchmark& benchmark, CollectingReporter& reporter, Record* record) {
  MNEMO_RETURN_IF_ERROR(ResetPeakResidentMemory());
  MNEMO_ASSIGN_OR_RETURN(ResidentMemory before, ReadResidentMemory());

  // Google Benchmark calls the body once per run it sizes; the hooks belong
  // around all of them, and not at all when a filter skips the benchmark.
  bool started = false;
  std::map<std::string, Value> values;
  const std::string full_name = benchmark.FullName();
  benchmark::RegisterBenchmark(full_name.c_str(),
                               [&](benchmark::State& state) {
                                 if (!started) {
                                   started = true;
                                   for (const auto& hook : benchmark.setups()) hook();
                                 }
                                 Report report(&state);
                                 benchmark.body()(state, report);
                                 values = report.values();
                               })
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::ClearRegisteredBenchmarks();
  const std::vector<benchmark::BenchmarkReporter::Run> runs = reporter.TakeRuns();
  if (!started) return absl::OkStatus();  // filtered out: no record

  if (absl::GetFlag(FLAGS_teardown)) {
    for (const auto& hook : benchmark.teardowns()) hook();
  }
  MNEMO_ASSIGN_OR_RETURN(ResidentMemory after, ReadResidentMemory());

  record->set_name(full_name);
  for (const auto& [key, value] : benchmark.params()) (*record->mutable_params())[key] = value;
  record->set_rss_before_bytes(before.current_bytes);
  record->set_peak_rss_bytes(after.peak_bytes);
  FillMemoRecord(MemoCache::Global().stats(), record->mutable_memo());
  const benchmark::BenchmarkReporter::Run* run = RecordedRun(runs);
  if (run == nullptr || run->error_occurred) {
    record->set_error(run == nullptr ? "Google Benchmark reported no run" : run->error_message);
    return absl::OkStatus();
  }
  // The counters as Google Benchmark finished them (a rate divided by the
  // time, an average by the iterations), with the report's direction and unit.
  for (const auto& [name, value] : values) {
    Value& kept = (*record->mutable_values())[name];
    kept = value;
    if (auto it = run->counters.find(name); it != run->counters.end()) {
      kept.set_value(it->second.value);
    }
  }
  const double units_per_second = benchmark::GetTimeUnitMultiplier(run->time_unit);
  record->set_real_time_seconds(run->GetAdjustedRealTime() / units_per_second);
  record->set_cpu_time_seconds(run->GetAdjustedCPUTime() / units_per_second);
  record->set_iterations(run->iterations);
  return absl::OkStatus();
}

}  // namespace

void Report::Set(const std::string& name, double value, Value::Better better,
                 const std::string& unit) {
  Keep(name, value, better, unit);
  state_->counters[name] = value;
}

void Report::SetRate(const std::string& name, double count, const std::string& unit) {
  Keep(name, count, Value::HIGHER, unit);
  state_->counters[name] = benchmark::Counter(count, benchmark::Counter::kIsRate);
}

void Report::Keep(const std::string& name, double value, Value::Better better,
                  const std::string& unit) {
  Value& entry = values_[name];
  entry.set_value(value);
  entry.set_better(better);
  entry.set_unit(unit);
}

void Report::Fail(const absl::Status& status) {
  state_->SkipWithError(std::string(status.message()).c_str());
}

Benchmark& Benchmark::Setup(Hook hook) {
  setups_.push_back(std::move(hook));
  return *this;
}

Benchmark& Benchmark::Teardown(Hook hook) {
  teardowns_.push_back(std::move(hook));
  return *this;
}

std::string Benchmark::FullName() const {
  std::string name = name_;
  for (const auto& [key, value] : params_) absl::StrAppend(&name, "/", key, ":", value);
  return name;
}

Benchmark& Runner::Add(std::string name, Benchmark::Params params, Benchmark::Body body) {
  return benchmarks_.emplace_back(std::move(name), std::move(params), std::move(body));
}

absl::Status Runner::RunAll(RunFile* run) {
  std::unique_ptr<benchmark::BenchmarkReporter> display(benchmark::CreateDefaultDisplayReporter());
  CollectingReporter reporter(display.get());
  int index = 0;
  for (const Benchmark& benchmark : benchmarks_) {
    ++index;
    std::fprintf(stderr, "[%d/%zu] %s\n", index, benchmarks_.size(), benchmark.FullName().c_str());
    Record record;
    MNEMO_RETURN_IF_ERROR(RunOne(benchmark, reporter, &record));
    if (record.name().empty()) continue;
    std::fprintf(stderr, "      peak resident %s (%s at the start); %s\n",
                 FormatBytes(static_cast<double>(record.peak_rss_bytes())).c_str(),
                 FormatBytes(static_cast<double>(record.rss_before_bytes())).c_str(),
                 MemoLine(MemoCache::Global().stats()).c_str());
    *run->add_records() = std::move(record);
  }
  return absl::OkStatus();
}

Runner::Runner(std::string suite, int argc, char** argv)
    : suite_(std::move(suite)), command_line_(argv, argv + argc) {
  benchmark::Initialize(&argc, argv);  // takes the --benchmark_* flags
  absl::SetProgramUsageMessage(absl::StrCat(
      "Runs the \"", suite_,
      "\" benchmarks and writes their records.\n"
      "  [--out=DIR] [--compare=EARLIER.json] [--tolerance=0.05] [--noteardown]\n"
      "  [--memo_capacity_mb=N] [--benchmark_filter=REGEX] [--benchmark_repetitions=N]\n"
      "  --compare_files=BASELINE.json,CURRENT.json compares two record files and exits."));
  const std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (rest.size() > 1) {
    flags_status_ = absl::InvalidArgumentError(
        absl::StrCat("unexpected argument \"", rest[1], "\" (flags start with --)"));
  }
}

int Runner::Run() {
  absl::Status status = flags_status_.ok() ? RunAndRecord() : flags_status_;
  if (!status.ok()) {
    std::fprintf(stderr, "%s: %s\n", suite_.c_str(), std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}

absl::Status Runner::RunAndRecord() {
  if (const std::string files = absl::GetFlag(FLAGS_compare_files); !files.empty()) {
    const std::vector<std::string> paths = absl::StrSplit(files, ',');
    if (paths.size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("--compare_files takes BASELINE.json,CURRENT.json; got \"", files, "\""));
    }
    MNEMO_ASSIGN_OR_RETURN(RunFile current, ReadRunFile(UserPath(paths[1])));
    return CompareFiles(UserPath(paths[0]), current);
  }

  if (const double mb = absl::GetFlag(FLAGS_memo_capacity_mb); mb > 0) {
    MemoCache::Global().SetCapacity(static_cast<int64_t>(mb * 1024 * 1024));
  }
  std::string out = absl::GetFlag(FLAGS_out);
  out = UserPath(out.empty() ? "out/bench" : out);
  MNEMO_RETURN_IF_ERROR(PrepareOutputDirectory(out));

  RunFile run;
  run.set_format_version(kRunFileFormatVersion);
  MNEMO_RETURN_IF_ERROR(RunAll(&run));
  // After the run: the plugins the memos loaded (oneDNN's version) are in.
  std::vector<char*> argv;
  for (std::string& arg : command_line_) argv.push_back(arg.data());
  *run.mutable_context() = CollectContext(static_cast<int>(argv.size()), argv.data());

  const std::string json_path = absl::StrCat(out, "/", suite_, ".json");
  const std::string csv_path = absl::StrCat(out, "/", suite_, ".csv");
  MNEMO_RETURN_IF_ERROR(WriteRunFile(run, json_path, csv_path));
  int64_t peak = 0;
  for (const Record& record : run.records()) peak = std::max(peak, record.peak_rss_bytes());
  const int64_t start = run.records().empty() ? 0 : run.records(0).rss_before_bytes();
  std::printf("peak resident memory %s (%s at the start)\n",
              FormatBytes(static_cast<double>(peak)).c_str(),
              FormatBytes(static_cast<double>(start)).c_str());
  std::printf("wrote %s, %s\n", json_path.c_str(), csv_path.c_str());
  std::fflush(stdout);

  if (const std::string earlier = absl::GetFlag(FLAGS_compare); !earlier.empty()) {
    MNEMO_RETURN_IF_ERROR(CompareFiles(UserPath(earlier), run));
  }
  int failed = 0;
  for (const Record& record : run.records()) failed += record.error().empty() ? 0 : 1;
  if (failed > 0) {
    return absl::InternalError(
        absl::StrCat(failed, " benchmark", failed == 1 ? "" : "s", " failed; see the records"));
  }
  return absl::OkStatus();
}

}  // namespace bench
}  // namespace mnemo
