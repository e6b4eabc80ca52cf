// The scaling benchmark of data-parallel training (issue 19): samples per
// second of 1, 2 and 4 ranks (one thread each) on the seed MLP and the deep
// MLP, the all-reduce's bandwidth and its share of a step.
//
//   ./bazelw run //tools/bench:data_parallel_scaling -- [--reps=3]
//
// For each repetition, for each config, for each N of --ranks (in that
// order, so that a machine's drift hits every N alike) it runs
//
//   <--mpirun> -np N data_parallel_benchmark --config=... --threads=1 ...
//
// (tools/bench/data_parallel_benchmark.cc says what that measures) and prints
// the run's figures; then, per config and N: the global samples per second
// (min / median / max over the repetitions), its ratio to the first N of
// --ranks in the same repetition (min / median / max), and the all-reduce of
// the gradients: its median time and algorithm bandwidth, and its share of a
// step (min / median / max). On a shared machine the others' work shows in
// the spread; to tell which runs it hit, every run's line says how many
// cores the rest of the machine kept busy meanwhile (the machine's busy CPU
// time, /proc/stat, less the run's own, over its wall time), and the table
// the most of that per row.

#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/status_macros.h"
#include "core/stopwatch.h"
#include "tools/bench/spread.h"
#include "tools/command_line.h"
#include "tools/paths.h"
#include "tools/tool_main.h"

ABSL_FLAG(int, reps, 3, "repetitions of every (config, ranks) run");
ABSL_FLAG(std::vector<std::string>, ranks, std::vector<std::string>({"1", "2", "4"}),
          "the numbers of ranks; ratios are to the first");
ABSL_FLAG(std::vector<std::string>, configs,
          std::vector<std::string>({"configs/fashion_mlp.pbtxt", "configs/deep_mlp_onednn.pbtxt"}),
          "the configs: the seed MLP and the deep MLP");
// A step of the seed MLP takes milliseconds; one of the deep MLP at batch
// 4096 on one thread takes seconds, and the training set holds 14 of its
// batches.
ABSL_FLAG(std::vector<std::string>, warmup_steps, std::vector<std::string>({"20", "2"}),
          "untimed steps of each config, in --configs' order");
ABSL_FLAG(std::vector<std::string>, steps, std::vector<std::string>({"200", "8"}),
          "timed steps of each config, in --configs' order");
ABSL_FLAG(int, threads, 1, "model.threads of every rank");
ABSL_FLAG(int, allreduce_reps, 10, "all-reduces timed in each run (the median)");
ABSL_FLAG(std::string, mpirun, "/usr/bin/mpirun --allow-run-as-root --oversubscribe",
          "the launcher command, to which -np N is appended");
ABSL_FLAG(std::string, benchmark, "tools/bench/data_parallel_benchmark",
          "the benchmark binary (found in the runfiles under bazel run)");

namespace mnemo {
namespace {

constexpr char kUsage[] =
    "Samples per second of data-parallel training for 1, 2 and 4 ranks on the seed MLP and\n"
    "the deep MLP, interleaved, with the all-reduce's bandwidth and share of a step.\n\n"
    "  ./bazelw run //tools/bench:data_parallel_scaling -- [--reps=3]\n";

// What one config is run with.
struct Workload {
  std::string config;  // absolute
  int warmup_steps = 0;
  int steps = 0;
};

// One run's figures: data_parallel_benchmark's line as key -> value.
using Figures = std::map<std::string, std::string>;

absl::StatusOr<std::vector<int>> ParseInts(const std::vector<std::string>& values, const char* flag,
                                           int min) {
  std::vector<int> parsed;
  for (const std::string& value : values) {
    int n = 0;
    if (!absl::SimpleAtoi(value, &n) || n < min) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, ": \"", value, "\" is not a whole number >= ", min));
    }
    parsed.push_back(n);
  }
  return parsed;
}

absl::StatusOr<std::vector<Workload>> Workloads() {
  const std::vector<std::string>& configs = absl::GetFlag(FLAGS_configs);
  MNEMO_ASSIGN_OR_RETURN(const std::vector<int> warmup,
                         ParseInts(absl::GetFlag(FLAGS_warmup_steps), "warmup_steps", 1));
  MNEMO_ASSIGN_OR_RETURN(const std::vector<int> steps,
                         ParseInts(absl::GetFlag(FLAGS_steps), "steps", 1));
  if (warmup.size() != configs.size() || steps.size() != configs.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--warmup_steps (", warmup.size(), " values) and --steps (", steps.size(),
                     ") need one value per config of --configs (", configs.size(), ")"));
  }
  std::vector<Workload> workloads;
  for (size_t i = 0; i < configs.size(); ++i) {
    MNEMO_ASSIGN_OR_RETURN(const std::string path, FindInputFile(configs[i]));
    workloads.push_back({path, warmup[i], steps[i]});
  }
  return workloads;
}

