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

class IdxFormat : public DataFormat {
 public:
  std::vector<FieldProblem> Check(const config::Data& config) const override {
    std::vector<FieldProblem> problems =
        FieldsNotTaken(config, kIdxFormat, {"dir", "train_prefix", "test_prefix"},
                       "its files are <dir>/<prefix>-images-idx3-ubyte and -labels-idx1-ubyte; "
                       "set data.format for a csv or npy data set");
    if (!problems.empty()) return problems;
    if (config.has_augmentation()) {
      // Its images have one channel; their height and width are in the
      // header, read with the data (LoadData checks them then).
      problems = CheckAugmentationShape(config.augmentation(), ImageShape{0, 0, 1}, "idx's images");
      if (!problems.empty()) return problems;
    }
    const std::string dir = Dir(config);
    if (!IsDirectory(dir)) {
      return {{"data.dir", absl::StrCat("data directory \"", dir, "\" does not exist")}};
    }
    std::vector<std::string> missing;
    for (const std::string& prefix : {TrainPrefix(config), TestPrefix(config)}) {
      for (const char* kind : {kIdxImagesSuffix, kIdxLabelsSuffix}) {
        if (!FindDataFile(dir, prefix + kind).ok()) {
          missing.push_back(absl::StrCat(prefix, kind, "[.gz]"));
        }
      }
    }
    if (missing.empty()) return {};
    return {{"data.dir", absl::StrCat("data directory \"", dir,
                                      "\" is missing files: ", absl::StrJoin(missing, ", "))}};
  }

  absl::StatusOr<TrainTestData> Load(const config::Data& config) const override {
    TrainTestData data;
    MNEMO_ASSIGN_OR_RETURN(data.train,
                           LoadSplit(Dir(config), TrainPrefix(config), config.train_limit()));
    MNEMO_ASSIGN_OR_RETURN(data.test,
                           LoadSplit(Dir(config), TestPrefix(config), config.test_limit()));
    return data;
  }

  absl::StatusOr<TrainTestData> LoadTest(const config::Data& config,
                                         const config::DataNames& /*trained*/) const override {
    TrainTestData data;
    MNEMO_ASSIGN_OR_RETURN(data.test,
                           LoadSplit(Dir(config), TestPrefix(config), config.test_limit()));
    return data;
  }

 private:
  static std::string Dir(const config::Data& config) {
    return config.dir().empty() ? kDefaultDataDir : config.dir();
  }
  static std::string TrainPrefix(const config::Data& config) {
    return config.train_prefix().empty() ? kDefaultTrainPrefix : config.train_prefix();
  }
  static std::string TestPrefix(const config::Data& config) {
    return config.test_prefix().empty() ? kDefaultTestPrefix : config.test_prefix();
  }

  static absl::StatusOr<Dataset> LoadSplit(const std::string& dir, const std::string& prefix,
                                           int limit) {
    MNEMO_ASSIGN_OR_RETURN(std::string images, FindDataFile(dir, prefix + kIdxImagesSuffix));
    MNEMO_ASSIGN_OR_RETURN(std::string labels, FindDataFile(dir, prefix + kIdxLabelsSuffix));
    return ReadIdx(images, labels, limit);
  }
};

}  // namespace

std::unique_ptr<DataFormat> MakeIdxFormat() { return std::make_unique<IdxFormat>(); }

}  // namespace mnemo
