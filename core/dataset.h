#ifndef MNEMO_CORE_DATASET_H_
#define MNEMO_CORE_DATASET_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "core/tensor.h"

namespace mnemo {

// Samples as rows of `features` with one label each: what the training loop
// and the evaluations take. The readers of data files are in core/data/.
struct Dataset {
  Tensor features;              // num_samples x feature_dim
  std::vector<int32_t> labels;  // num_samples, each in [0, num_classes)
  int num_classes = 0;
  int size() const { return static_cast<int>(labels.size()); }
};

// Whether `data` fits a model that takes `input_size` features and tells
// `num_outputs` classes apart: the feature width, no more classes than
// outputs, at least one sample. `what` names the set in the message ("the
// training set has 780 features per sample but the model's input_size is 784").
absl::Status CheckDataFits(const Dataset& data, int input_size, int num_outputs, const char* what);

}  // namespace mnemo

#endif  // MNEMO_CORE_DATASET_H_
