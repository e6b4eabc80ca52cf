#ifndef MNEMO_MEMORY_MODULES_COMMON_STATE_TENSORS_H_
#define MNEMO_MEMORY_MODULES_COMMON_STATE_TENSORS_H_

// Helpers for a memory module's ExportState/ImportState: named float tensors,
// labels carried as floats (exact for integers below 2^24), and import checks
// whose errors say which tensor is wrong and how.

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/tensor.h"

namespace mnemo::memory {

// Labels as a 1 x n tensor of floats.
Tensor LabelsToTensor(absl::Span<const int> labels);

// The state holds exactly `names`: the error lists what is missing and what
// is unknown, so a state of another module type is refused by name.
absl::Status CheckStateNames(const std::map<std::string, Tensor>& state,
                             const std::vector<std::string>& names);

// The tensor `name` (present: CheckStateNames first), checked to be finite
// and `rows` x `cols` (-1: any).
absl::StatusOr<const Tensor*> StateTensor(const std::map<std::string, Tensor>& state,
                                          const std::string& name, Eigen::Index rows,
                                          Eigen::Index cols);

// The integers a labels tensor (1 x n) holds, each in [lowest, end); the error
// names the first entry that is not an integer or out of range.
absl::StatusOr<std::vector<int>> LabelsFromTensor(const Tensor& labels, const std::string& name,
                                                  int lowest, int end);

}  // namespace mnemo::memory

#endif  // MNEMO_MEMORY_MODULES_COMMON_STATE_TENSORS_H_
