// A benchmark program on the runner (tools/bench/runner.h) for runner_test:
// saved models (--model_dir/<name>.pbtxt and <name>.safetensors, for each
// name in --models) benchmarked for accuracy on the first --data_limit
// Fashion-MNIST test images, each model evicted after its benchmark.
// --evict_data_early also evicts the data set after every benchmark: the
// mistake whose cost the memo statistics report as reloads.

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/types/span.h"
#include "caching/bench_memo/memo.h"
#include "core/inference/predictor.h"
#include "core/status_macros.h"
#include "tools/bench/runner.h"
#include "tools/data/readers.h"

ABSL_FLAG(std::string, model_dir, "", "where the models' files are");
ABSL_FLAG(std::string, models, "", "the models' names, comma-separated");
ABSL_FLAG(int, data_limit, 500, "test images to classify");
ABSL_FLAG(bool, evict_data_early, false, "evict the data set after every benchmark");

namespace mnemo {
namespace {

struct Model {
  std::unique_ptr<Predictor> predictor;
  int64_t bytes = 0;
};

bench::Memo<Model> ModelMemo(const std::string& name) {
  return bench::Memo<Model>(
      name,
      [name]() -> absl::StatusOr<std::unique_ptr<Model>> {
        const std::string base = absl::StrCat(absl::GetFlag(FLAGS_model_dir), "/", name);
        MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Predictor> predictor,
                               Predictor::Load(base + ".pbtxt", base + ".safetensors"));
        auto model = std::make_unique<Model>();
        model->predictor = std::move(predictor);
        model->bytes = model->predictor->weight_bytes();
        return model;
      },
      [](const Model& model) { return model.bytes; });
}

bench::Memo<Dataset> TestSet() {
  return bench::Memo<Dataset>(
      "fashion_test",
      []() -> absl::StatusOr<std::unique_ptr<Dataset>> {
        const std::string dir = absl::StrCat(kDefaultDataDir, "/t10k");
        MNEMO_ASSIGN_OR_RETURN(Dataset data,
                               ReadIdx(dir + "-images-idx3-ubyte.gz", dir + "-labels-idx1-ubyte.gz",
                                       absl::GetFlag(FLAGS_data_limit)));
        return std::make_unique<Dataset>(std::move(data));
      },
      [](const Dataset& data) { return static_cast<int64_t>(TensorBytes(data.features)); });
}

// In batches of 50: a batch's activations (50 x 12288 floats a buffer) stay
// small beside the model, whose memory the test measures.
void Accuracy(benchmark::State& state, Model& model, const Dataset& data, bench::Report& report) {
  constexpr int kBatch = 50;
  const int width = static_cast<int>(data.features.cols());
  int correct = 0;
  for (auto _ : state) {
    correct = 0;
    for (int start = 0; start < data.size(); start += kBatch) {
      const int rows = std::min(kBatch, data.size() - start);
      absl::StatusOr<Predictions> predictions = model.predictor->Classify(
          absl::MakeConstSpan(data.features.row(start).data(), static_cast<size_t>(rows) * width));
      if (!predictions.ok()) return report.Fail(predictions.status());
      for (int i = 0; i < rows; ++i) correct += predictions->labels[i] == data.labels[start + i];
    }
  }
  report.Set("accuracy", static_cast<double>(correct) / data.size());
  report.SetRate("samples_per_second", static_cast<double>(data.size()) * state.iterations());
}

}  // namespace
}  // namespace mnemo

int main(int argc, char** argv) {
  mnemo::bench::Runner runner("tiny_models", argc, argv);
  std::vector<mnemo::bench::Memo<mnemo::Model>> models;
  for (absl::string_view name : absl::StrSplit(absl::GetFlag(FLAGS_models), ',')) {
    models.push_back(mnemo::ModelMemo(std::string(name)));
  }
  const mnemo::bench::Memo<mnemo::Dataset> data = mnemo::TestSet();
  runner.Product("accuracy", mnemo::bench::Axis<mnemo::Model>{"model", models},
                 mnemo::bench::Axis<mnemo::Dataset>{"data", {data}},
                 [data](benchmark::State& state, mnemo::Model& model, const mnemo::Dataset& dataset,
                        mnemo::bench::Report& report) {
                   mnemo::Accuracy(state, model, dataset, report);
                   if (absl::GetFlag(FLAGS_evict_data_early)) {
                     // Here rather than as a teardown, to show that evicting
                     // a value in use is safe: `dataset` stays valid.
                     mnemo::bench::Evict(data);
                   }
                 });
  return runner.Run();
}
