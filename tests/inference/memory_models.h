#ifndef MNEMO_TESTS_INFERENCE_MEMORY_MODELS_H_
#define MNEMO_TESTS_INFERENCE_MEMORY_MODELS_H_

// A tiny dual-path model (a model with a memory module) saved as tools/train
// saves one, whose answers are known: 2 inputs; the backbone ("features", a
// Dense 2 -> 2 with identity weights) passes them through as the features;
// the head (Dense 2 -> 3, zero weights, bias 5, 0, 0) always says class 0;
// the memory (of the real plugin named, capacity 4, num_classes 4: one class
// more than the head's) holds [1, 0] of class 1 and [0, 1] of class 2, with
// the default confidence_threshold 0.85. The config names the plugin by its
// absolute path, so another process (tools/serve) loads it too.

#include <unistd.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/config_loader.h"
#include "core/model_io.h"
#include "gtest/gtest.h"
#include "memory_modules/classifier/dual_path_classifier.h"

namespace mnemo::testing {

// `path` made absolute against the working directory.
inline std::string Absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char cwd[4096];
  return absl::StrCat(getcwd(cwd, sizeof(cwd)) != nullptr ? cwd : ".", "/", path);
}

inline std::string MemoryModelConfig(const std::string& type, const std::string& plugin) {
  return absl::StrCat("plugin: \"", Absolute(plugin),
                      "\"\n"
                      "model {\n"
                      "  input_size: 2\n"
                      "  layer { type: \"Dense\" units: 2 name: \"features\" }\n"
                      "  layer { type: \"Dense\" units: 3 }\n"
                      "}\n"
                      "memory_module {\n"
                      "  type: \"",
                      type,
                      "\"\n"
                      "  capacity: 4\n"
                      "  features_after: \"features\"\n"
                      "  num_classes: 4\n"
                      "}\n");
}

// Builds the model of MemoryModelConfig and saves it at `path` with `names`.
inline void SaveMemoryModel(const std::string& type, const std::string& plugin,
                            const std::string& path, const config::DataNames& names = {}) {
  const std::string text = MemoryModelConfig(type, plugin);
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config =
      ConfigLoader(Registries::Global(), ConfigUse::kInference).LoadText(text, path);
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<std::unique_ptr<DualPathClassifier>> classifier =
      DualPathClassifier::Create(**config);
  ASSERT_TRUE(classifier.ok()) << classifier.status();
  DualPathClassifier& model = **classifier;
  for (const ModelParameter& p : model.Parameters()) {
    if (p.name == "features.weight") *p.value = Tensor::Identity(2, 2);
    if (p.name == "features.bias") p.value->setZero();
    if (p.name == "1_dense.weight") p.value->setZero();
    if (p.name == "1_dense.bias") *p.value = (Tensor(1, 3) << 5, 0, 0).finished();
  }
  for (int i = 0; i < model.backbone().num_layers(); ++i) {
    model.backbone().layer(i).MarkParametersUpdated();
  }
  for (int i = 0; i < model.head().num_layers(); ++i) model.head().layer(i).MarkParametersUpdated();
  ASSERT_TRUE(model.memory().Store((Tensor(2, 2) << 1, 0, 0, 1).finished(), {1, 2}).ok());
  const absl::Status saved =
      SaveModel(path, {&model.backbone(), &model.head()}, text, model.ExportState(), names);
  ASSERT_TRUE(saved.ok()) << saved;
}

}  // namespace mnemo::testing

#endif  // MNEMO_TESTS_INFERENCE_MEMORY_MODELS_H_
