#ifndef MNEMO_TOOLS_DATA_FORMATS_H_
#define MNEMO_TOOLS_DATA_FORMATS_H_

#include <memory>

#include "absl/status/status.h"
#include "core/data_format.h"
#include "core/registry.h"

namespace mnemo {

// Registers the tools' data formats into `registries`, once (a second call
// for the same registries does nothing):
//   "idx"      the MNIST family; data.dir (default Debian's Fashion-MNIST)
//              holds <prefix>-images-idx3-ubyte and -labels-idx1-ubyte, raw
//              or .gz, for train_prefix ("train") and test_prefix ("t10k").
//   "cifar10"  the binary CIFAR-10; data.dir holds data_batch_1..5.bin and
//              test_batch.bin, raw or .gz.
//   "csv"      tables with a header row (csv_format.cc).
//   "npy"      NumPy arrays, .npy or .npz, memory-mapped (npy_format.cc).
absl::Status RegisterDataFormats(Registries& registries = Registries::Global());

std::unique_ptr<DataFormat> MakeIdxFormat();
std::unique_ptr<DataFormat> MakeCifar10Format();
std::unique_ptr<DataFormat> MakeCsvFormat(const DataFormatArgs& args);
std::unique_ptr<DataFormat> MakeNpyFormat(const DataFormatArgs& args);

}  // namespace mnemo

#endif  // MNEMO_TOOLS_DATA_FORMATS_H_
