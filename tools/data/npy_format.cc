// The "npy" data format: NumPy arrays, the features memory-mapped.
//
//   data {
//     format: "npy"
//     train_file: "x_train.npy"          # features: (n, d), or (n, h, w) ...
//     train_targets_file: "y_train.npy"  # labels (n,), or values (n,) / (n, t)
//     test_file: "x_test.npy"            # optional, as validation_file is
//     test_targets_file: "y_test.npy"
//   }
//
// or, with .npz archives holding both arrays (np.savez, np.savez_compressed):
//
//   data { format: "npy"  train_file: "train.npz"  test_file: "test.npz" }
//   # the arrays "x" and "y"; data.features_array and targets_array rename them
//
// The features are read a batch at a time from the mapped file (an .npz
// entry stored uncompressed is mapped in place; a compressed one is inflated
// into memory), and the training loop releases the pages it read after
// every batch, so a set larger than memory trains with bounded resident
// memory. The targets are read whole: class labels (integers, or floats
// that are whole numbers, >= 0) for a classifier, values for a regression.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/augmentation.h"
#include "core/status_macros.h"
#include "tools/data/data_config.h"
#include "tools/data/formats.h"
#include "tools/data/npy.h"

namespace mnemo {
namespace {

// The largest class id a label file may hold.
constexpr int64_t kMaxClassId = 1 << 20;

bool IsArchive(const std::string& path) { return absl::EndsWith(path, ".npz"); }

// The first `limit` rows of a mapped array, read on demand.
class NpyRows : public FeatureRows {
 public:
  NpyRows(std::unique_ptr<NpyFile> file, int64_t limit)
      : file_(std::move(file)), rows_(limit > 0 ? std::min(limit, file_->rows()) : file_->rows()) {}
  int64_t rows() const override { return rows_; }
  int cols() const override { return static_cast<int>(file_->cols()); }
  void Gather(const int32_t* indices, int count, float* out) const override {
    file_->GatherRows(indices, count, out);
  }
  void Release() const override { file_->ReleasePages(); }

 private:
  std::unique_ptr<NpyFile> file_;
  int64_t rows_;
};

class NpyFormat : public DataFormat {
 public:
  explicit NpyFormat(const DataFormatArgs& args) : regression_(args.regression) {}

  std::vector<FieldProblem> Check(const config::Data& config) const override {
    std::vector<FieldProblem> problems = FieldsNotTaken(
        config, kNpyFormat,
        {"train_file", "validation_file", "test_file", "train_targets_file",
         "validation_targets_file", "test_targets_file", "features_array", "targets_array"},
        "arrays have no columns by name");
    if (config.train_file().empty()) {
      problems.push_back({"data",
                          "data.train_file is required with data.format \"npy\" (an "
                          ".npy of features, or an .npz with features and targets)"});
    }
    for (const auto& [set, file, targets] :
         {std::tuple{"train", config.train_file(), config.train_targets_file()},
          std::tuple{"validation", config.validation_file(), config.validation_targets_file()},
          std::tuple{"test", config.test_file(), config.test_targets_file()}}) {
      const std::string file_field = absl::StrCat("data.", set, "_file");
      const std::string targets_field = absl::StrCat("data.", set, "_targets_file");
      if (file.empty()) {
        if (!targets.empty()) {
          problems.push_back({targets_field, absl::StrCat(targets_field, " without ", file_field)});
        }
        continue;
      }
      if (!IsFile(file)) {
        problems.push_back({file_field, absl::StrCat("no such file: \"", file, "\"")});
      }
      if (IsArchive(file)) {
        if (!targets.empty()) {
          problems.push_back({targets_field, absl::StrCat(file_field,
                                                          " is an .npz archive, "
                                                          "which holds the targets too")});
        }
      } else if (targets.empty()) {
        problems.push_back({file_field, absl::StrCat(file_field, " is an .npy of features; ",
                                                     targets_field, " names their targets")});
      } else if (!IsFile(targets)) {
        problems.push_back({targets_field, absl::StrCat("no such file: \"", targets, "\"")});
      }
    }
    if (config.has_augmentation()) {
      for (FieldProblem& problem : RequireAugmentationShape(config.augmentation(), kNpyFormat)) {
        problems.push_back(std::move(problem));
      }
    }
    return problems;
  }

