#ifndef MNEMO_TOOLS_EXPORT_TORCH_ZIP_H_
#define MNEMO_TOOLS_EXPORT_TORCH_ZIP_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace mnemo {

// A named float32 tensor of a state_dict: `values` row-major (C order), as
// many as the shape's product.
struct TorchTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
};

// What torch.save(state_dict, f) writes for these tensors, in PyTorch's zip
// format (torch.load reads it; then module.load_state_dict): a zip archive
// (tools/export/zip_writer.h: stored entries, data on 64-byte boundaries) of
//   <archive>/data.pkl   the OrderedDict of the tensors (torch_pickle.h)
//   <archive>/data/<i>   tensor i's values, float32 little-endian
//   <archive>/version    "3\n"
//   <archive>/byteorder  "little"
// Refuses an empty or repeated name, a negative dimension, values that do
// not fill the shape, and an archive past plain zip's 4 GiB.
absl::StatusOr<std::string> TorchStateDictArchive(absl::Span<const TorchTensor> tensors,
                                                  absl::string_view archive = "archive");

// The archive written to `path` atomically (core/io/atomic_file.h); errors
// name the file.
absl::Status WriteTorchStateDict(const std::string& path, absl::Span<const TorchTensor> tensors);

}  // namespace mnemo

#endif  // MNEMO_TOOLS_EXPORT_TORCH_ZIP_H_
