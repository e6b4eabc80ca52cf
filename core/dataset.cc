#include "core/dataset.h"

#include "absl/strings/str_cat.h"

namespace mnemo {

absl::Status CheckDataFits(const Dataset& data, int input_size, int num_outputs, const char* what) {
  if (data.features.cols() != input_size) {
    return absl::InvalidArgumentError(absl::StrCat("the ", what, " set has ", data.features.cols(),
                                                   " features per sample but the model's "
                                                   "input_size is ",
                                                   input_size));
  }
  if (data.num_classes > num_outputs) {
    return absl::InvalidArgumentError(absl::StrCat("the ", what, " set has ", data.num_classes,
                                                   " classes but the model has ", num_outputs,
                                                   " outputs"));
  }
  if (data.size() == 0) {
    return absl::InvalidArgumentError(absl::StrCat("the ", what, " set is empty"));
  }
  return absl::OkStatus();
}

}  // namespace mnemo
