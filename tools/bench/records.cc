#include "tools/bench/records.h"

#include <dlfcn.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <Eigen/Core>
#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/config.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/io/atomic_file.h"
#include "core/io/read_file.h"
#include "core/status_macros.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/stubs/common.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/type_resolver.h"
#include "google/protobuf/util/type_resolver_util.h"
#include "tools/command_line.h"

#ifdef __GLIBC__
#include <gnu/libc-version.h>
#endif

namespace mnemo::bench {
namespace {

// ---------------------------------------------------------------- context

// The standard output of `command` run by the shell, or nullopt if it could not
// run or exited with a failure.
std::optional<std::string> RunCommand(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::string output;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  const int status = ::pclose(pipe);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  return output;
}

std::string GitRevision() {
  // Optional locks off: `git status` would otherwise refresh the index under
  // index.lock and could make a git command of another engineer in the same
  // workspace fail.
  std::string git = "GIT_OPTIONAL_LOCKS=0 git";
  // `bazel run` starts the tool in its runfiles, outside the repository.
  const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY");
  if (workspace != nullptr && *workspace != '\0') {
    absl::StrAppend(&git, " -C ", ShellQuote(std::string(workspace)));
  }
  const std::optional<std::string> head =
      RunCommand(absl::StrCat(git, " rev-parse --short HEAD 2>/dev/null </dev/null"));
  if (!head.has_value()) return "unknown";
  std::string revision(absl::StripAsciiWhitespace(*head));
  if (revision.empty()) return "unknown";
  // Untracked files count: a new config file changes what a benchmark runs.
  const std::optional<std::string> changes =
      RunCommand(absl::StrCat(git, " status --porcelain 2>/dev/null </dev/null"));
  if (changes.has_value() && !absl::StripAsciiWhitespace(*changes).empty()) {
    absl::StrAppend(&revision, "-dirty");
  }
  return revision;
}

std::string CpuModel() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (!absl::StartsWith(line, "model name")) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    return std::string(absl::StripAsciiWhitespace(absl::string_view(line).substr(colon + 1)));
  }
  return "";
}

std::string HostName() {
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0) return "";
  return name;
}

std::string OperatingSystem() {
  struct utsname names;
  if (::uname(&names) != 0) return "";
  return absl::StrCat(names.sysname, " ", names.release, " ", names.machine);
}

std::string Compiler() {
#if defined(__clang__)
  return "clang " __VERSION__;
#elif defined(__GNUC__)
  return "gcc " __VERSION__;
#else
  return "";
#endif
}

std::string Build() {
  std::vector<std::string> words;
#ifdef __OPTIMIZE__
  words.push_back("optimized");
#else
  words.push_back("unoptimized");
#endif
#ifndef NDEBUG
  words.push_back("assertions");
#endif
#ifdef __AVX__
  words.push_back("avx");
#endif
#ifdef __AVX2__
  words.push_back("avx2");
#endif
#ifdef __FMA__
  words.push_back("fma");
#endif
#ifdef __AVX512F__
  words.push_back("avx512f");
#endif
#ifdef __AVX512BW__
  words.push_back("avx512bw");
#endif
#ifdef __AVX512VL__
  words.push_back("avx512vl");
#endif
#ifdef __ARM_NEON
  words.push_back("neon");
#endif
  return absl::StrJoin(words, " ");
}

// Layout-compatible with oneDNN's dnnl_version_t (oneapi/dnnl/dnnl_types.h),
// declared here so that the runner need not link oneDNN.
struct DnnlVersion {
  int major;
  int minor;
  int patch;
  const char* hash;
  unsigned cpu_runtime;
  unsigned gpu_runtime;
};

// oneDNN's version if a plugin has loaded it into this process, else "".
std::string LoadedOneDnnVersion() {
  // RTLD_NOLOAD: only look; loading oneDNN here would report a library the
  // run does not use.
  void* library = ::dlopen("libdnnl.so.2", RTLD_NOW | RTLD_NOLOAD);
  if (library == nullptr) return "";
  std::string version;
  using VersionFunction = const DnnlVersion* (*)();
  const auto dnnl_version = reinterpret_cast<VersionFunction>(::dlsym(library, "dnnl_version"));
  if (dnnl_version != nullptr) {
    const DnnlVersion* v = dnnl_version();
    if (v != nullptr) {
      version = absl::StrCat(v->major, ".", v->minor, ".", v->patch);
      if (v->hash != nullptr && *v->hash != '\0') absl::StrAppend(&version, " (", v->hash, ")");
    }
  }
  ::dlclose(library);  // balances the reference RTLD_NOLOAD took
  return version;
}