// The shell's standard output of `command`; an error with it unless the
// command exited with 0. Its standard error goes to ours.
absl::StatusOr<std::string> Output(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return absl::InternalError(absl::StrCat("cannot run ", command));
  std::string output;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  const int status = ::pclose(pipe);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat("this failed: ", command, "\n", output));
  }
  return output;
}

// The benchmark's "data_parallel key=value ..." line of `output`.
absl::StatusOr<Figures> ParseFigures(const std::string& output) {
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    if (!absl::ConsumePrefix(&line, "data_parallel ")) continue;
    Figures figures;
    for (absl::string_view field : absl::StrSplit(line, ' ', absl::SkipEmpty())) {
      const std::pair<std::string, std::string> kv = absl::StrSplit(field, absl::MaxSplits('=', 1));
      figures[kv.first] = kv.second;
    }
    return figures;
  }
  return absl::InternalError(absl::StrCat("no data_parallel line in its output:\n", output));
}

absl::StatusOr<double> Number(const Figures& figures, const std::string& key) {
  const auto it = figures.find(key);
  double value = 0;
  if (it == figures.end() || !absl::SimpleAtod(it->second, &value)) {
    return absl::InternalError(absl::StrCat("the benchmark printed no number ", key));
  }
  return value;
}

// The CPU seconds the whole machine has been busy (/proc/stat's first line:
// all but idle and iowait), and those of this process's children waited for.
struct CpuTimes {
  double machine = 0;
  double children = 0;
};

CpuTimes ReadCpuTimes() {
  CpuTimes times;
  std::ifstream stat("/proc/stat");
  std::string cpu;
  stat >> cpu;
  double ticks[10] = {};
  for (double& t : ticks) stat >> t;
  double busy = 0;
  for (int i = 0; i < 10; ++i) {
    // user nice system idle iowait irq softirq steal guest guest_nice; guest
    // time is counted in user already.
    if (i != 3 && i != 4 && i < 8) busy += ticks[i];
  }
  times.machine = busy / static_cast<double>(::sysconf(_SC_CLK_TCK));
  rusage usage{};
  ::getrusage(RUSAGE_CHILDREN, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + 1e-6 * t.tv_usec; };
  times.children = seconds(usage.ru_utime) + seconds(usage.ru_stime);
  return times;
}

// The cores the rest of the machine kept busy between `before` and `after`,
// `wall` seconds apart.
double OthersCores(const CpuTimes& before, const CpuTimes& after, double wall) {
  const double others = (after.machine - before.machine) - (after.children - before.children);
  return std::max(0.0, others / wall);
}

std::string LoadAverage() {
  std::string line;
  std::getline(std::ifstream("/proc/loadavg"), line);
  return line.empty() ? "?" : line;
}

// "min / median / max" with `digits` after the point.
std::string Three(const bench::Spread& s, int digits) {
  return absl::StrFormat("%.*f / %.*f / %.*f", digits, s.min, digits, s.median, digits, s.max);
}

// The spread over the repetitions of `key` of one (config, ranks).
absl::StatusOr<bench::Spread> SpreadOf(const std::vector<Figures>& runs, const std::string& key,
                                       double scale = 1) {
  std::vector<double> values;
  for (const Figures& run : runs) {
    MNEMO_ASSIGN_OR_RETURN(const double value, Number(run, key));
    values.push_back(scale * value);
  }
  return bench::SpreadOf(values);
}