  absl::StatusOr<TrainTestData> Load(const config::Data& config) const override {
    TrainTestData data;
    MNEMO_ASSIGN_OR_RETURN(data.train, LoadSet(config, config.train_file(),
                                               config.train_targets_file(), config.train_limit()));
    if (!config.validation_file().empty()) {
      MNEMO_ASSIGN_OR_RETURN(data.validation, LoadSet(config, config.validation_file(),
                                                      config.validation_targets_file(), 0));
    }
    if (!config.test_file().empty()) {
      MNEMO_ASSIGN_OR_RETURN(data.test, LoadSet(config, config.test_file(),
                                                config.test_targets_file(), config.test_limit()));
    }
    // A classifier's classes: as many as the largest label of any set asks.
    if (!regression_) {
      const int classes =
          std::max({data.train.num_classes, data.validation.num_classes, data.test.num_classes});
      for (Dataset* set : {&data.train, &data.validation, &data.test}) set->num_classes = classes;
    }
    return data;
  }

  absl::StatusOr<TrainTestData> LoadTest(const config::Data& config,
                                         const config::DataNames& trained) const override {
    TrainTestData data;
    if (config.test_file().empty()) return data;  // the caller says there is no test set
    MNEMO_ASSIGN_OR_RETURN(data.test, LoadSet(config, config.test_file(),
                                              config.test_targets_file(), config.test_limit()));
    if (!regression_) {
      data.test.num_classes = std::max(data.test.num_classes, trained.class_label_size());
    }
    return data;
  }

 private:
  absl::StatusOr<Dataset> LoadSet(const config::Data& config, const std::string& file,
                                  const std::string& targets_file, int limit) const {
    std::unique_ptr<NpyFile> features, targets;
    if (IsArchive(file)) {
      const std::string x =
          config.features_array().empty() ? kDefaultFeaturesArray : config.features_array();
      const std::string y =
          config.targets_array().empty() ? kDefaultTargetsArray : config.targets_array();
      MNEMO_ASSIGN_OR_RETURN(features, NpyFile::OpenInArchive(file, x));
      MNEMO_ASSIGN_OR_RETURN(targets, NpyFile::OpenInArchive(file, y));
    } else {
      MNEMO_ASSIGN_OR_RETURN(features, NpyFile::Open(file));
      MNEMO_ASSIGN_OR_RETURN(targets, NpyFile::Open(targets_file));
    }
    if (targets->rows() != features->rows()) {
      return absl::InvalidArgumentError(absl::StrCat(targets->path(), " has ", targets->rows(),
                                                     " targets for the ", features->rows(),
                                                     " rows of features in ", features->path()));
    }
    if (features->rows() > std::numeric_limits<int32_t>::max() - 1) {
      return absl::InvalidArgumentError(absl::StrCat(features->path(), " has ", features->rows(),
                                                     " rows; at most 2^31 - 2 are read"));
    }
    const int64_t n = limit > 0 ? std::min<int64_t>(limit, features->rows()) : features->rows();
    Dataset set;
    Tensor values(n, targets->cols());
    targets->ReadRows(0, n, values.data());
    if (regression_) {
      set.targets = std::move(values);
    } else {
      MNEMO_RETURN_IF_ERROR(ToLabels(*targets, values, &set));
    }
    set.rows = std::make_shared<NpyRows>(std::move(features), n);
    return set;
  }

  // Class labels from a targets array of one column: whole numbers >= 0.
  static absl::Status ToLabels(const NpyFile& file, const Tensor& values, Dataset* set) {
    if (values.cols() != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(file.path(), " has ", values.cols(),
                       " values per row; a classifier's targets are one "
                       "class label per row (several values need a regression model.loss)"));
    }
    set->labels.resize(values.rows());
    int64_t largest = -1;
    for (Eigen::Index i = 0; i < values.rows(); ++i) {
      const float v = values(i, 0);
      if (!(v >= 0 && v <= kMaxClassId && v == std::floor(v))) {
        return absl::InvalidArgumentError(absl::StrCat(
            file.path(), ": at byte ", file.header().data_offset + i * file.header().item_bytes,
            ": element ", i, " is ", v, ", not a class label (a whole number from 0 to ",
            kMaxClassId, ")"));
      }
      set->labels[i] = static_cast<int32_t>(v);
      largest = std::max<int64_t>(largest, set->labels[i]);
    }
    set->num_classes = static_cast<int>(largest + 1);
    return absl::OkStatus();
  }

  bool regression_;
};

}  // namespace

std::unique_ptr<DataFormat> MakeNpyFormat(const DataFormatArgs& args) {
  return std::make_unique<NpyFormat>(args);
}

}  // namespace mnemo