// ---------------------------------------------------------------- files

constexpr absl::string_view kTypeUrlPrefix = "type.googleapis.com";

// Shortest text that reads back to the same double.
std::string FormatDouble(double x) {
  char buffer[64];
  const std::to_chars_result result = std::to_chars(buffer, buffer + sizeof(buffer), x);
  if (result.ec != std::errc()) return absl::StrCat(x);
  return std::string(buffer, result.ptr);
}

// A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break.
std::string CsvField(absl::string_view field) {
  if (field.find_first_of(",\"\r\n") == absl::string_view::npos) return std::string(field);
  return absl::StrCat("\"", absl::StrReplaceAll(field, {{"\"", "\"\""}}), "\"");
}

// The name of a record that appears twice, if any.
std::optional<std::string> DuplicateName(const RunFile& run) {
  absl::flat_hash_set<absl::string_view> names;
  for (const Record& record : run.records()) {
    if (!names.insert(record.name()).second) return record.name();
  }
  return std::nullopt;
}

// ---------------------------------------------------------------- compare

enum class Verdict { kOk, kImproved, kRegression, kInfo };

const char* VerdictText(Verdict verdict) {
  switch (verdict) {
    case Verdict::kOk:
      return "ok";
    case Verdict::kImproved:
      return "improved";
    case Verdict::kRegression:
      return "REGRESSION";
    case Verdict::kInfo:
      return "info";
  }
  return "";
}

Verdict Judge(double baseline, double current, Value::Better better, double tolerance) {
  if (better != Value::HIGHER && better != Value::LOWER) return Verdict::kInfo;
  if (std::isnan(baseline)) return std::isnan(current) ? Verdict::kOk : Verdict::kImproved;
  if (std::isnan(current)) return Verdict::kRegression;
  // Relative to the magnitude, so that a negative baseline is not judged
  // backwards; zero leaves no band, as no relative scale exists then.
  const double band = tolerance * std::fabs(baseline);
  const bool higher = current > baseline + band;
  const bool lower = current < baseline - band;
  if (better == Value::HIGHER) {
    return lower ? Verdict::kRegression : higher ? Verdict::kImproved : Verdict::kOk;
  }
  return higher ? Verdict::kRegression : lower ? Verdict::kImproved : Verdict::kOk;
}

std::string Change(double baseline, double current) {
  if (baseline == current) return "+0.0%";
  if (baseline == 0 || !std::isfinite(baseline) || !std::isfinite(current)) return "n/a";
  return absl::StrFormat("%+.1f%%", 100 * (current - baseline) / std::fabs(baseline));
}

// Both times in the unit that suits the baseline, so that they read side by side.
std::pair<std::string, std::string> FormatTimes(double baseline, double current) {
  const double reference = baseline > 0 ? baseline : current;
  double scale = 1;
  const char* unit = "s";
  if (reference < 1e-6) {
    scale = 1e9;
    unit = "ns";
  } else if (reference < 1e-3) {
    scale = 1e6;
    unit = "us";
  } else if (reference < 1) {
    scale = 1e3;
    unit = "ms";
  }
  return {absl::StrFormat("%.4g %s", baseline * scale, unit),
          absl::StrFormat("%.4g %s", current * scale, unit)};
}

std::string FormatValue(const Value& value) {
  std::string text = absl::StrFormat("%.6g", value.value());
  if (!value.unit().empty()) absl::StrAppend(&text, " ", value.unit());
  return text;
}

std::string FormatMebibytes(int64_t bytes) {
  return absl::StrFormat("%.1f MiB", static_cast<double>(bytes) / (1 << 20));
}

// One compared figure, before its columns are aligned.
struct Row {
  std::string name;
  std::string metric;
  std::string before;
  std::string after;
  std::string change;
  Verdict verdict = Verdict::kInfo;
  std::string note;  // after the verdict, unaligned (an error message)
};

std::string OneLine(absl::string_view text) {
  return absl::StrReplaceAll(text, {{"\r\n", " "}, {"\n", " "}, {"\r", " "}});
}

