// The peak memory of Predictor::Load: a model file of S bytes costs about S
// (the network's weights, read from the file straight into them), not the
// 4 S of a network with gradients, the file read whole and a decoded copy of
// it besides. A benchmark loads models of hundreds of MB one after another
// within 1.5 S + its baseline.
//
// A binary of its own: it resets and reads the whole process's peak resident
// memory (Linux: /proc/self/clear_refs and /proc/self/status).
#include <malloc.h>
#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "core/config_loader.h"
#include "core/inference/predictor.h"
#include "core/tensor.h"
#include "gtest/gtest.h"
#include "tests/inference/saved_models.h"
#include "tests/testing/tensors.h"
#include "tools/resident_memory.h"

namespace mnemo {
namespace {

using ::mnemo::testing::SavedModel;
using ::mnemo::testing::SaveRandomModel;
using ::mnemo::testing::TestRng;

// 784 x 16384 + 16384 x 256 + 256 x 10 weights and their biases: 68 MB of
// F32, large enough that the allocator maps each big tensor on its own and
// the measurement is not lost in the process's baseline.
constexpr char kModel[] = R"pb(
  model {
    input_size: 784
    layer { type: "Dense" units: 16384 activation: "ReLU" }
    layer { type: "Dense" units: 256 activation: "ReLU" }
    layer { type: "Dense" units: 10 }
  }
)pb";

// The same model as a training config (with a trainer section), for a
// Predictor loaded from a config loaded for training.
constexpr char kTrainer[] = R"pb(
  trainer {
    optimizer { type: "sgd" learning_rate: 0.1 }
    batch_size: 32
    epochs: 1
  }
)pb";

// The limit on the peak's growth while loading, in multiples of the file's size.
constexpr double kMaxGrowth = 1.25;

// Makes the peak (VmHWM) the current resident size, so that the next peak is
// that of what runs after.
void ResetPeak() {
  const absl::Status reset = ResetPeakResidentMemory();
  ASSERT_TRUE(reset.ok()) << reset << " (the peak resident size is what this test measures)";
}

int64_t FileBytes(const std::string& path) {
  struct stat info;
  EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
  return static_cast<int64_t>(info.st_size);
}

class PredictorMemoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_ = SaveRandomModel(kModel, "model", 1);
    ASSERT_NE(saved_.network, nullptr);
    // Only the files are needed: the saved network, and what the allocator
    // kept of the saving's buffers, must not serve the load below.
    saved_.network.reset();
    ::malloc_trim(0);
    file_bytes_ = FileBytes(saved_.model_path);
    ASSERT_GT(file_bytes_, 64'000'000);
  }

  // Runs `load` and expects the process's peak to grow by less than
  // kMaxGrowth times the file's size; the Predictor must answer.
  template <typename Load>
  void ExpectPeakGrowthBelowLimit(Load load) {
    ResetPeak();
    absl::StatusOr<ResidentMemory> before = ReadResidentMemory();
    ASSERT_TRUE(before.ok()) << before.status();
    absl::StatusOr<std::unique_ptr<Predictor>> predictor = load();
    absl::StatusOr<ResidentMemory> after = ReadResidentMemory();
    ASSERT_TRUE(predictor.ok()) << predictor.status();
    ASSERT_TRUE(after.ok()) << after.status();

    const int64_t growth = after->peak_bytes - before->current_bytes;
    const double ratio = static_cast<double>(growth) / static_cast<double>(file_bytes_);
    ::testing::Test::RecordProperty("peak_growth_bytes", std::to_string(growth));
    ::testing::Test::RecordProperty("model_file_bytes", std::to_string(file_bytes_));
    EXPECT_LT(ratio, kMaxGrowth) << "loading a model file of " << file_bytes_
                                 << " bytes raised the peak resident size by " << growth
                                 << " bytes (" << ratio << " times the file; resident before "
                                 << before->current_bytes << ", peak after " << after->peak_bytes
                                 << ")";
    std::cout << "peak growth " << growth << " bytes = " << ratio << " x the model file of "
              << file_bytes_ << " bytes\n";

    const Tensor sample = TestRng(2).Random(1, 784);
    absl::StatusOr<int32_t> label =
        (*predictor)->ClassifyOne(absl::MakeConstSpan(sample.data(), sample.size()));
    EXPECT_TRUE(label.ok()) << label.status();
  }

  SavedModel saved_;
  int64_t file_bytes_ = 0;
};

TEST_F(PredictorMemoryTest, LoadingFromPathsCostsAboutTheFilesSize) {
  ExpectPeakGrowthBelowLimit(
      [&] { return Predictor::Load(saved_.config_path, saved_.model_path); });
}

// A config loaded for training, whose network would have gradients: the
// Predictor builds its own for inference all the same.
TEST_F(PredictorMemoryTest, LoadingWithAConfigLoadedForTrainingCostsAboutTheFilesSize) {
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config =
      ConfigLoader().LoadText(absl::StrCat(kModel, kTrainer), "training.pbtxt");
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ((*config)->use(), ConfigUse::kTraining);
  ::malloc_trim(0);  // the validation's network, built and dropped by the loader
  ExpectPeakGrowthBelowLimit([&] { return Predictor::Load(**config, saved_.model_path); });
}

}  // namespace
}  // namespace mnemo
