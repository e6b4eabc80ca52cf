#ifndef MNEMO_TOOLS_DATA_READERS_H_
#define MNEMO_TOOLS_DATA_READERS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config.pb.h"
#include "core/dataset.h"
#include "core/registry.h"
#include "core/tensor.h"
#include "tools/data/data_config.h"

namespace mnemo {

// Reads an IDX image file and its label file (each raw or gzip-compressed,
// chosen by content, not by name), with its image shape (Dataset::image: the
// header's rows x columns x 1). Errors name the file and say what is wrong:
// missing, truncated (expected vs actual bytes), wrong magic number, bad
// dimensions, a label out of range, image and label counts that differ.
// `limit` > 0 keeps only the first `limit` samples.
absl::StatusOr<Dataset> ReadIdx(const std::string& images_path, const std::string& labels_path,
                                int limit = 0);

// The two halves of ReadIdx, for samples without labels (images to classify)
// and labels on their own: an IDX image file as rows of features scaled to
// [0, 1] (the first `limit` when > 0), and an IDX label file, each label
// checked as ReadIdx checks it. The same errors as ReadIdx.
absl::StatusOr<Tensor> ReadIdxImages(const std::string& path, int limit = 0);
absl::StatusOr<std::vector<int32_t>> ReadIdxLabels(const std::string& path);

// Reads files of the binary version of CIFAR-10 (data_batch_1.bin ...,
// test_batch.bin), in the order given, as one data set: records of a label
// byte and 3,072 pixel bytes (the 32x32 red plane row by row, then green,
// then blue), each record a row of 3,072 features in the file's order scaled
// to [0, 1], of image shape 32 x 32 x 3. Each file may be gzip-compressed. Errors name the file:
// missing, a size that is not a whole number of 3,073-byte records (the record count and the bytes
// left over), a label above 9 (its record index). `limit` > 0 keeps only the first `limit` samples
// over all the files.
absl::StatusOr<Dataset> ReadCifar10(const std::vector<std::string>& paths, int limit = 0);

// The sets an experiment's `data` section names, read by the format it names
// ("" = idx) as registered in `registries` (RegisterDataFormats first adds
// the tools' own), for a model with its model.loss. With
// data.validation_fraction that share of the training set is held out as the
// validation set, drawn with trainer.seed and, for classification, class by
// class (stratified), so that every class keeps its proportion.
// Then data.rare_classes and data.held_out_classes select the training (and
// validation) samples of those classes (SelectClasses, class_selection.h).
// data.augmentation, with its image shape filled from the training set's
// where it leaves it out, is TrainTestData::augmentation
// (ResolveAugmentation: a shape that disagrees or is missing is refused).
absl::StatusOr<TrainTestData> LoadData(const config::Experiment& experiment,
                                       Registries& registries = Registries::Global());
// The same for the data section of a classifier trained with seed 0.
absl::StatusOr<TrainTestData> LoadData(const config::Data& config,
                                       Registries& registries = Registries::Global());

// The test set alone (DataFormat::LoadTest), for evaluating a model trained
// on `experiment`'s data, which keeps `trained` (its DataNames): the training
// files need not be there. An experiment that names no test set, or whose
// test set is empty, is an error.
absl::StatusOr<TrainTestData> LoadTestData(const config::Experiment& experiment,
                                           const config::DataNames& trained,
                                           Registries& registries = Registries::Global());

// Holds out `fraction` of `data->train` as data->validation, as LoadData does.
absl::Status SplitValidation(double fraction, uint64_t seed, TrainTestData* data);

// The first of `<dir>/<base>.gz` and `<dir>/<base>` that exists (the gzip name
// first: Debian ships the data so); NotFound lists both.
absl::StatusOr<std::string> FindDataFile(const std::string& dir, const std::string& base);

}  // namespace mnemo

#endif  // MNEMO_TOOLS_DATA_READERS_H_
