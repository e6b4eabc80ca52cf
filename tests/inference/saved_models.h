#ifndef MNEMO_TESTS_INFERENCE_SAVED_MODELS_H_
#define MNEMO_TESTS_INFERENCE_SAVED_MODELS_H_

// Models saved for the inference tests: a config file and a model file whose
// weights are drawn at random (so they match no initialisation, and a
// predictor that failed to load them would show).

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "core/config_loader.h"
#include "core/model_builder.h"
#include "core/model_io.h"
#include "core/network.h"
#include "gtest/gtest.h"
#include "tests/testing/tensors.h"
#include "tests/testing/test_files.h"

namespace mnemo::testing {

struct SavedModel {
  std::string config_path;
  std::string model_path;
  std::unique_ptr<Network> network;  // as saved; null when saving failed
};

// Writes `config_text` to TestDir()/<name>.pbtxt and the model it describes,
// with weights uniform in [-0.5, 0.5) from `seed`, to <name>.safetensors
// (the config text in its metadata, as tools/train writes it).
inline SavedModel SaveRandomModel(const std::string& config_text, const std::string& name,
                                  uint32_t seed) {
  SavedModel saved;
  saved.config_path = absl::StrCat(TestDir(), "/", name, ".pbtxt");
  saved.model_path = absl::StrCat(TestDir(), "/", name, ".safetensors");
  WriteFile(saved.config_path, config_text);
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config =
      ConfigLoader(Registries::Global(), ConfigUse::kInference).LoadFile(saved.config_path);
  EXPECT_TRUE(config.ok()) << config.status();
  if (!config.ok()) return saved;
  absl::StatusOr<std::unique_ptr<Network>> network = BuildNetwork(**config, Registries::Global());
  EXPECT_TRUE(network.ok()) << network.status();
  if (!network.ok()) return saved;
  TestRng rng(seed);
  for (int i = 0; i < (*network)->num_layers(); ++i) {
    for (const Parameter& p : (*network)->layer(i).parameters()) {
      *p.value = rng.Random(static_cast<int>(p.value->rows()), static_cast<int>(p.value->cols()),
                            -0.5f, 0.5f);
    }
  }
  const absl::Status status = SaveModel(saved.model_path, **network, config_text);
  EXPECT_TRUE(status.ok()) << status;
  if (status.ok()) saved.network = *std::move(network);
  return saved;
}

}  // namespace mnemo::testing

#endif  // MNEMO_TESTS_INFERENCE_SAVED_MODELS_H_
