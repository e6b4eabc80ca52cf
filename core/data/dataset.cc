#include "core/data/dataset.h"

#include <sys/stat.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/config.pb.h"

namespace mnemo {
namespace {

constexpr char kIdxFormat[] = "idx";

// The first of `<dir>/<base>.gz` and `<dir>/<base>` that exists. The gzip name
// comes first because that is how Debian ships the data.
absl::StatusOr<std::string> FindFile(const std::string& dir, const std::string& base) {
  const std::string stem =
      absl::StrCat(dir, !dir.empty() && dir.back() == '/' ? "" : "/", base);
  const std::vector<std::string> candidates = {stem + ".gz", stem};
  for (const std::string& path : candidates) {
    struct stat info;
    if (::stat(path.c_str(), &info) == 0) return path;
  }
  std::string message = absl::StrCat("no ", base, " file in ", dir,
                                     "; tried: ", absl::StrJoin(candidates, ", "));
  if (dir == kDefaultDataDir) {
    absl::StrAppend(&message,
                    "; install Debian's dataset-fashion-mnist (./bazelw does), or set "
                    "data.dir to where the files are");
  }
  return absl::NotFoundError(message);
}

absl::StatusOr<Dataset> LoadSplit(const std::string& dir, const std::string& prefix,
                                  int limit) {
  absl::StatusOr<std::string> images = FindFile(dir, prefix + "-images-idx3-ubyte");
  if (!images.ok()) return images.status();
  absl::StatusOr<std::string> labels = FindFile(dir, prefix + "-labels-idx1-ubyte");
  if (!labels.ok()) return labels.status();
  return ReadIdx(*images, *labels, limit);
}

}  // namespace

absl::StatusOr<TrainTestData> LoadData(const config::Data& config) {
  if (!config.format().empty() && config.format() != kIdxFormat) {
    return absl::InvalidArgumentError(absl::StrCat("unknown data format \"", config.format(),
                                                   "\"; known formats: ", kIdxFormat));
  }
  for (const auto& [name, limit] : {std::pair{"train_limit", config.train_limit()},
                                    std::pair{"test_limit", config.test_limit()}}) {
    if (limit < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("data.", name, " is ", limit, "; it must be 0 (all samples) or more"));
    }
  }
  const std::string dir = config.dir().empty() ? kDefaultDataDir : config.dir();
  const std::string train_prefix =
      config.train_prefix().empty() ? "train" : config.train_prefix();
  const std::string test_prefix = config.test_prefix().empty() ? "t10k" : config.test_prefix();

  TrainTestData data;
  absl::StatusOr<Dataset> train = LoadSplit(dir, train_prefix, config.train_limit());
  if (!train.ok()) return train.status();
  data.train = *std::move(train);
  absl::StatusOr<Dataset> test = LoadSplit(dir, test_prefix, config.test_limit());
  if (!test.ok()) return test.status();
  data.test = *std::move(test);
  return data;
}

}  // namespace mnemo
