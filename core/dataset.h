#ifndef MNEMO_CORE_DATASET_H_
#define MNEMO_CORE_DATASET_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/config.pb.h"
#include "core/tensor.h"

namespace mnemo {

// Rows of features read on demand rather than held: a memory-mapped file
// (tools/data's npy format), so that a data set larger than memory trains.
class FeatureRows {
 public:
  virtual ~FeatureRows() = default;
  virtual int64_t rows() const = 0;
  virtual int cols() const = 0;
  // The rows `indices` (each in [0, rows())), in that order, into `out`
  // (count x cols() floats).
  virtual void Gather(const int32_t* indices, int count, float* out) const = 0;
  // Gives back the memory that the rows read so far hold (a mapping's
  // resident pages); called by the training loop after every batch.
  virtual void Release() const {}
};

// The shape of the images a data set's samples are: height x width pixels of
// `channels` channels, stored channel after channel (CHW), so that
// height x width x channels is the features per sample. 0 = not known.
struct ImageShape {
  int height = 0;
  int width = 0;
  int channels = 0;
};

// Samples with their answers: what the training loop and the evaluations
// take. The readers of data files are in tools/data/.
//
// A classification set has a label per sample (`labels`); a regression set
// has a row of target values per sample (`targets`) and no labels.
struct Dataset {
  Tensor features;              // samples x features, unless `rows` holds them
  std::vector<int32_t> labels;  // classification: each in [0, num_classes)
  int num_classes = 0;
  Tensor targets;                           // regression: samples x targets
  std::shared_ptr<const FeatureRows> rows;  // features read on demand (`features` empty)
  // The samples' image shape, when the reader knows it (idx: its header's
  // rows x columns x 1; cifar10: 32 x 32 x 3); zeros otherwise.
  ImageShape image;

  int size() const { return static_cast<int>(labels.empty() ? targets.rows() : labels.size()); }
  int feature_dim() const { return rows ? rows->cols() : static_cast<int>(features.cols()); }
  bool regression() const { return labels.empty() && targets.rows() > 0; }
};

// The sets a config's `data` section names (tools/data/readers.h: LoadData),
// and what the data calls its columns and classes: tools/train keeps these
// names in the model file (kModelDataKey), so that a served model takes rows
// by column name and answers with the original labels.
struct TrainTestData {
  Dataset train;
  Dataset validation;  // empty when the config asks for none
  Dataset test;        // empty when the config names none
  config::DataNames names;
  // data.augmentation with its image shape resolved (core/augmentation.h:
  // ResolveAugmentation): the random changes Trainer::Run makes to each
  // training batch; none when unset.
  std::optional<config::Augmentation> augmentation;
};

// The rows `indices` of `data`'s features into `out` (resized only when its
// shape changes).
void GatherRows(const Dataset& data, const int32_t* indices, int count, Tensor* out);
// Rows `begin` .. `begin + count` of `data`'s features into `out`.
void SliceRows(const Dataset& data, int begin, int count, Tensor* out);
// The samples `indices` of `data`, in that order: features (or rows read on
// demand, through an index), labels and targets; and its image shape.
Dataset Subset(const Dataset& data, const std::vector<int32_t>& indices);

// Whether `data` fits a model that takes `input_size` features and gives
// `num_outputs` outputs under `loss`: the feature width, at least one
// sample, class labels for a classification loss (no more classes than
// outputs; two for a sigmoid), a row of targets as wide as the output for a
// regression one. `what` names the set in the message ("the training set has
// 780 features per sample but the model's input_size is 784").
absl::Status CheckDataFits(const Dataset& data, int input_size, int num_outputs,
                           config::Model::Loss loss, const char* what);

// Per feature, over every sample of `data` (read in chunks, so that rows
// read on demand are never all held): the mean, the standard deviation
// (population), the minimum and the maximum, as 1 x features rows.
struct FeatureStats {
  Tensor mean, stddev, min, max;
};
FeatureStats ComputeFeatureStats(const Dataset& data);

}  // namespace mnemo

#endif  // MNEMO_CORE_DATASET_H_
