#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/augmentation.h"
#include "core/status_macros.h"
#include "tools/data/data_config.h"
#include "tools/data/formats.h"
#include "tools/data/readers.h"

namespace mnemo {
namespace {

class Cifar10Format : public DataFormat {
 public:
  std::vector<FieldProblem> Check(const config::Data& config) const override {
    std::vector<FieldProblem> problems =
        FieldsNotTaken(config, kCifar10Format, {"dir", "train_prefix", "test_prefix"},
                       "it reads data_batch_1..5.bin and test_batch.bin in data.dir");
    if (!problems.empty()) return problems;
    if (config.has_augmentation()) {
      problems = CheckAugmentationShape(config.augmentation(), kCifar10Image, "cifar10's images");
    }
    // Its files have fixed names.
    for (const auto& [field, value] : {std::pair{"train_prefix", config.train_prefix()},
                                       std::pair{"test_prefix", config.test_prefix()}}) {
      if (!value.empty()) {
        problems.push_back({absl::StrCat("data.", field),
                            absl::StrCat("data.", field, " applies to format \"idx\" only; ",
                                         "cifar10 reads data_batch_1..5.bin and test_batch.bin")});
      }
    }
    if (config.dir().empty()) {
      problems.push_back({"data",
                          "data.dir is required with data.format \"cifar10\" (the directory of "
                          "data_batch_1.bin ... data_batch_5.bin and test_batch.bin)"});
      return problems;
    }
    if (!IsDirectory(config.dir())) {
      problems.push_back(
          {"data.dir", absl::StrCat("data directory \"", config.dir(), "\" does not exist")});
      return problems;
    }
    std::vector<std::string> missing;
    for (const std::string& name : AllFiles()) {
      if (!FindDataFile(config.dir(), name).ok()) missing.push_back(name + "[.gz]");
    }
    if (!missing.empty()) {
      problems.push_back(
          {"data.dir", absl::StrCat("data directory \"", config.dir(),
                                    "\" is missing files: ", absl::StrJoin(missing, ", "))});
    }
    return problems;
  }

  absl::StatusOr<TrainTestData> Load(const config::Data& config) const override {
    MNEMO_RETURN_IF_ERROR(CheckConfig(config));
    TrainTestData data;
    MNEMO_ASSIGN_OR_RETURN(data.train,
                           LoadSplit(config.dir(), Cifar10TrainFiles(), config.train_limit()));
    MNEMO_ASSIGN_OR_RETURN(data.test,
                           LoadSplit(config.dir(), {kCifar10TestFile}, config.test_limit()));
    return data;
  }

  absl::StatusOr<TrainTestData> LoadTest(const config::Data& config,
                                         const config::DataNames& /*trained*/) const override {
    MNEMO_RETURN_IF_ERROR(CheckConfig(config));
    TrainTestData data;
    MNEMO_ASSIGN_OR_RETURN(data.test,
                           LoadSplit(config.dir(), {kCifar10TestFile}, config.test_limit()));
    return data;
  }

 private:
  static absl::Status CheckConfig(const config::Data& config) {
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
    return absl::OkStatus();
  }

  static std::vector<std::string> AllFiles() {
    std::vector<std::string> names = Cifar10TrainFiles();
    names.push_back(kCifar10TestFile);
    return names;
  }

  static absl::StatusOr<Dataset> LoadSplit(const std::string& dir,
                                           const std::vector<std::string>& names, int limit) {
    std::vector<std::string> paths;
    for (const std::string& name : names) {
      MNEMO_ASSIGN_OR_RETURN(std::string path, FindDataFile(dir, name));
      paths.push_back(std::move(path));
    }
    return ReadCifar10(paths, limit);
  }
};

}  // namespace

std::unique_ptr<DataFormat> MakeCifar10Format() { return std::make_unique<Cifar10Format>(); }

}  // namespace mnemo
