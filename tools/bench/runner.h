#ifndef MNEMO_TOOLS_BENCH_RUNNER_H_
#define MNEMO_TOOLS_BENCH_RUNNER_H_

// A benchmark runner on Google Benchmark for benchmarks over large models and
// data sets passed as memos (caching/bench_memo): each benchmark runs on its
// own, between its setup and teardown hooks, with the process's peak resident
// memory measured around it; every result becomes a record (tools/bench/
// records.proto) written as JSON and CSV, and a run can be compared with an
// earlier one.
//
//   mnemo::bench::Runner runner("models", argc, argv);
//   runner.Product("accuracy", {"model", models}, {"data", datasets},
//                  [](benchmark::State& state, Predictor& model, const Dataset& data,
//                     mnemo::bench::Report& report) {
//                    for (auto _ : state) report.Set("accuracy", Accuracy(model, data));
//                  });
//   return runner.Run();  // flags: --out, --compare, --tolerance, --benchmark_*

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "benchmark/benchmark.h"
#include "caching/bench_memo/memo.h"
#include "tools/bench/records.pb.h"

namespace mnemo {
namespace bench {

// What a benchmark reports beside its time: named values, each with the
// direction that is better (compare mode flags a change the other way).
class Report {
 public:
  explicit Report(benchmark::State* state) : state_(state) {}

  void Set(const std::string& name, double value, Value::Better better = Value::HIGHER,
           const std::string& unit = "");
  // `count` things done over all iterations (samples, tokens), recorded per
  // second of the benchmark's time, higher being better.
  void SetRate(const std::string& name, double count, const std::string& unit = "");
  // Ends the benchmark with `status`'s message as its error (the record keeps
  // it; the run goes on with the next benchmark).
  void Fail(const absl::Status& status);

  const std::map<std::string, Value>& values() const { return values_; }

 private:
  void Keep(const std::string& name, double value, Value::Better better, const std::string& unit);

  benchmark::State* state_;
  std::map<std::string, Value> values_;
};

// One benchmark: a name, its parameters, its body and its hooks.
class Benchmark {
 public:
  using Body = std::function<void(benchmark::State&, Report&)>;
  using Hook = std::function<void()>;

  // Parameters in the order they are named (the full name follows it).
  using Params = std::vector<std::pair<std::string, std::string>>;

  Benchmark(std::string name, Params params, Body body)
      : name_(std::move(name)), params_(std::move(params)), body_(std::move(body)) {}

  // Run before the benchmark's first iteration and after its last (once each,
  // however many times Google Benchmark calls the body to size its runs).
  Benchmark& Setup(Hook hook);
  Benchmark& Teardown(Hook hook);

  // "accuracy/model:small/data:test": the name, then the parameters in order.
  std::string FullName() const;

  const std::string& name() const { return name_; }
  const Params& params() const { return params_; }
  const Body& body() const { return body_; }
  const std::vector<Hook>& setups() const { return setups_; }
  const std::vector<Hook>& teardowns() const { return teardowns_; }

 private:
  std::string name_;
  Params params_;
  Body body_;
  std::vector<Hook> setups_;
  std::vector<Hook> teardowns_;
};

// A parameter of a product: its name and the memos it takes, in order.
template <typename T>
struct Axis {
  std::string name;
  std::vector<Memo<T>> memos;
};

class Runner {
 public:
  // Parses the runner's flags and Google Benchmark's (--benchmark_*) from
  // argv, so that a program's own flags are read when it adds benchmarks.
  Runner(std::string suite, int argc, char** argv);

  // Benchmarks run in the order they were added. The returned reference stays
  // valid (benchmarks are kept in a deque).
  Benchmark& Add(std::string name, Benchmark::Params params, Benchmark::Body body);

  // One benchmark per pair (a, b), `first` varying slowest; the parameters
  // are the memos' keys. The body gets the values; a memo that fails to load
  // fails that benchmark with the loader's error. The teardown of a's last
  // pair evicts a: memory then holds one `first` value at a time (the
  // `second` values, typically data sets, stay cached for the next a).
  template <typename A, typename B, typename Body>
  void Product(const std::string& name, const Axis<A>& first, const Axis<B>& second, Body body);

  // Runs every benchmark (or, with --compare_files, only compares two record
  // files), writes <out>/<suite>.json and .csv, and compares with --compare
  // when given. Returns the process's exit code: 1 on an error, a failed
  // benchmark or a regression.
  int Run();

 private:
  absl::Status RunAll(RunFile* run);
  absl::Status RunAndRecord();

  std::string suite_;
  std::vector<std::string> command_line_;  // as given, for the record
  absl::Status flags_status_;              // an argument the parsers left
  std::deque<Benchmark> benchmarks_;
};

template <typename A, typename B, typename Body>
void Runner::Product(const std::string& name, const Axis<A>& first, const Axis<B>& second,
                     Body body) {
  for (const Memo<A>& a : first.memos) {
    for (size_t j = 0; j < second.memos.size(); ++j) {
      const Memo<B>& b = second.memos[j];
      Benchmark& benchmark = Add(name, {{first.name, a.key()}, {second.name, b.key()}},
                                 [a, b, body](benchmark::State& state, Report& report) {
                                   absl::StatusOr<std::shared_ptr<A>> a_value = a.Get();
                                   if (!a_value.ok()) return report.Fail(a_value.status());
                                   absl::StatusOr<std::shared_ptr<B>> b_value = b.Get();
                                   if (!b_value.ok()) return report.Fail(b_value.status());
                                   body(state, **a_value, **b_value, report);
                                 });
      if (j + 1 == second.memos.size()) benchmark.Teardown([a] { Evict(a); });
    }
  }
}

}  // namespace bench
}  // namespace mnemo

#endif  // MNEMO_TOOLS_BENCH_RUNNER_H_
