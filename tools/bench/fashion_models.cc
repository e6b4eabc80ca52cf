// The benchmark-memo demo (issue 6): three models of 227, 294 and 368 MB
// (configs/bench_{small,medium,large}.pbtxt), each benchmarked for accuracy
// and throughput on two Fashion-MNIST sets, one model in memory at a time.
//
//   ./bazelw run //tools:bench                  # records in out/bench/
//   ./bazelw run //tools:bench -- --noteardown  # every model kept: the memory that costs
//   ./bazelw run //tools:bench -- --compare=out/bench/fashion_models.json
//
// A model is a memo whose loader trains it first when its file is missing or
// was trained from another config (tools/train, in a child process, so the
// training's memory is not this process's), then loads it for inference.
// The data sets are memos too; they stay cached across the models.

#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "caching/bench_memo/memo.h"
#include "core/config_loader.h"
#include "core/inference/predictor.h"
#include "core/model_io.h"
#include "core/registry.h"
#include "core/status_macros.h"
#include "google/protobuf/text_format.h"
#include "tools/bench/runner.h"
#include "tools/data/readers.h"
#include "tools/paths.h"

extern char** environ;

namespace mnemo {
namespace {

// Divides both sets' 10,000 samples, so every batch takes the same kernels.
// A remainder of up to 16 rows would not: at so few rows the oneDNN backend
// packs each layer's weights into a copy in its kernel's layout (2.5x faster
// at 16 x 8192 x 8192 than plain weights), and that copy would double the
// model's memory for the rest of its life.
constexpr int kBatchSize = 250;

// A model ready to classify, and the bytes of its weights.
struct Model {
  std::unique_ptr<Predictor> predictor;
  int64_t bytes = 0;
};

// The config as tools/train stores it in the model file, to tell whether a
// saved model was trained from this config.
absl::StatusOr<std::string> ConfigText(const std::string& config_path) {
  // For inference: the loader's check builds the model without gradients.
  ConfigLoader loader(Registries::Global(), ConfigUse::kInference);
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<LoadedConfig> config, loader.LoadFile(config_path));
  std::string text;
  google::protobuf::TextFormat::PrintToString(config->experiment(), &text);
  return text;
}

// Runs tools/train on `config_path`, writing into `out_dir`; its progress
// goes to this terminal.
absl::Status Train(const std::string& config_path, const std::string& out_dir) {
  MNEMO_ASSIGN_OR_RETURN(std::string train, FindInputFile("tools/train"));
  std::string config_flag = absl::StrCat("--config=", config_path);
  std::string out_flag = absl::StrCat("--out=", out_dir);
  char* argv[] = {train.data(), config_flag.data(), out_flag.data(), nullptr};
  std::fflush(nullptr);
  pid_t pid = 0;
  if (int error = posix_spawn(&pid, train.c_str(), nullptr, nullptr, argv, environ); error != 0) {
    return absl::InternalError(absl::StrCat("cannot start ", train, ": ", std::strerror(error)));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return absl::InternalError(absl::StrCat("waiting for ", train, ": ", std::strerror(errno)));
    }
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(
        absl::StrCat("training ", config_path, " failed (its messages are above)"));
  }
  return absl::OkStatus();
}

// The memo of configs/bench_<name>.pbtxt's model, saved in out/bench/<name>/.
bench::Memo<Model> ModelMemo(const std::string& name) {
  return bench::Memo<Model>(
      name,
      [name]() -> absl::StatusOr<std::unique_ptr<Model>> {
        MNEMO_ASSIGN_OR_RETURN(std::string config_path,
                               FindInputFile(absl::StrCat("configs/bench_", name, ".pbtxt")));
        const std::string out_dir = UserPath(absl::StrCat("out/bench/", name));
        const std::string model_path = out_dir + "/model.safetensors";
        MNEMO_ASSIGN_OR_RETURN(std::string wanted, ConfigText(config_path));
        absl::StatusOr<std::string> saved = ReadModelConfigText(model_path);
        if (!saved.ok() || *saved != wanted) {
          std::fprintf(stderr, "training %s: %s\n", name.c_str(),
                       saved.ok() ? "the saved model was trained from another config"
                                  : "no saved model yet");
          MNEMO_RETURN_IF_ERROR(Train(config_path, out_dir));
        }
        auto model = std::make_unique<Model>();
        MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Predictor> predictor,
                               Predictor::Load(config_path, model_path));
        model->predictor = std::move(predictor);
        model->bytes = model->predictor->weight_bytes();
        return model;
      },
      [](const Model& model) { return model.bytes; });
}

// A Fashion-MNIST set: `prefix` "t10k" or "train", its first `limit` samples.
bench::Memo<Dataset> DataMemo(const std::string& name, const std::string& prefix, int limit) {
  return bench::Memo<Dataset>(
      name,
      [prefix, limit]() -> absl::StatusOr<std::unique_ptr<Dataset>> {
        const std::string dir = absl::StrCat(kDefaultDataDir, "/", prefix);
        MNEMO_ASSIGN_OR_RETURN(Dataset data,
                               ReadIdx(absl::StrCat(dir, "-images-idx3-ubyte.gz"),
                                       absl::StrCat(dir, "-labels-idx1-ubyte.gz"), limit));
        return std::make_unique<Dataset>(std::move(data));
      },
      [](const Dataset& data) {
        return static_cast<int64_t>(TensorBytes(data.features) +
                                    data.labels.size() * sizeof(int32_t));
      });
}

// One pass over `data` in batches: accuracy, and samples per second.
void Evaluate(benchmark::State& state, Model& model, const Dataset& data, bench::Report& report) {
  const int n = data.size();
  const int width = static_cast<int>(data.features.cols());
  int64_t correct = 0;
  for (auto _ : state) {
    correct = 0;
    for (int start = 0; start < n; start += kBatchSize) {
      const int rows = std::min(kBatchSize, n - start);
      absl::StatusOr<Predictions> predictions = model.predictor->Classify(
          absl::MakeConstSpan(data.features.row(start).data(), static_cast<size_t>(rows) * width));
      if (!predictions.ok()) return report.Fail(predictions.status());
      for (int i = 0; i < rows; ++i) correct += predictions->labels[i] == data.labels[start + i];
    }
  }
  report.Set("accuracy", static_cast<double>(correct) / n);
  report.SetRate("samples_per_second", static_cast<double>(n) * state.iterations());
}

}  // namespace
}  // namespace mnemo

int main(int argc, char** argv) {
  using mnemo::bench::Axis;
  mnemo::bench::Runner runner("fashion_models", argc, argv);
  runner.Product("evaluate",
                 Axis<mnemo::Model>{"model",
                                    {mnemo::ModelMemo("small"), mnemo::ModelMemo("medium"),
                                     mnemo::ModelMemo("large")}},
                 Axis<mnemo::Dataset>{"data",
                                      {mnemo::DataMemo("fashion_test", "t10k", 0),
                                       mnemo::DataMemo("fashion_train_10k", "train", 10000)}},
                 &mnemo::Evaluate);
  return runner.Run();
}
