#include "tools/data/readers.h"

#include <sys/stat.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/config.pb.h"
#include "core/status_macros.h"

namespace mnemo {
namespace {

// The first of `<dir>/<base>.gz` and `<dir>/<base>` that exists. The gzip name
// comes first because that is how Debian ships the data.
absl::StatusOr<std::string> FindFile(const std::string& dir, const std::string& base) {
  const std::string stem = absl::StrCat(dir, !dir.empty() && dir.back() == '/' ? "" : "/", base);
  const std::vector<std::string> candidates = {stem + ".gz", stem};
  for (const std::string& path : candidates) {
    struct stat info;
    if (::stat(path.c_str(), &info) == 0) return path;
  }
  std::string message =
      absl::StrCat("no ", base, " file in ", dir, "; tried: ", absl::StrJoin(candidates, ", "));
  if (dir == kDefaultDataDir) {
    absl::StrAppend(&message,
                    "; install Debian's dataset-fashion-mnist (./bazelw does), or set "
                    "data.dir to where the files are");
  }
  return absl::NotFoundError(message);
}

absl::StatusOr<Dataset> LoadSplit(const std::string& dir, const std::string& prefix, int limit) {
  MNEMO_ASSIGN_OR_RETURN(std::string images, FindFile(dir, prefix + kIdxImagesSuffix));
  MNEMO_ASSIGN_OR_RETURN(std::string labels, FindFile(dir, prefix + kIdxLabelsSuffix));
  return ReadIdx(images, labels, limit);
}

absl::StatusOr<Dataset> LoadCifar10Split(const std::string& dir,
                                         const std::vector<std::string>& names, int limit) {
  std::vector<std::string> paths;
  for (const std::string& name : names) {
    MNEMO_ASSIGN_OR_RETURN(std::string path, FindFile(dir, name));
    paths.push_back(std::move(path));
  }
  return ReadCifar10(paths, limit);
}

absl::StatusOr<TrainTestData> LoadCifar10(const config::Data& config) {
  if (config.dir().empty()) {
    return absl::InvalidArgumentError(
        "data.dir is required with data.format \"cifar10\": the directory of "
        "data_batch_1.bin ... data_batch_5.bin and test_batch.bin");
  }
  for (const auto& [name, value] : {std::pair{"train_prefix", config.train_prefix()},
                                    std::pair{"test_prefix", config.test_prefix()}}) {
    if (!value.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "data.", name, " applies to format \"idx\" only; cifar10's files have fixed names"));
    }
  }
  TrainTestData data;
  MNEMO_ASSIGN_OR_RETURN(Dataset train,
                         LoadCifar10Split(config.dir(), Cifar10TrainFiles(), config.train_limit()));
  data.train = std::move(train);
  absl::StatusOr<Dataset> test =
      LoadCifar10Split(config.dir(), {kCifar10TestFile}, config.test_limit());
  if (!test.ok()) return test.status();
  data.test = *std::move(test);
  return data;
}

}  // namespace

absl::StatusOr<TrainTestData> LoadData(const config::Data& config) {
  const bool cifar10 = config.format() == kCifar10Format;
  if (!config.format().empty() && config.format() != kIdxFormat && !cifar10) {
    return absl::InvalidArgumentError(absl::StrCat("unknown data format \"", config.format(),
                                                   "\"; known formats: ", kCifar10Format, ", ",
                                                   kIdxFormat));
  }
  for (const auto& [name, limit] : {std::pair{"train_limit", config.train_limit()},
                                    std::pair{"test_limit", config.test_limit()}}) {
    if (limit < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("data.", name, " is ", limit, "; it must be 0 (all samples) or more"));
    }
  }
  if (cifar10) return LoadCifar10(config);
  const std::string dir = config.dir().empty() ? kDefaultDataDir : config.dir();
  const std::string train_prefix =
      config.train_prefix().empty() ? kDefaultTrainPrefix : config.train_prefix();
  const std::string test_prefix =
      config.test_prefix().empty() ? kDefaultTestPrefix : config.test_prefix();

  TrainTestData data;
  MNEMO_ASSIGN_OR_RETURN(Dataset train, LoadSplit(dir, train_prefix, config.train_limit()));
  data.train = std::move(train);
  MNEMO_ASSIGN_OR_RETURN(Dataset test, LoadSplit(dir, test_prefix, config.test_limit()));
  data.test = std::move(test);
  return data;
}

}  // namespace mnemo
