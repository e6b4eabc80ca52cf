// Reports a saved model's figures on its config's test set: the loss, and
// accuracy, macro-F1 and log-loss for a classifier, RMSE, MAE and R^2 for a
// regression.
//
//   ./bazelw run //tools:eval -- --model=out/fashion_mlp/model.safetensors
//   ./bazelw run //tools:eval -- --model=M --config=configs/fashion_mlp.pbtxt
//
// --predictions=FILE also writes each test sample's answer, one a line in the
// test set's order, as CSV: "label,output_0,...,output_<n-1>" for a
// classifier (the class id and the network's outputs, its logits), and
// "output_0,..." for a regression model.
//
// Without --config, the config stored in the model file at training time is used.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/config_loader.h"
#include "core/dataset.h"
#include "core/field_range.h"
#include "core/io/atomic_file.h"
#include "core/loss.h"
#include "core/metrics.h"
#include "core/model_builder.h"
#include "core/model_io.h"
#include "core/status_macros.h"
#include "core/trainer.h"
#include "tools/data/readers.h"
#include "tools/paths.h"
#include "tools/tool_main.h"

ABSL_FLAG(std::string, model, "", "saved model (.safetensors); required");
ABSL_FLAG(std::string, config, "", "experiment config; empty = the one stored in the model");
ABSL_FLAG(std::string, data_dir, "", "data directory; empty = as the config says");
ABSL_FLAG(int, batch_size, 1024, "evaluation batch size");
ABSL_FLAG(int, threads, -1,
          "threads of the model's backend; 0 = one per core, -1 = as the config says");
ABSL_FLAG(std::string, predictions, "",
          "write each test sample's label and outputs (CSV, one a line) to this file");

namespace mnemo {
namespace {

// --predictions: the network's answer for each sample of `test`, written
// atomically to `path` (see the comment at the top).
absl::Status WritePredictions(const std::string& path, Network& network, const Dataset& test,
                              int batch_size) {
  const bool classifier = !test.regression();
  const int outputs = network.output_size();
  std::string text = classifier ? "label" : "";
  for (int j = 0; j < outputs; ++j) {
    absl::StrAppend(&text, classifier || j > 0 ? "," : "", "output_", j);
  }
  text += "\n";
  Tensor batch;
  std::vector<int32_t> labels;
  const int n = test.size();
  for (int64_t cursor = 0; cursor < n; cursor += batch_size) {
    const int begin = static_cast<int>(cursor);
    const int count = std::min(batch_size, n - begin);
    SliceRows(test, begin, count, &batch);
    MNEMO_ASSIGN_OR_RETURN(const Tensor* out,
                           network.Forward(batch, ForwardContext{/*training=*/false, 0, 0}));
    if (classifier) {
      labels.resize(count);
      PredictedClasses(network.loss().kind, *out, labels.data());
    }
    for (int r = 0; r < count; ++r) {
      if (classifier) absl::StrAppend(&text, labels[r]);
      for (int j = 0; j < outputs; ++j) {
        absl::StrAppendFormat(&text, "%s%.9g", classifier || j > 0 ? "," : "", (*out)(r, j));
      }
      text += "\n";
    }
    network.strategy().EndPass();
    if (test.rows) test.rows->Release();
  }
  return WriteFileAtomically(path, text);
}

absl::Status Run() {
  // The flags' counts first, against the ranges of the fields they set.
  MNEMO_RETURN_IF_ERROR(CheckFlagRange("--batch_size", *config::Trainer::descriptor(), "batch_size",
                                       absl::GetFlag(FLAGS_batch_size)));
  if (const int threads = absl::GetFlag(FLAGS_threads); threads != -1) {
    MNEMO_RETURN_IF_ERROR(
        CheckFlagRange("--threads", *config::Model::descriptor(), "threads", threads));
  }
  const std::string model_flag = absl::GetFlag(FLAGS_model);
  if (model_flag.empty()) return absl::InvalidArgumentError("--model is required");
  MNEMO_ASSIGN_OR_RETURN(std::string model_path, FindInputFile(model_flag));

  // Loaded for inference: the data section is read for its test set alone
  // (LoadTestData), so the training files need not be there.
  ConfigLoader loader(Registries::Global(), ConfigUse::kInference);
  std::string config_path;
  if (const std::string flag = absl::GetFlag(FLAGS_config); !flag.empty()) {
    MNEMO_ASSIGN_OR_RETURN(config_path, FindInputFile(flag));
  }
  absl::StatusOr<std::unique_ptr<LoadedConfig>> loaded =
      loader.LoadForModel(config_path, model_path);
  if (!loaded.ok()) return loaded.status();
  config::Experiment& experiment = (*loaded)->mutable_experiment();
  if (const std::string dir = absl::GetFlag(FLAGS_data_dir); !dir.empty()) {
    experiment.mutable_data()->set_dir(UserPath(dir));
  }
  // Evaluation reads the whole test set, and no training data.
  experiment.mutable_data()->set_test_limit(0);
  if (const int threads = absl::GetFlag(FLAGS_threads); threads != -1) {
    experiment.mutable_model()->set_threads(threads);
  }

  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Network> network,
                         BuildNetwork(**loaded, Registries::Global()));
  MNEMO_RETURN_IF_ERROR(LoadModel(model_path, *network));
  // The tensors fit; the model they were trained in must be the config's too.
  MNEMO_RETURN_IF_ERROR(CheckModelMatchesFile(experiment.model(), model_path));

