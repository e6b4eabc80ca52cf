// Data-parallel training on the ranks mpirun starts (issue 19): a config's
// network trained by the Trainer over the "mpi" communicator (plugins/mpi),
// each rank computing its share of every global batch at --threads threads,
// on the config's data (Fashion-MNIST for the configs below).
//
//   ./bazelw build //tools/bench:data_parallel_benchmark
//   mpirun --allow-run-as-root --oversubscribe -np 2
//       bazel-bin/tools/bench/data_parallel_benchmark
//       --config=configs/deep_mlp_onednn.pbtxt --warmup_steps=2 --steps=6
//
// (one command line; as root mpirun wants --allow-run-as-root, and with more
// ranks than cores --oversubscribe).
//
// //tools/bench:data_parallel_scaling runs it for 1, 2 and 4 ranks on the
// seed MLP and the deep MLP, interleaved, and summarises.
//
// It trains warmup_steps + steps global batches of trainer.batch_size: one
// epoch over the first that many batches' samples of the training set
// (data.train_limit), shuffled as the trainer shuffles, and times the last
// `steps` on rank 0 (every step ends with the all-reduce, so rank 0's clock
// is every rank's). The warm-up steps are those in which the backend makes
// its primitives and the buffers grow. Then it times
// Communicator::AllReduceSum on a buffer of as many floats as the model has
// gradients (what ReduceStep sums each step, but for a few figures), after
// a barrier each time, --allreduce_reps times: the median. Rank 0 prints one
// line of space-separated key=value figures, starting "data_parallel":
//
//   config           the config file's stem
//   ranks, threads   the communicator's size, model.threads per rank
//   batch, steps     the global batch, the steps timed
//   step_seconds     the timed steps' seconds / steps
//   samples_per_second  global: batch x steps / their seconds
//   train_loss       the mean loss over all the steps (a sanity figure)
//   gradient_bytes   4 x the model's trainable parameters
//   allreduce_seconds  the median all-reduce of gradient_bytes (0 for one
//                    rank: AllReduceSum is then a no-op)
//   allreduce_gb_per_second  algorithm bandwidth, gradient_bytes / 1e9 /
//                    allreduce_seconds ("-" for one rank); each rank sends
//                    and receives about 2 (N - 1) / N times gradient_bytes
//   allreduce_share  allreduce_seconds / step_seconds
//
// Nothing is written; a failure on any rank ends the run (mpirun stops the
// others) with a message and exit status 1.

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/communicator.h"
#include "core/config_loader.h"
#include "core/model_builder.h"
#include "core/optimizer.h"
#include "core/plugin_loader.h"
#include "core/registry.h"
#include "core/status_macros.h"
#include "core/stopwatch.h"
#include "core/trainer.h"
#include "tools/bench/spread.h"
#include "tools/data/readers.h"
#include "tools/paths.h"
#include "tools/tool_main.h"

ABSL_FLAG(std::string, config, "configs/fashion_mlp.pbtxt", "the experiment config");
ABSL_FLAG(std::string, plugin, "plugins/mpi/libmpi_plugin.so", "the mpi plugin's shared object");
ABSL_FLAG(int, threads, 1, "model.threads of every rank (0 = one per core)");
ABSL_FLAG(int, warmup_steps, 20, "global batches trained before the timed ones (at least 1)");
ABSL_FLAG(int, steps, 200, "global batches timed");
ABSL_FLAG(int, allreduce_reps, 10, "all-reduces of the gradients' size timed (the median)");

namespace mnemo {
namespace {

constexpr char kUsage[] =
    "Times data-parallel training steps and the all-reduce of the gradients on the ranks of\n"
    "mpirun; rank 0 prints one line of figures.\n\n"
    "  mpirun --allow-run-as-root --oversubscribe -np 2 data_parallel_benchmark \\\n"
    "      --config=configs/deep_mlp_onednn.pbtxt --warmup_steps=2 --steps=6\n";

// The time at the end of every step.
class StepClock : public TrainingObserver {
 public:
  void OnBatchEnd(int /*epoch*/, int /*batch*/, const StepResult& /*step*/) override {
    ends_.push_back(stopwatch_.ElapsedSeconds());
  }
  // Seconds from the end of step `after` (1-based) to the end of the last.
  double SecondsAfter(int after) const { return ends_.back() - ends_[after - 1]; }
  int steps() const { return static_cast<int>(ends_.size()); }

