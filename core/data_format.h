#ifndef MNEMO_CORE_DATA_FORMAT_H_
#define MNEMO_CORE_DATA_FORMAT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config.pb.h"
#include "core/dataset.h"
#include "core/field_problem.h"

namespace mnemo {

// data.format's default.
inline constexpr char kDefaultDataFormat[] = "idx";

// A format of training data, as `data.format` names it: the tools' "idx",
// "cifar10", "csv" and "npy" (tools/data/), or a plugin's
// (PluginRegistrar::AddDataFormat).
class DataFormat {
 public:
  virtual ~DataFormat() = default;

  // What is wrong with `config` for this format, found without reading the
  // data (fields it lacks or does not take, files that are not there), every
  // problem at once. The config loader reports them with their places.
  virtual std::vector<FieldProblem> Check(const config::Data& config) const = 0;

  // The sets `config` names: training, and validation and test when it
  // names them (data.validation_fraction is LoadData's, not the format's),
  // with the data's names (TrainTestData::names) when it has any, and each
  // set's image shape (Dataset::image) when the format knows it: LoadData
  // fills data.augmentation's shape from it (TrainTestData::augmentation is
  // LoadData's too). Errors
  // name the file and what is wrong in it (a missing file, with the paths
  // tried; a bad value with its line and column, or byte offset).
  virtual absl::StatusOr<TrainTestData> Load(const config::Data& config) const = 0;

  // The test set alone (TrainTestData::test, and its names), for a tool that
  // evaluates a trained model: the training files need not be there.
  // `trained` are the names the model keeps (DataNames), whose class labels
  // map the test set's labels to the ids the model was trained with. This
  // default loads every set and keeps the test set; the tools' formats read
  // the test files only.
  virtual absl::StatusOr<TrainTestData> LoadTest(const config::Data& config,
                                                 const config::DataNames& trained) const {
    (void)trained;
    absl::StatusOr<TrainTestData> data = Load(config);
    if (!data.ok()) return data.status();
    data->train = Dataset();
    data->validation = Dataset();
    return data;
  }
};

// What a data format's factory gets besides the `data` section it is given.
struct DataFormatArgs {
  // The model's loss is a regression one (core/loss.h: IsRegression): the
  // targets are values (Dataset::targets), not class labels.
  bool regression = false;
};

}  // namespace mnemo

#endif  // MNEMO_CORE_DATA_FORMAT_H_
