#ifndef MNEMO_TOOLS_DATA_DATA_CONFIG_H_
#define MNEMO_TOOLS_DATA_DATA_CONFIG_H_

// What a config's `data` section names for the tools' data formats
// (tools/data/formats.h): their names and the files each reads.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/config.pb.h"
#include "core/data_format.h"

namespace mnemo {

// data.format values of the tools' formats ("" means idx).
inline constexpr char kIdxFormat[] = "idx";
inline constexpr char kCifar10Format[] = "cifar10";
inline constexpr char kCsvFormat[] = "csv";
inline constexpr char kNpyFormat[] = "npy";

// npy with .npz archives: the arrays' default names.
inline constexpr char kDefaultFeaturesArray[] = "x";
inline constexpr char kDefaultTargetsArray[] = "y";

// IDX: `<dir>/<prefix>-images-idx3-ubyte` and `-labels-idx1-ubyte`, each raw
// or with `.gz`; the defaults are Debian's Fashion-MNIST.
inline constexpr char kDefaultDataDir[] = "/usr/share/datasets/fashion-mnist";
inline constexpr char kDefaultTrainPrefix[] = "train";
inline constexpr char kDefaultTestPrefix[] = "t10k";
inline constexpr char kIdxImagesSuffix[] = "-images-idx3-ubyte";
inline constexpr char kIdxLabelsSuffix[] = "-labels-idx1-ubyte";

// CIFAR-10 (binary version): fixed names in data.dir, each raw or with `.gz`.
inline std::vector<std::string> Cifar10TrainFiles() {
  std::vector<std::string> names;
  for (int i = 1; i <= 5; ++i) names.push_back(absl::StrCat("data_batch_", i, ".bin"));
  return names;
}
inline constexpr char kCifar10TestFile[] = "test_batch.bin";
// Its images: 32 x 32 pixels, the red, green and blue planes one after another.
inline constexpr ImageShape kCifar10Image = {32, 32, 3};

// Where a config's data comes from, for messages: its training file (csv,
// npy), or its directory and format ("/usr/share/datasets/fashion-mnist (idx)").
std::string DataSource(const config::Data& config);

// Whether `path` is a regular file, or a directory, that exists.
bool IsFile(const std::string& path);
bool IsDirectory(const std::string& path);

// The fields of `config` that are set but that `format` does not read
// (besides format, the limits, validation_fraction and augmentation, which
// every format takes), each a problem "data.<field> does not apply to format "<format>"
// (<hint>)": a csv field left in an idx config must not be silently ignored.
std::vector<FieldProblem> FieldsNotTaken(const config::Data& config, const std::string& format,
                                         const std::vector<std::string>& taken,
                                         const std::string& hint);

}  // namespace mnemo

#endif  // MNEMO_TOOLS_DATA_DATA_CONFIG_H_
