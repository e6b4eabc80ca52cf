// Trains the model an experiment config describes, on its data set.
//
//   ./bazelw run //tools:train                      # configs/fashion_mlp.pbtxt
//   ./bazelw run //tools:train -- --config=my.pbtxt --epochs=3 --out=/tmp/run
//
// Writes model.safetensors, metrics.csv, metrics.json and training.svg to the
// output directory (default out/<config name>, where you ran the command).

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/config_loader.h"
#include "core/data/dataset.h"
#include "core/model_builder.h"
#include "core/model_io.h"
#include "core/optimizer.h"
#include "core/trainer.h"
#include "google/protobuf/text_format.h"
#include "tools/model_summary.h"
#include "tools/paths.h"
#include "tools/progress.h"
#include "tools/run_outputs.h"
#include "tools/strategy_stats.h"
#include "tools/tool_main.h"

ABSL_FLAG(std::string, config, "configs/fashion_mlp.pbtxt", "experiment config (.pbtxt)");
ABSL_FLAG(int, epochs, 0, "epochs to train; 0 = as the config says");
ABSL_FLAG(int, batch_size, 0, "batch size; 0 = as the config says");
ABSL_FLAG(double, learning_rate, 0, "learning rate; 0 = as the config says");
ABSL_FLAG(int64_t, seed, -1, "run seed; -1 = as the config says");
ABSL_FLAG(std::string, data_dir, "", "data directory; empty = as the config says");
ABSL_FLAG(int, train_limit, -1, "use the first N training samples; -1 = as the config says");
ABSL_FLAG(int, test_limit, -1, "use the first N test samples; -1 = as the config says");
ABSL_FLAG(std::string, out, "", "output directory; empty = the config's, else out/<config name>");
ABSL_FLAG(int, threads, -1,
          "threads of the model's backend; 0 = one per core, -1 = as the config says");

namespace mnemo {
namespace {

// Flags override the config; each is checked here since the config loader
// validated the file before they applied.
absl::Status ApplyFlags(config::Experiment& experiment) {
  config::Trainer& trainer = *experiment.mutable_trainer();
  if (int v = absl::GetFlag(FLAGS_epochs); v != 0) {
    if (v < 0) return absl::InvalidArgumentError("--epochs must be > 0");
    trainer.set_epochs(v);
  }
  if (int v = absl::GetFlag(FLAGS_batch_size); v != 0) {
    if (v < 0) return absl::InvalidArgumentError("--batch_size must be > 0");
    trainer.set_batch_size(v);
  }
  if (double v = absl::GetFlag(FLAGS_learning_rate); v != 0) {
    if (v < 0) return absl::InvalidArgumentError("--learning_rate must be > 0");
    trainer.mutable_optimizer()->set_learning_rate(static_cast<float>(v));
  }
  if (int64_t v = absl::GetFlag(FLAGS_seed); v != -1) {
    if (v < 0) return absl::InvalidArgumentError("--seed must be >= 0");
    trainer.set_seed(static_cast<uint64_t>(v));
  }
  config::Data& data = *experiment.mutable_data();
  if (std::string v = absl::GetFlag(FLAGS_data_dir); !v.empty()) data.set_dir(UserPath(v));
  if (int v = absl::GetFlag(FLAGS_train_limit); v != -1) {
    if (v < 0) return absl::InvalidArgumentError("--train_limit must be >= 0");
    data.set_train_limit(v);
  }
  if (int v = absl::GetFlag(FLAGS_test_limit); v != -1) {
    if (v < 0) return absl::InvalidArgumentError("--test_limit must be >= 0");
    data.set_test_limit(v);
  }
  if (int v = absl::GetFlag(FLAGS_threads); v != -1) {
    if (v < 0) return absl::InvalidArgumentError("--threads must be >= 0 (0 = one per core)");
    experiment.mutable_model()->set_threads(v);
  }
  return absl::OkStatus();
}

std::string Stem(const std::string& path) {
  std::string name = path.substr(path.find_last_of('/') + 1);
  return name.substr(0, name.find_last_of('.'));
}

// Progress bar within an epoch, a table row and the cache strategy's figures
// after it.
class ConsoleObserver : public TrainingObserver {
 public:
  ConsoleObserver(int epochs, int batch_size, const CacheStrategy& strategy)
      : epochs_(epochs), batch_size_(batch_size), strategy_(strategy) {}

