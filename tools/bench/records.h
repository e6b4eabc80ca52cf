#ifndef MNEMO_TOOLS_BENCH_RECORDS_H_
#define MNEMO_TOOLS_BENCH_RECORDS_H_

// The run files of the benchmark runner (records.proto): the context of a
// run, writing and reading run files, and comparing two runs.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tools/bench/records.pb.h"

namespace mnemo::bench {

// The RunFile.format_version this build writes and reads.
inline constexpr int kRunFileFormatVersion = 1;

// Where and from what this run is made. Never fails: what cannot be found is
// left empty (git_revision: "unknown"). oneDNN's version is listed only if
// libdnnl is already loaded, so call this after loading plugins.
Context CollectContext(int argc, char** argv);

// Writes `run` as JSON to `json_path` and as CSV (one row per record) to
// `csv_path`, each atomically. A format_version of 0 is written as
// kRunFileFormatVersion; any other than that, or two records of one name, is
// refused before anything is written.
absl::Status WriteRunFile(const RunFile& run, const std::string& json_path,
                          const std::string& csv_path);

// The JSON of `run` (deterministic: map keys sorted, every field printed).
absl::StatusOr<std::string> RunFileToJson(const RunFile& run);

// The CSV of `run`'s records. Columns: name, "param:<key>" for every param key
// of any record (sorted), "value:<name>" for every value name (sorted),
// real_time_seconds, cpu_time_seconds, iterations, rss_before_bytes,
// peak_rss_bytes, memo_loads, memo_hits, memo_evictions, memo_reloads,
// memo_bytes, error. A record without a param or value leaves its cell empty.
std::string RunFileToCsv(const RunFile& run);

// Reads a run file written by WriteRunFile. Refuses unknown fields, a
// format_version other than kRunFileFormatVersion, and two records of one
// name. Errors name `json_path`. Every field reads back as written, doubles
// bit for bit (NaN and infinities included), except -0.0, which protobuf
// writes as -0 and reads back as 0.
absl::StatusOr<RunFile> ReadRunFile(const std::string& json_path);

// The differences between two runs, record by record (matched by name).
struct Comparison {
  // One line per compared figure, columns aligned, e.g.
  //   accuracy/model:small  real_time  512 ms -> 498 ms  -2.7%  ok
  // ending in "ok", "improved", "info" (a value without a direction) or
  // "REGRESSION".
  std::vector<std::string> lines;
  int regressions = 0;
  int improvements = 0;
  int compared = 0;                  // records present in both runs
  double tolerance = 0;              // as used (a negative or NaN one counts as 0)
  std::vector<std::string> missing;  // in the baseline only (not a regression)
  std::vector<std::string> added;    // in the current run only
};

// Compares `current` with `baseline`. A figure regresses when it is worse than
// the baseline by more than `tolerance` (0.05: 5%) of the baseline's magnitude:
//  - real time and peak RSS: lower is better; skipped when either side is 0
//    (not measured);
//  - a value: by its `better` (from the current run); BETTER_UNSPECIFIED is
//    reported, never a regression. The band is tolerance x |baseline|, so a
//    negative baseline is judged like a positive one (higher is still higher),
//    and a zero baseline has no band: any move the wrong way regresses. A NaN
//    where the baseline had a number regresses;
//  - a record failing (error) in the current run but not in the baseline
//    regresses; one fixed since counts as an improvement; one failing in both
//    is reported only. The figures of a failing record are not compared.
// A value present on one side only is reported, not judged.
Comparison CompareRuns(const RunFile& baseline, const RunFile& current, double tolerance);

// The lines, the missing and added records, and a final summary line, e.g.
// "1 regression, 2 improvements in 5 records compared (tolerance 5%); ...".
// Ends with a newline.
std::string FormatComparison(const Comparison& comparison);

}  // namespace mnemo::bench

#endif  // MNEMO_TOOLS_BENCH_RECORDS_H_
