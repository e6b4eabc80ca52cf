#include "tools/export/torch_zip.h"

#include <cstring>
#include <set>

#include "absl/strings/str_cat.h"
#include "core/io/atomic_file.h"
#include "core/status_macros.h"
#include "tools/export/torch_pickle.h"
#include "tools/export/zip_writer.h"

namespace mnemo {
namespace {

// The values as float32 little-endian bytes.
std::string LittleEndianBytes(const std::vector<float>& values) {
  std::string bytes(values.size() * sizeof(float), '\0');
  char* out = bytes.data();
  for (float value : values) {
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof(bits));
    for (int shift = 0; shift < 32; shift += 8) *out++ = static_cast<char>((bits >> shift) & 0xff);
  }
  return bytes;
}

absl::Status CheckTensor(const TorchTensor& tensor, std::set<std::string>& names) {
  if (tensor.name.empty()) return absl::InvalidArgumentError("a tensor without a name");
  if (!names.insert(tensor.name).second) {
    return absl::InvalidArgumentError(absl::StrCat("tensor \"", tensor.name, "\" given twice"));
  }
  uint64_t numel = 1;
  for (int64_t dim : tensor.shape) {
    if (dim < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor \"", tensor.name, "\" has a negative dimension (", dim, ")"));
    }
    numel *= static_cast<uint64_t>(dim);
  }
  if (numel != tensor.values.size()) {
    return absl::InvalidArgumentError(absl::StrCat("tensor \"", tensor.name, "\": its shape holds ",
                                                   numel, " values, not ", tensor.values.size()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> TorchStateDictArchive(absl::Span<const TorchTensor> tensors,
                                                  absl::string_view archive) {
  std::set<std::string> names;
  std::vector<PickledTensor> pickled;
  pickled.reserve(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    MNEMO_RETURN_IF_ERROR(CheckTensor(tensors[i], names));
    pickled.push_back({tensors[i].name, absl::StrCat(i), tensors[i].shape});
  }
  StoredZipWriter zip;
  MNEMO_RETURN_IF_ERROR(zip.Add(absl::StrCat(archive, "/data.pkl"), StateDictPickle(pickled)));
  for (size_t i = 0; i < tensors.size(); ++i) {
    MNEMO_RETURN_IF_ERROR(zip.Add(absl::StrCat(archive, "/data/", pickled[i].storage_key),
                                  LittleEndianBytes(tensors[i].values)));
  }
  MNEMO_RETURN_IF_ERROR(zip.Add(absl::StrCat(archive, "/version"), "3\n"));
  MNEMO_RETURN_IF_ERROR(zip.Add(absl::StrCat(archive, "/byteorder"), "little"));
  return zip.Finish();
}

absl::Status WriteTorchStateDict(const std::string& path, absl::Span<const TorchTensor> tensors) {
  absl::StatusOr<std::string> archive = TorchStateDictArchive(tensors);
  if (!archive.ok()) return WithPrefix(archive.status(), path);
  return WriteFileAtomically(path, *archive);
}

}  // namespace mnemo