  void OnEpochStart(int epoch, int num_batches) override {
    bar_.Start(absl::StrFormat("epoch %d/%d", epoch, epochs_), num_batches);
    loss_sum_ = 0;
    start_ = std::chrono::steady_clock::now();
  }
  void OnBatchEnd(int /*epoch*/, int batch, float loss) override {
    loss_sum_ += loss;
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    bar_.Update(batch, absl::StrFormat("loss %.4f %.0f samples/s", loss_sum_ / batch,
                                       batch * batch_size_ / seconds));
  }
  void OnEpochEnd(const EpochMetrics& m) override {
    bar_.Finish();
    absl::PrintF(
        "epoch %2d/%d  train loss %.4f  train acc %.4f  test acc %.4f  %.2fs "
        "(%.0f samples/s)\n",
        m.epoch, epochs_, m.train_loss, m.train_accuracy, m.test_accuracy,
        m.train_seconds, m.samples_per_second);
    absl::PrintF("        %s\n", FormatCacheStats(strategy_.stats()));
    std::fflush(stdout);
  }

 private:
  ProgressBar bar_;
  int epochs_;
  int batch_size_;
  const CacheStrategy& strategy_;
  double loss_sum_ = 0;
  std::chrono::steady_clock::time_point start_;
};

absl::Status Run() {
  absl::StatusOr<std::string> config_path = FindInputFile(absl::GetFlag(FLAGS_config));
  if (!config_path.ok()) return config_path.status();
  ConfigLoader loader;
  absl::StatusOr<std::unique_ptr<LoadedConfig>> loaded = loader.LoadFile(*config_path);
  if (!loaded.ok()) return loaded.status();
  config::Experiment& experiment = (*loaded)->mutable_experiment();
  if (absl::Status s = ApplyFlags(experiment); !s.ok()) return s;

  std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) out = experiment.output().dir();
  if (out.empty()) out = absl::StrCat("out/", Stem(*config_path));
  out = UserPath(out);
  if (absl::Status s = PrepareOutputDirectory(out); !s.ok()) return s;

  absl::PrintF("config  %s\n", *config_path);
  absl::StatusOr<TrainTestData> data = LoadData(experiment.data());
  if (!data.ok()) return data.status();
  absl::PrintF("data    %d training and %d test samples of %d features\n",
               data->train.size(), data->test.size(), data->train.features.cols());

  absl::StatusOr<std::unique_ptr<Network>> network =
      BuildNetwork(**loaded, Registries::Global());
  if (!network.ok()) return network.status();
  absl::PrintF("model   %s\n", DescribeNetwork(**network));
  absl::PrintF("backend %s, %d thread%s\n", (*network)->backend().name(),
               (*network)->backend().threads(), (*network)->backend().threads() == 1 ? "" : "s");
  std::fflush(stdout);  // before the progress lines on stderr

  absl::StatusOr<std::unique_ptr<Optimizer>> optimizer =
      CreateOptimizer(experiment.trainer().optimizer());
  if (!optimizer.ok()) return optimizer.status();
  absl::StatusOr<Trainer> trainer =
      Trainer::Create(experiment.trainer(), network->get(), optimizer->get());
  if (!trainer.ok()) return trainer.status();

  ConsoleObserver observer(experiment.trainer().epochs(), experiment.trainer().batch_size(),
                           (*network)->strategy());
  absl::StatusOr<std::vector<EpochMetrics>> history =
      trainer->Fit(data->train, data->test, &observer);
  if (!history.ok()) return history.status();

  std::string config_text;
  google::protobuf::TextFormat::PrintToString(experiment, &config_text);
  const std::string model_path = out + "/model.safetensors";
  if (absl::Status s = SaveModel(model_path, **network, config_text); !s.ok()) return s;
  if (absl::Status s = WriteMetrics(out, *config_path, *history); !s.ok()) return s;
  const bool plot = !experiment.output().has_plot() || experiment.output().plot();
  if (plot) {
    if (absl::Status s = WriteTrainingPlot(out + "/training.svg", Stem(*config_path), *history);
        !s.ok()) {
      return s;
    }
  }
  const EpochMetrics& last = history->back();
  absl::PrintF("test accuracy %.4f after %d epochs\n", last.test_accuracy, last.epoch);
  absl::PrintF("wrote   %s, %s/metrics.csv, %s/metrics.json%s\n", model_path, out, out,
               plot ? absl::StrCat(", ", out, "/training.svg") : "");
  return absl::OkStatus();
}

}  // namespace
}  // namespace mnemo

int main(int argc, char** argv) {
  return mnemo::RunTool(argc, argv, "train",
                        "Trains an MLP as an experiment config says.\n"
                        "  bazel run //tools:train -- [--config=FILE] [--epochs=N] [--out=DIR] ...",
                        &mnemo::Run);
}
