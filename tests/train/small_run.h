#ifndef MNEMO_TESTS_TRAIN_SMALL_RUN_H_
#define MNEMO_TESTS_TRAIN_SMALL_RUN_H_

// A small training run assembled in the test (a 6-8-3 MLP with dropout on
// 50 synthetic samples; or with BatchNorm and LayerNorm too), and hooks and
// comparisons for tests of snapshots and numerical guards.

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/config_loader.h"
#include "core/dataset.h"
#include "core/model_builder.h"
#include "core/optimizer.h"
#include "core/trainer.h"
#include "gtest/gtest.h"
#include "tests/testing/tensors.h"

namespace mnemo::testing {

// The small MLP's layers.
inline constexpr char kSmallLayers[] = R"pb(
  layer { type: "Dense" units: 8 activation: "ReLU" }
  layer { type: "Dropout" rate: 0.25 }
  layer { type: "Dense" units: 3 }
)pb";

// The same with a BatchNorm (momentum 0.3: its running statistics move
// visibly in a few steps) and a LayerNorm: layers with parameters and
// buffers ("1_batchnorm.running_mean", "1_batchnorm.running_var").
inline constexpr char kNormLayers[] = R"pb(
  layer { type: "Dense" units: 8 }
  layer { type: "BatchNorm" momentum: 0.3 activation: "ReLU" }
  layer { type: "LayerNorm" }
  layer { type: "Dropout" rate: 0.25 }
  layer { type: "Dense" units: 3 }
)pb";

// `optimizer` is the text of a trainer.optimizer message; `layers` the
// model's layer messages.
inline std::string SmallConfigText(const std::string& optimizer, int epochs = 3,
                                   const std::string& layers = kSmallLayers) {
  return absl::StrCat(R"pb(
                        model { input_size: 6
                                init { scheme: HE_UNIFORM })pb",
                      layers, R"pb(
                        }
                        trainer { optimizer {)pb",
                      optimizer, R"pb(}
                                      batch_size: 8
      epochs: )pb",
                      epochs, R"pb(
      seed: 5
    })pb");
}

inline constexpr char kMomentum[] = R"pb(type: "sgd" learning_rate: 0.1 momentum: 0.9)pb";
inline constexpr char kAdam[] = R"pb(type: "adam" learning_rate: 0.01)pb";

// 50 samples of 6 features in [0, 1); the label is the largest of the first
// three. Deterministic (a linear congruential generator).
inline Dataset SmallData(int samples = 50, uint32_t seed = 1) {
  Dataset data;
  data.num_classes = 3;
  data.features.resize(samples, 6);
  uint32_t state = seed;
  for (int r = 0; r < samples; ++r) {
    for (int c = 0; c < 6; ++c) {
      state = state * 1664525u + 1013904223u;
      data.features(r, c) = static_cast<float>(state >> 8) / static_cast<float>(1u << 24);
    }
    int label = 0;
    for (int c = 1; c < 3; ++c) {
      if (data.features(r, c) > data.features(r, label)) label = c;
    }
    data.labels.push_back(label);
  }
  return data;
}

// A network, its optimizer and its trainer, built from a config text.
struct SmallRun {
  std::unique_ptr<LoadedConfig> config;
  std::unique_ptr<Network> network;
  std::unique_ptr<Optimizer> optimizer;
  std::unique_ptr<Trainer> trainer;
};

inline SmallRun MakeSmallRun(const std::string& config_text) {
  SmallRun run;
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config =
      ConfigLoader().LoadText(config_text, "small.pbtxt");
  EXPECT_TRUE(config.ok()) << config.status();
  if (!config.ok()) return run;
  run.config = *std::move(config);
  absl::StatusOr<std::unique_ptr<Network>> network =
      BuildNetwork(*run.config, Registries::Global());
  EXPECT_TRUE(network.ok()) << network.status();
  absl::StatusOr<std::unique_ptr<Optimizer>> optimizer =
      CreateOptimizer(run.config->experiment().trainer().optimizer());
  EXPECT_TRUE(optimizer.ok()) << optimizer.status();
  if (!network.ok() || !optimizer.ok()) return run;
  run.network = *std::move(network);
  run.optimizer = *std::move(optimizer);
  absl::StatusOr<Trainer> trainer =
      Trainer::Create(run.config->experiment().trainer(), run.network.get(), run.optimizer.get());
  EXPECT_TRUE(trainer.ok()) << trainer.status();
  if (trainer.ok()) run.trainer = std::make_unique<Trainer>(*std::move(trainer));
  return run;
}

// Stops the run after step `step`, or at the end of epoch `epoch` when
// `step` is 0.
class StopAt : public TrainingHook {
 public:
  explicit StopAt(uint64_t step, int epoch = 0) : step_(step), epoch_(epoch) {}
  absl::StatusOr<Decision> AfterStep(const TrainingProgress& progress, bool epoch_end) override {
    const bool stop = step_ > 0 ? !epoch_end && progress.step == step_
                                : epoch_end && progress.epoch == epoch_ + 1;
    return stop ? Decision::kStop : Decision::kContinue;
  }

 private:
  uint64_t step_;
  int epoch_;
};

// Every parameter and buffer of `a` and `b` bit for bit; failures name the
// tensor.
inline void ExpectSameParameters(Network& a, Network& b) {
  ASSERT_EQ(a.num_layers(), b.num_layers());
  for (int i = 0; i < a.num_layers(); ++i) {
    for (const bool buffers : {false, true}) {
      const std::vector<Parameter> pa = buffers ? a.layer(i).buffers() : a.layer(i).parameters();
      const std::vector<Parameter> pb = buffers ? b.layer(i).buffers() : b.layer(i).parameters();
      ASSERT_EQ(pa.size(), pb.size());
      for (size_t j = 0; j < pa.size(); ++j) {
        EXPECT_TRUE(SameBits(*pa[j].value, *pb[j].value)) << a.layer(i).name() << "." << pa[j].name;
      }
    }
  }
}

// The figures of two histories that do not depend on the clock.
inline void ExpectSameMetrics(const std::vector<EpochMetrics>& a,
                              const std::vector<EpochMetrics>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t e = 0; e < a.size(); ++e) {
    EXPECT_EQ(a[e].epoch, b[e].epoch);
    EXPECT_EQ(a[e].train_loss, b[e].train_loss) << "epoch " << e + 1;
    EXPECT_EQ(a[e].train_accuracy, b[e].train_accuracy) << "epoch " << e + 1;
    EXPECT_EQ(a[e].test_loss, b[e].test_loss) << "epoch " << e + 1;
    EXPECT_EQ(a[e].test_accuracy, b[e].test_accuracy) << "epoch " << e + 1;
    EXPECT_EQ(a[e].skipped_steps, b[e].skipped_steps) << "epoch " << e + 1;
    ASSERT_EQ(a[e].figures.size(), b[e].figures.size()) << "epoch " << e + 1;
    for (const auto& [name, value] : a[e].figures) {
      auto it = b[e].figures.find(name);
      ASSERT_NE(it, b[e].figures.end()) << name << ", epoch " << e + 1;
      // A figure may be NaN (a path that answered no sample): NaN matches NaN.
      EXPECT_TRUE(value == it->second || (std::isnan(value) && std::isnan(it->second)))
          << name << ", epoch " << e + 1 << ": " << value << " vs " << it->second;
    }
  }
}

}  // namespace mnemo::testing

#endif  // MNEMO_TESTS_TRAIN_SMALL_RUN_H_