// The table of one config: a row per number of ranks.
absl::Status PrintSummary(const Workload& workload, const std::vector<int>& ranks,
                          const std::vector<std::vector<Figures>>& runs) {
  const Figures& first = runs[0][0];
  absl::PrintF("\n%s: global batch %s, %d timed steps after %d, %s thread%s per rank, %zu reps\n",
               first.at("config"), first.at("batch"), workload.steps, workload.warmup_steps,
               first.at("threads"), first.at("threads") == "1" ? "" : "s", runs[0].size());
  absl::PrintF("%5s  %-30s  %-20s  %14s  %8s  %-21s  %s\n", "ranks", "samples/s min / median / max",
               absl::StrCat("x ", ranks[0], " rank", ranks[0] == 1 ? "" : "s", " (same rep)"),
               "all-reduce ms", "GB/s", "share of a step", "others' cores (max)");
  for (size_t r = 0; r < ranks.size(); ++r) {
    MNEMO_ASSIGN_OR_RETURN(const bench::Spread samples, SpreadOf(runs[r], "samples_per_second"));
    std::vector<double> ratios;
    for (size_t rep = 0; rep < runs[r].size(); ++rep) {
      MNEMO_ASSIGN_OR_RETURN(const double here, Number(runs[r][rep], "samples_per_second"));
      MNEMO_ASSIGN_OR_RETURN(const double base, Number(runs[0][rep], "samples_per_second"));
      ratios.push_back(here / base);
    }
    std::string allreduce = "-", bandwidth = "-", share = "-";
    if (ranks[r] > 1) {
      MNEMO_ASSIGN_OR_RETURN(const bench::Spread ms, SpreadOf(runs[r], "allreduce_seconds", 1e3));
      MNEMO_ASSIGN_OR_RETURN(const bench::Spread gbs, SpreadOf(runs[r], "allreduce_gb_per_second"));
      MNEMO_ASSIGN_OR_RETURN(const bench::Spread part, SpreadOf(runs[r], "allreduce_share"));
      allreduce = absl::StrFormat("%.3f", ms.median);
      bandwidth = absl::StrFormat("%.2f", gbs.median);
      share = Three(part, 3);
    }
    MNEMO_ASSIGN_OR_RETURN(const bench::Spread others, SpreadOf(runs[r], "others_cores"));
    absl::PrintF("%5d  %-30s  %-20s  %14s  %8s  %-21s  %.2f\n", ranks[r], Three(samples, 0),
                 Three(bench::SpreadOf(ratios), 2), allreduce, bandwidth, share, others.max);
  }
  return absl::OkStatus();
}

absl::Status Run() {
  const int reps = absl::GetFlag(FLAGS_reps);
  if (reps < 1) return absl::InvalidArgumentError(absl::StrCat("--reps must be >= 1, not ", reps));
  MNEMO_ASSIGN_OR_RETURN(const std::vector<int> ranks,
                         ParseInts(absl::GetFlag(FLAGS_ranks), "ranks", 1));
  if (ranks.empty()) return absl::InvalidArgumentError("--ranks is empty");
  MNEMO_ASSIGN_OR_RETURN(const std::vector<Workload> workloads, Workloads());
  MNEMO_ASSIGN_OR_RETURN(const std::string benchmark,
                         FindInputFile(absl::GetFlag(FLAGS_benchmark)));

  absl::PrintF("load average before: %s\n", LoadAverage());
  // runs[config][ranks index][rep]
  std::vector<std::vector<std::vector<Figures>>> runs(
      workloads.size(), std::vector<std::vector<Figures>>(ranks.size()));
  for (int rep = 0; rep < reps; ++rep) {
    for (size_t w = 0; w < workloads.size(); ++w) {
      for (size_t r = 0; r < ranks.size(); ++r) {
        const Workload& workload = workloads[w];
        const std::string command = absl::StrCat(
            absl::GetFlag(FLAGS_mpirun), " -np ", ranks[r], " ", ShellQuote(benchmark),
            " --config=", ShellQuote(workload.config), " --threads=", absl::GetFlag(FLAGS_threads),
            " --warmup_steps=", workload.warmup_steps, " --steps=", workload.steps,
            " --allreduce_reps=", absl::GetFlag(FLAGS_allreduce_reps));
        const CpuTimes before = ReadCpuTimes();
        const Stopwatch stopwatch;
        MNEMO_ASSIGN_OR_RETURN(const std::string output, Output(command));
        const double others = OthersCores(before, ReadCpuTimes(), stopwatch.ElapsedSeconds());
        MNEMO_ASSIGN_OR_RETURN(Figures run, ParseFigures(output));
        run["others_cores"] = absl::StrFormat("%.3f", others);
        MNEMO_ASSIGN_OR_RETURN(const double samples, Number(run, "samples_per_second"));
        MNEMO_ASSIGN_OR_RETURN(const double step, Number(run, "step_seconds"));
        MNEMO_ASSIGN_OR_RETURN(const double allreduce, Number(run, "allreduce_seconds"));
        absl::PrintF(
            "rep %d/%d  %-16s  %d rank%s  %10.1f samples/s  step %8.4f s  all-reduce %7.3f ms  "
            "others %.2f cores\n",
            rep + 1, reps, run["config"], ranks[r], ranks[r] == 1 ? " " : "s", samples, step,
            1e3 * allreduce, others);
        std::fflush(stdout);
        runs[w][r].push_back(std::move(run));
      }
    }
  }
  absl::PrintF("load average after: %s\n", LoadAverage());
  for (size_t w = 0; w < workloads.size(); ++w) {
    MNEMO_RETURN_IF_ERROR(PrintSummary(workloads[w], ranks, runs[w]));
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace mnemo

int main(int argc, char** argv) {
  return mnemo::RunTool(argc, argv, "data_parallel_scaling", mnemo::kUsage, mnemo::Run);
}