void CompareRecords(const Record& baseline, const Record& current, double tolerance,
                    std::vector<Row>* rows) {
  const std::string& name = current.name();
  const auto add = [&](std::string metric, std::string before, std::string after,
                       std::string change, Verdict verdict, std::string note = "") {
    rows->push_back(Row{name, std::move(metric), std::move(before), std::move(after),
                        std::move(change), verdict, std::move(note)});
  };

  const bool failed_before = !baseline.error().empty();
  const bool failed_now = !current.error().empty();
  if (failed_before || failed_now) {
    const Verdict verdict = failed_now && !failed_before   ? Verdict::kRegression
                            : failed_before && !failed_now ? Verdict::kImproved
                                                           : Verdict::kInfo;
    add("error", failed_before ? "failed" : "ok", failed_now ? "failed" : "ok", "", verdict,
        OneLine(failed_now ? current.error() : baseline.error()));
    // A failed benchmark's figures mean nothing.
    return;
  }

  if (baseline.real_time_seconds() > 0 && current.real_time_seconds() > 0) {
    const double b = baseline.real_time_seconds();
    const double c = current.real_time_seconds();
    auto [before, after] = FormatTimes(b, c);
    add("real_time", std::move(before), std::move(after), Change(b, c),
        Judge(b, c, Value::LOWER, tolerance));
  }

  std::set<std::string> value_names;
  for (const auto& [key, value] : baseline.values()) value_names.insert(key);
  for (const auto& [key, value] : current.values()) value_names.insert(key);
  for (const std::string& key : value_names) {
    const auto b = baseline.values().find(key);
    const auto c = current.values().find(key);
    if (b == baseline.values().end()) {
      add(key, "absent", FormatValue(c->second), "", Verdict::kInfo);
    } else if (c == current.values().end()) {
      add(key, FormatValue(b->second), "absent", "", Verdict::kInfo);
    } else {
      // The current run's direction, which is the one today's code means.
      const Value::Better better =
          c->second.better() != Value::BETTER_UNSPECIFIED ? c->second.better() : b->second.better();
      const double before = b->second.value();
      const double after = c->second.value();
      add(key, FormatValue(b->second), FormatValue(c->second), Change(before, after),
          Judge(before, after, better, tolerance));
    }
  }

  if (baseline.peak_rss_bytes() > 0 && current.peak_rss_bytes() > 0) {
    const double b = static_cast<double>(baseline.peak_rss_bytes());
    const double c = static_cast<double>(current.peak_rss_bytes());
    add("peak_rss", FormatMebibytes(baseline.peak_rss_bytes()),
        FormatMebibytes(current.peak_rss_bytes()), Change(b, c),
        Judge(b, c, Value::LOWER, tolerance));
  }
}

std::vector<std::string> AlignRows(const std::vector<Row>& rows) {
  size_t name_width = 0, metric_width = 0, before_width = 0, after_width = 0, change_width = 0;
  for (const Row& row : rows) {
    name_width = std::max(name_width, row.name.size());
    metric_width = std::max(metric_width, row.metric.size());
    before_width = std::max(before_width, row.before.size());
    after_width = std::max(after_width, row.after.size());
    change_width = std::max(change_width, row.change.size());
  }
  const auto pad = [](const std::string& text, size_t width) {
    return text + std::string(width - text.size(), ' ');
  };
  std::vector<std::string> lines;
  lines.reserve(rows.size());
  for (const Row& row : rows) {
    std::string line =
        absl::StrCat(pad(row.name, name_width), "  ", pad(row.metric, metric_width), "  ",
                     pad(row.before, before_width), " -> ", pad(row.after, after_width), "  ",
                     std::string(change_width - row.change.size(), ' '), row.change, "  ",
                     VerdictText(row.verdict));
    if (!row.note.empty()) absl::StrAppend(&line, ": ", row.note);
    lines.push_back(std::move(line));
  }
  return lines;
}

std::string Plural(int n, absl::string_view word) {
  return absl::StrCat(n, " ", word, n == 1 ? "" : "s");
}

}  // namespace

Context CollectContext(int argc, char** argv) {
  Context context;
  context.set_git_revision(GitRevision());
  context.set_date(absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone()));
  context.set_host(HostName());
  context.set_cpu_model(CpuModel());
  context.set_cores(static_cast<int32_t>(std::thread::hardware_concurrency()));
  context.set_compiler(Compiler());
  auto& libraries = *context.mutable_libraries();
  libraries["eigen"] =
      absl::StrCat(EIGEN_WORLD_VERSION, ".", EIGEN_MAJOR_VERSION, ".", EIGEN_MINOR_VERSION);
  // The headers' version; protobuf itself aborts at startup if the library's
  // differs in a way that matters.
  libraries["protobuf"] =
      absl::StrCat(GOOGLE_PROTOBUF_VERSION / 1000000, ".", GOOGLE_PROTOBUF_VERSION / 1000 % 1000,
                   ".", GOOGLE_PROTOBUF_VERSION % 1000);
