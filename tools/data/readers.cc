#include "tools/data/readers.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/augmentation.h"
#include "core/field_range.h"
#include "core/init.h"
#include "core/loss.h"
#include "core/status_macros.h"
#include "tools/data/class_selection.h"
#include "tools/data/data_config.h"
#include "tools/data/formats.h"

namespace mnemo {
namespace {

// DeriveSeed's stream for the validation split (plus the class label).
constexpr uint64_t kValidationStream = 0x56414C4900000000ull;  // "VALI"

}  // namespace

absl::StatusOr<std::string> FindDataFile(const std::string& dir, const std::string& base) {
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

namespace {

// The format `experiment` names, for its model's loss, its data's counts checked.
absl::StatusOr<std::unique_ptr<DataFormat>> FormatOf(const config::Experiment& experiment,
                                                     Registries& registries) {
  MNEMO_RETURN_IF_ERROR(RegisterDataFormats(registries));
  const config::Data& config = experiment.data();
  MNEMO_RETURN_IF_ERROR(CheckRangesStatus(config, "data"));
  const std::string& name = config.format().empty() ? kIdxFormat : config.format();
  return registries.data_formats.Create(name,
                                        DataFormatArgs{IsRegression(experiment.model().loss())});
}

}  // namespace

absl::StatusOr<TrainTestData> LoadData(const config::Experiment& experiment,
                                       Registries& registries) {
  const config::Data& config = experiment.data();
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<DataFormat> format, FormatOf(experiment, registries));
  MNEMO_ASSIGN_OR_RETURN(TrainTestData data, format->Load(config));
  if (config.has_augmentation()) {
    MNEMO_ASSIGN_OR_RETURN(
        data.augmentation,
        ResolveAugmentation(config.augmentation(), data.train.image, data.train.feature_dim(),
                            absl::StrCat("the training images of ", DataSource(config))));
  }
  if (config.validation_fraction() > 0) {
    MNEMO_RETURN_IF_ERROR(
        SplitValidation(config.validation_fraction(), experiment.trainer().seed(), &data));
  }
  MNEMO_RETURN_IF_ERROR(SelectClasses(config, experiment.trainer().seed(), &data));
  return data;
}

absl::StatusOr<TrainTestData> LoadTestData(const config::Experiment& experiment,
                                           const config::DataNames& trained,
                                           Registries& registries) {
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<DataFormat> format, FormatOf(experiment, registries));
  MNEMO_ASSIGN_OR_RETURN(TrainTestData data, format->LoadTest(experiment.data(), trained));
  if (data.test.size() == 0) {
    const config::Data& config = experiment.data();
    return absl::InvalidArgumentError(absl::StrCat(
        config.test_file().empty() ? DataSource(config) : config.test_file(),
        ": no test samples (data.test_file names the test set; idx reads data.test_prefix)"));
  }
  return data;
}

absl::StatusOr<TrainTestData> LoadData(const config::Data& config, Registries& registries) {
  config::Experiment experiment;
  *experiment.mutable_data() = config;
  return LoadData(experiment, registries);
}

absl::Status SplitValidation(double fraction, uint64_t seed, TrainTestData* data) {
  const Dataset& train = data->train;
  // Sample indices by class (one group for regression), each group shuffled
  // with its own stream of the seed; the first share of each is held out.
  std::map<int32_t, std::vector<int32_t>> groups;
  for (int i = 0; i < train.size(); ++i) {
    groups[train.regression() ? 0 : train.labels[i]].push_back(i);
  }
  std::vector<int32_t> kept, held_out;
  for (auto& [label, indices] : groups) {
    std::mt19937_64 rng(DeriveSeed(seed, kValidationStream + static_cast<uint32_t>(label)));
    for (size_t i = indices.size(); i > 1; --i) std::swap(indices[i - 1], indices[rng() % i]);
    const size_t count = static_cast<size_t>(std::lround(fraction * indices.size()));
    held_out.insert(held_out.end(), indices.begin(), indices.begin() + count);
    kept.insert(kept.end(), indices.begin() + count, indices.end());
  }
  if (held_out.empty() || kept.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("data.validation_fraction ", fraction, " of ", train.size(),
                     " training samples leaves ", held_out.size(), " for validation and ",
                     kept.size(), " for training; both need at least one"));
  }
  std::sort(kept.begin(), kept.end());
  std::sort(held_out.begin(), held_out.end());
  data->validation = Subset(train, held_out);
  data->train = Subset(train, kept);
  return absl::OkStatus();
}

}  // namespace mnemo
