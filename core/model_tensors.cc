#include "core/model_tensors.h"

#include "absl/strings/str_cat.h"

namespace mnemo {

std::vector<SavedModelTensor> SavedModelTensors(TrainableModel& model) {
  std::vector<SavedModelTensor> tensors;
  for (const ModelParameter& p : model.Parameters()) {
    tensors.push_back({absl::StrCat(kParameterPrefix, p.name), p.value, p.layer});
  }
  for (const ModelParameter& b : model.Buffers()) {
    tensors.push_back({absl::StrCat(kBufferPrefix, b.name), b.value, b.layer});
  }
  return tensors;
}

}  // namespace mnemo
