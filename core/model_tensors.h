#ifndef MNEMO_CORE_MODEL_TENSORS_H_
#define MNEMO_CORE_MODEL_TENSORS_H_

#include <string>
#include <vector>

#include "core/layer.h"
#include "core/tensor.h"
#include "core/trainable_model.h"

namespace mnemo {

// The prefixes under which a snapshot (core/snapshot.h) and early stopping's
// best copy (TrainingProgress::best_model) keep a model's tensors.
inline constexpr char kParameterPrefix[] = "param/";  // TrainableModel::Parameters
inline constexpr char kBufferPrefix[] = "buffer/";    // TrainableModel::Buffers
inline constexpr char kStatePrefix[] = "extra/";      // TrainableModel::ExportState

// A tensor of the model by its saved name, with the layer to tell when it is
// overwritten (null for one that belongs to no layer).
struct SavedModelTensor {
  std::string name;  // "param/0_dense.weight", "buffer/1_batchnorm.running_mean"
  Tensor* value;
  Layer* layer;
};

// Every parameter (frozen ones too) and every buffer of `model`, parameters
// first, each name prefixed as above: what a model's copy must hold to give
// back the same model.
std::vector<SavedModelTensor> SavedModelTensors(TrainableModel& model);

}  // namespace mnemo

#endif  // MNEMO_CORE_MODEL_TENSORS_H_
