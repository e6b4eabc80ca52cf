// Fashion-MNIST read from Debian's IDX files, and the same samples written
// out as a CSV table and as .npy arrays: the three read back to the same
// floats and labels, and the same config and seed train each to the same
// weights bit for bit (so to the same test accuracy).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/config.pb.h"
#include "core/model_builder.h"
#include "core/optimizer.h"
#include "core/trainer.h"
#include "tests/testing/data_files.h"
#include "tests/testing/tensors.h"
#include "tests/testing/test_files.h"
#include "tests/train/small_run.h"
#include "tools/data/readers.h"

namespace mnemo {
namespace {

using testing::ExpectSameParameters;
using testing::MakeSmallRun;
using testing::SameBits;
using testing::SmallRun;

constexpr int kTrain = 1500;
constexpr int kTest = 500;

// The samples as a CSV table: "p0".."p783" with 9 significant digits (which
// read back as the same float) and "label".
void WriteCsv(const Dataset& data, const std::string& path) {
  std::string text;
  for (int c = 0; c < data.feature_dim(); ++c) absl::StrAppend(&text, "p", c, ",");
  text += "label\n";
  for (int r = 0; r < data.size(); ++r) {
    for (int c = 0; c < data.feature_dim(); ++c) {
      absl::StrAppendFormat(&text, "%.9g,", data.features(r, c));
    }
    absl::StrAppend(&text, data.labels[r], "\n");
  }
  WriteFile(path, text);
}

void WriteArrays(const Dataset& data, const std::string& stem) {
  const int n = data.size();
  testing::WriteNpy(stem + "_x.npy", "<f4", absl::StrCat("(", n, ", 784)"), data.features.data(),
                    data.features.size());
  const std::vector<int64_t> labels(data.labels.begin(), data.labels.end());
  testing::WriteNpy(stem + "_y.npy", "<i8", absl::StrCat("(", n, ",)"), labels.data(),
                    labels.size());
}

std::string Config(const std::string& data) {
  return absl::StrCat(
      R"pb(
        model {
          input_size: 784
          init { scheme: NORMAL std: 0.01 }
          layer { type: "Dense" units: 32 activation: "ReLU" }
          layer { type: "Dense" units: 10 }
        }
        data {)pb",
      data,
      R"pb(}
           trainer { optimizer { type: "sgd" learning_rate: 0.1 } batch_size: 64 epochs: 2 seed: 1 })pb");
}

TEST(FormatsAgreeTest, FashionMnistAsIdxCsvAndNpyTrainsToTheSameWeights) {
  const std::string dir = TestDir();
  const std::string idx =
      absl::StrCat("format: 'idx' train_limit: ", kTrain, " test_limit: ", kTest);
  SmallRun from_idx = MakeSmallRun(Config(idx));
  ASSERT_NE(from_idx.trainer, nullptr);
  absl::StatusOr<TrainTestData> idx_data = LoadData(from_idx.config->experiment());
  ASSERT_TRUE(idx_data.ok()) << idx_data.status();

  WriteCsv(idx_data->train, dir + "/train.csv");
  WriteCsv(idx_data->test, dir + "/test.csv");
  WriteArrays(idx_data->train, dir + "/train");
  WriteArrays(idx_data->test, dir + "/test");

  TrainingProgress idx_progress;
  ASSERT_TRUE(from_idx.trainer->Run(*idx_data, &idx_progress).ok());

  for (const std::string& data : {
           absl::StrCat("format: 'csv' train_file: '", dir, "/train.csv' test_file: '", dir,
                        "/test.csv' target: 'label'"),
           absl::StrCat("format: 'npy' train_file: '", dir, "/train_x.npy' train_targets_file: '",
                        dir, "/train_y.npy' test_file: '", dir, "/test_x.npy' test_targets_file: '",
                        dir, "/test_y.npy'"),
       }) {
    SCOPED_TRACE(data);
    SmallRun run = MakeSmallRun(Config(data));
    ASSERT_NE(run.trainer, nullptr);
    absl::StatusOr<TrainTestData> read = LoadData(run.config->experiment());
    ASSERT_TRUE(read.ok()) << read.status();
    for (const auto& [ours, theirs] :
         {std::pair{&read->train, &idx_data->train}, std::pair{&read->test, &idx_data->test}}) {
      ASSERT_EQ(ours->size(), theirs->size());
      Tensor rows;
      SliceRows(*ours, 0, ours->size(), &rows);
      EXPECT_TRUE(SameBits(rows, theirs->features));
      EXPECT_EQ(ours->labels, theirs->labels);
    }
    TrainingProgress progress;
    ASSERT_TRUE(run.trainer->Run(*read, &progress).ok());
    ExpectSameParameters(*run.network, *from_idx.network);
    EXPECT_EQ(progress.history.back().test_accuracy, idx_progress.history.back().test_accuracy);
  }
}

}  // namespace
}  // namespace mnemo