  // The test set alone: the training files need not be there. The class ids
  // must mean what they meant in training: the data's labels are mapped as
  // the model's were.
  MNEMO_ASSIGN_OR_RETURN(config::DataNames names, ReadModelDataNames(model_path));
  MNEMO_ASSIGN_OR_RETURN(TrainTestData data, LoadTestData(experiment, names));
  if (names.class_label_size() > 0 &&
      !std::equal(names.class_label().begin(), names.class_label().end(),
                  data.names.class_label().begin(), data.names.class_label().end())) {
    return absl::InvalidArgumentError(
        absl::StrCat("the data's classes (", absl::StrJoin(data.names.class_label(), ", "),
                     ") are not the model's (", absl::StrJoin(names.class_label(), ", "), ")"));
  }
  MNEMO_ASSIGN_OR_RETURN(Evaluation result,
                         Evaluate(*network, data.test, absl::GetFlag(FLAGS_batch_size)));
  absl::PrintF("model         %s\n", model_path);
  absl::PrintF("backend       %s, %d thread%s\n", network->backend().name(),
               network->backend().threads(), network->backend().threads() == 1 ? "" : "s");
  absl::PrintF("test samples  %d\n", result.samples);
  absl::PrintF("test loss     %.4f\n", result.loss);
  if (!data.test.regression()) absl::PrintF("test accuracy %.4f\n", result.accuracy);
  for (const std::string& figure : TaskFigureNames(network->loss().kind)) {
    if (figure == "accuracy") continue;
    absl::PrintF("test %-8s %.4f\n", figure, result.figures.at(figure));
  }
  if (const std::string flag = absl::GetFlag(FLAGS_predictions); !flag.empty()) {
    const std::string path = UserPath(flag);
    MNEMO_RETURN_IF_ERROR(
        WritePredictions(path, *network, data.test, absl::GetFlag(FLAGS_batch_size)));
    absl::PrintF("predictions   %s\n", path);
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace mnemo

int main(int argc, char** argv) {
  return mnemo::RunTool(argc, argv, "eval",
                        "Reports the test accuracy of a saved model.\n"
                        "  bazel run //tools:eval -- --model=FILE [--config=FILE] "
                        "[--predictions=FILE]",
                        &mnemo::Run);
}
