#ifndef MNEMO_CORE_DATA_DATASET_H_
#define MNEMO_CORE_DATA_DATASET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config.pb.h"
#include "core/tensor.h"

namespace mnemo {

// Samples as rows of `features` (scaled to [0, 1]) with one label each.
struct Dataset {
  Tensor features;              // num_samples x feature_dim
  std::vector<int32_t> labels;  // num_samples, each in [0, num_classes)
  int num_classes = 0;
  int size() const { return static_cast<int>(labels.size()); }
};

// Reads an IDX image file and its label file (each raw or gzip-compressed,
// chosen by content, not by name). Errors name the file and say what is wrong:
// missing, truncated (expected vs actual bytes), wrong magic number, bad
// dimensions, a label out of range, image and label counts that differ.
// `limit` > 0 keeps only the first `limit` samples.
absl::StatusOr<Dataset> ReadIdx(const std::string& images_path,
                                const std::string& labels_path, int limit = 0);

// The training and test sets a Data config names (defaults filled in:
// /usr/share/datasets/fashion-mnist, "train", "t10k"; `<prefix>-images-idx3-ubyte`
// with or without `.gz`).
struct TrainTestData {
  Dataset train;
  Dataset test;
};
absl::StatusOr<TrainTestData> LoadData(const config::Data& config);

inline constexpr char kDefaultDataDir[] = "/usr/share/datasets/fashion-mnist";

}  // namespace mnemo

#endif  // MNEMO_CORE_DATA_DATASET_H_
