#ifndef MNEMO_TOOLS_EXPORT_TORCH_PICKLE_H_
#define MNEMO_TOOLS_EXPORT_TORCH_PICKLE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/types/span.h"

namespace mnemo {

// One float32 tensor of a state_dict as its pickle refers to it: the
// state_dict key, the name of the storage record that holds its bytes
// (archive/data/<storage_key>), and its shape; the storage holds exactly the
// tensor, contiguous, row-major.
struct PickledTensor {
  std::string name;
  std::string storage_key;
  std::vector<int64_t> shape;
};

// The data.pkl of a PyTorch state_dict archive: a protocol-2 pickle of a
// collections.OrderedDict mapping each name, in order, to
//   torch._utils._rebuild_tensor_v2(
//       persistent_load(('storage', torch.FloatStorage, storage_key, 'cpu', numel)),
//       0, shape, contiguous strides, False, collections.OrderedDict())
// which is what torch.save(module.state_dict()) writes (without its
// `_metadata`, which load_state_dict does not need) and torch.load reads.
// No memo: every global is written out where it is used.
std::string StateDictPickle(absl::Span<const PickledTensor> tensors);

}  // namespace mnemo

#endif  // MNEMO_TOOLS_EXPORT_TORCH_PICKLE_H_