#ifdef ABSL_LTS_RELEASE_VERSION
  libraries["abseil"] = absl::StrCat(ABSL_LTS_RELEASE_VERSION, ".", ABSL_LTS_RELEASE_PATCH_LEVEL);
#endif
#ifdef __GLIBC__
  libraries["glibc"] = gnu_get_libc_version();
#endif
  const std::string onednn = LoadedOneDnnVersion();
  if (!onednn.empty()) libraries["onednn"] = onednn;
  std::vector<std::string> words;
  for (int i = 0; i < argc && argv != nullptr && argv[i] != nullptr; ++i) {
    words.push_back(ShellQuote(argv[i]));
  }
  context.set_command_line(absl::StrJoin(words, " "));
  context.set_os(OperatingSystem());
  context.set_build(Build());
  return context;
}

absl::StatusOr<std::string> RunFileToJson(const RunFile& run) {
  // MessageToJsonString prints maps in hash order; a deterministic binary
  // serialization sorts them, so that two run files diff cleanly.
  std::string binary;
  {
    google::protobuf::io::StringOutputStream stream(&binary);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    if (!run.SerializeToCodedStream(&coded)) {
      return absl::InternalError("cannot serialize the run file");
    }
  }
  const std::unique_ptr<google::protobuf::util::TypeResolver> resolver(
      google::protobuf::util::NewTypeResolverForDescriptorPool(
          std::string(kTypeUrlPrefix), google::protobuf::DescriptorPool::generated_pool()));
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  // Every field, so that scripts reading the file need no defaults.
  options.always_print_primitive_fields = true;
  std::string json;
  const auto status = google::protobuf::util::BinaryToJsonString(
      resolver.get(), absl::StrCat(kTypeUrlPrefix, "/", RunFile::descriptor()->full_name()), binary,
      &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot convert the run file to JSON: ", std::string(status.message())));
  }
  if (json.empty() || json.back() != '\n') json.push_back('\n');
  return json;
}

std::string RunFileToCsv(const RunFile& run) {
  std::set<std::string> param_keys;
  std::set<std::string> value_names;
  for (const Record& record : run.records()) {
    for (const auto& [key, value] : record.params()) param_keys.insert(key);
    for (const auto& [key, value] : record.values()) value_names.insert(key);
  }

  std::vector<std::string> header = {"name"};
  for (const std::string& key : param_keys) header.push_back(absl::StrCat("param:", key));
  for (const std::string& key : value_names) header.push_back(absl::StrCat("value:", key));
  for (const char* column :
       {"real_time_seconds", "cpu_time_seconds", "iterations", "rss_before_bytes", "peak_rss_bytes",
        "memo_loads", "memo_hits", "memo_evictions", "memo_reloads", "memo_bytes", "error"}) {
    header.push_back(column);
  }
  std::string csv;
  const auto append_row = [&csv](const std::vector<std::string>& fields) {
    std::vector<std::string> quoted;
    quoted.reserve(fields.size());
    for (const std::string& field : fields) quoted.push_back(CsvField(field));
    absl::StrAppend(&csv, absl::StrJoin(quoted, ","), "\n");
  };
  append_row(header);

  for (const Record& record : run.records()) {
    std::vector<std::string> row = {record.name()};
    for (const std::string& key : param_keys) {
      const auto it = record.params().find(key);
      row.push_back(it == record.params().end() ? "" : it->second);
    }
    for (const std::string& key : value_names) {
      const auto it = record.values().find(key);
      row.push_back(it == record.values().end() ? "" : FormatDouble(it->second.value()));
    }
    row.push_back(FormatDouble(record.real_time_seconds()));
    row.push_back(FormatDouble(record.cpu_time_seconds()));
    row.push_back(absl::StrCat(record.iterations()));
    row.push_back(absl::StrCat(record.rss_before_bytes()));
    row.push_back(absl::StrCat(record.peak_rss_bytes()));
    const MemoRecord& memo = record.memo();
    for (const int64_t count :
         {memo.loads(), memo.hits(), memo.evictions(), memo.reloads(), memo.bytes()}) {
      row.push_back(record.has_memo() ? absl::StrCat(count) : "");
    }
    row.push_back(record.error());
    append_row(row);
  }
  return csv;
}