 private:
  Stopwatch stopwatch_;
  std::vector<double> ends_;
};

// "configs/deep_mlp_onednn.pbtxt" -> "deep_mlp_onednn".
std::string Stem(const std::string& path) {
  std::string name = path.substr(path.find_last_of('/') + 1);
  return name.substr(0, name.find('.'));
}

absl::Status CheckFlags() {
  if (absl::GetFlag(FLAGS_warmup_steps) < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--warmup_steps must be at least 1 (the first step makes the backend's "
                     "primitives), not ",
                     absl::GetFlag(FLAGS_warmup_steps)));
  }
  if (absl::GetFlag(FLAGS_steps) < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--steps must be at least 1, not ", absl::GetFlag(FLAGS_steps)));
  }
  if (absl::GetFlag(FLAGS_allreduce_reps) < 1) {
    return absl::InvalidArgumentError(absl::StrCat("--allreduce_reps must be at least 1, not ",
                                                   absl::GetFlag(FLAGS_allreduce_reps)));
  }
  if (absl::GetFlag(FLAGS_threads) < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--threads must be at least 0 (0 = one per core), not ", absl::GetFlag(FLAGS_threads)));
  }
  return absl::OkStatus();
}

// The median seconds of an AllReduceSum of `floats` floats.
absl::StatusOr<double> AllReduceSeconds(Communicator& communicator, size_t floats, int reps) {
  std::vector<float> buffer(floats, 1.0f);
  // The first one sizes AllReduceSum's own buffers.
  MNEMO_RETURN_IF_ERROR(communicator.AllReduceSum(absl::MakeSpan(buffer)));
  std::vector<double> seconds;
  for (int i = 0; i < reps; ++i) {
    MNEMO_RETURN_IF_ERROR(communicator.Barrier());
    const Stopwatch stopwatch;
    MNEMO_RETURN_IF_ERROR(communicator.AllReduceSum(absl::MakeSpan(buffer)));
    seconds.push_back(stopwatch.ElapsedSeconds());
  }
  return bench::SpreadOf(seconds).median;
}

absl::Status Run() {
  MNEMO_RETURN_IF_ERROR(CheckFlags());
  const int warmup = absl::GetFlag(FLAGS_warmup_steps);
  const int steps = absl::GetFlag(FLAGS_steps);
  MNEMO_ASSIGN_OR_RETURN(const std::string plugin,
                         PluginLoader::Resolve(absl::GetFlag(FLAGS_plugin), ""));
  MNEMO_RETURN_IF_ERROR(PluginLoader::Global().Load(plugin).status());
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Communicator> communicator,
                         Registries::Global().communicators.Create("mpi", {}));

  MNEMO_ASSIGN_OR_RETURN(const std::string path, FindInputFile(absl::GetFlag(FLAGS_config)));
  ConfigLoader loader;
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<LoadedConfig> loaded, loader.LoadFile(path));
  config::Experiment& experiment = loaded->mutable_experiment();
  const int batch = experiment.trainer().batch_size();
  const int64_t samples = static_cast<int64_t>(warmup + steps) * batch;
  if (samples > INT32_MAX) {
    return absl::InvalidArgumentError(absl::StrCat(warmup + steps, " steps of batch ", batch,
                                                   " are more samples than a data set holds"));
  }
  experiment.mutable_model()->set_threads(absl::GetFlag(FLAGS_threads));
  experiment.mutable_data()->set_train_limit(static_cast<int>(samples));
  experiment.mutable_data()->set_test_limit(1);  // not evaluated
  experiment.mutable_data()->set_validation_fraction(0);
  MNEMO_ASSIGN_OR_RETURN(TrainTestData data, LoadData(experiment));
  if (data.train.size() < samples) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: --warmup_steps + --steps = %d steps of batch %d need %d training samples; the data "
        "set has %d",
        path, warmup + steps, batch, samples, data.train.size()));
  }

  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Network> network,
                         BuildNetwork(*loaded, Registries::Global()));
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Optimizer> optimizer,
                         CreateOptimizer(experiment.trainer().optimizer()));
  MNEMO_ASSIGN_OR_RETURN(Trainer trainer, Trainer::Create(experiment.trainer(), network.get(),
                                                          optimizer.get(), communicator.get()));
  StepClock clock;
  MNEMO_ASSIGN_OR_RETURN(const EpochMetrics metrics, trainer.TrainEpoch(data.train, 1, &clock));
  if (clock.steps() != warmup + steps) {
    return absl::InternalError(absl::StrCat(clock.steps(), " steps trained, not ", warmup + steps));
  }
  const double step_seconds = clock.SecondsAfter(warmup) / steps;

  size_t floats = 0;
  for (const ModelParameter& p : trainer.model().TrainableParameters()) {
    floats += static_cast<size_t>(p.gradient->size());
  }
  MNEMO_ASSIGN_OR_RETURN(
      const double allreduce_seconds,
      AllReduceSeconds(*communicator, floats, absl::GetFlag(FLAGS_allreduce_reps)));
  if (communicator->rank() != 0) return absl::OkStatus();

  const int ranks = communicator->size();
  const double bytes = 4.0 * static_cast<double>(floats);
  absl::PrintF(
      "data_parallel config=%s ranks=%d threads=%d batch=%d steps=%d step_seconds=%.6g "
      "samples_per_second=%.6g train_loss=%.6g gradient_bytes=%.0f allreduce_seconds=%.6g "
      "allreduce_gb_per_second=%s allreduce_share=%.6g\n",
      Stem(path), ranks, network->backend().threads(), batch, steps, step_seconds,
      batch / step_seconds, metrics.train_loss, bytes, ranks > 1 ? allreduce_seconds : 0.0,
      ranks > 1 ? absl::StrFormat("%.6g", bytes / 1e9 / allreduce_seconds) : "-",
      ranks > 1 ? allreduce_seconds / step_seconds : 0.0);
  std::fflush(stdout);
  return absl::OkStatus();
}

}  // namespace
}  // namespace mnemo

int main(int argc, char** argv) {
  return mnemo::RunTool(argc, argv, "data_parallel_benchmark", mnemo::kUsage, mnemo::Run);
}