absl::Status WriteRunFile(const RunFile& run, const std::string& json_path,
                          const std::string& csv_path) {
  if (run.format_version() != 0 && run.format_version() != kRunFileFormatVersion) {
    return absl::InvalidArgumentError(absl::StrCat("cannot write ", json_path, ": format_version ",
                                                   run.format_version(), " is not this build's (",
                                                   kRunFileFormatVersion, ")"));
  }
  if (const std::optional<std::string> name = DuplicateName(run); name.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot write ", json_path, ": two records named \"", *name, "\" (names must be unique)"));
  }
  const RunFile* to_write = &run;
  RunFile stamped;
  if (run.format_version() == 0) {
    stamped = run;
    stamped.set_format_version(kRunFileFormatVersion);
    to_write = &stamped;
  }
  const absl::StatusOr<std::string> json = RunFileToJson(*to_write);
  if (!json.ok()) {
    return absl::Status(json.status().code(),
                        absl::StrCat(json_path, ": ", json.status().message()));
  }
  MNEMO_RETURN_IF_ERROR(WriteFileAtomically(json_path, *json));
  return WriteFileAtomically(csv_path, RunFileToCsv(*to_write));
}

absl::StatusOr<RunFile> ReadRunFile(const std::string& json_path) {
  MNEMO_ASSIGN_OR_RETURN(std::string json, ReadFileToString(json_path));
  RunFile run;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;  // a misspelt field is an error, not a zero
  const auto status = google::protobuf::util::JsonStringToMessage(json, &run, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(json_path, ": not a run file: ", std::string(status.message())));
  }
  if (run.format_version() != kRunFileFormatVersion) {
    return absl::InvalidArgumentError(
        run.format_version() == 0
            ? absl::StrCat(json_path, ": no format_version (this build reads ",
                           kRunFileFormatVersion, ")")
            : absl::StrCat(json_path, ": unknown format_version ", run.format_version(),
                           " (this build reads ", kRunFileFormatVersion, ")"));
  }
  if (const std::optional<std::string> name = DuplicateName(run); name.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat(json_path, ": two records named \"", *name, "\""));
  }
  return run;
}

Comparison CompareRuns(const RunFile& baseline, const RunFile& current, double tolerance) {
  Comparison comparison;
  comparison.tolerance = tolerance > 0 ? tolerance : 0;  // NaN too
  absl::flat_hash_map<absl::string_view, const Record*> baseline_by_name;
  for (const Record& record : baseline.records()) {
    baseline_by_name.try_emplace(record.name(), &record);
  }
  absl::flat_hash_set<absl::string_view> current_names;
  std::vector<Row> rows;
  for (const Record& record : current.records()) {
    current_names.insert(record.name());
    const auto it = baseline_by_name.find(record.name());
    if (it == baseline_by_name.end()) {
      comparison.added.push_back(record.name());
      continue;
    }
    ++comparison.compared;
    CompareRecords(*it->second, record, comparison.tolerance, &rows);
  }
  for (const Record& record : baseline.records()) {
    if (!current_names.contains(record.name())) comparison.missing.push_back(record.name());
  }
  for (const Row& row : rows) {
    if (row.verdict == Verdict::kRegression) ++comparison.regressions;
    if (row.verdict == Verdict::kImproved) ++comparison.improvements;
  }
  comparison.lines = AlignRows(rows);
  return comparison;
}

std::string FormatComparison(const Comparison& comparison) {
  std::string text;
  for (const std::string& line : comparison.lines) absl::StrAppend(&text, line, "\n");
  if (!comparison.missing.empty()) {
    absl::StrAppend(
        &text, "missing from the current run: ", absl::StrJoin(comparison.missing, ", "), "\n");
  }
  if (!comparison.added.empty()) {
    absl::StrAppend(&text, "new in the current run: ", absl::StrJoin(comparison.added, ", "), "\n");
  }
  absl::StrAppend(&text, Plural(comparison.regressions, "regression"), ", ",
                  Plural(comparison.improvements, "improvement"), " in ",
                  Plural(comparison.compared, "record"), " compared (tolerance ",
                  absl::StrFormat("%g", 100 * comparison.tolerance), "%); ",
                  comparison.missing.size(), " missing, ", comparison.added.size(), " added\n");
  return text;
}

}  // namespace mnemo::bench
