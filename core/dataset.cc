#include "core/dataset.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/loss.h"

namespace mnemo {
namespace {

// Rows of another FeatureRows through an index: a subset read on demand.
class IndexedRows : public FeatureRows {
 public:
  IndexedRows(std::shared_ptr<const FeatureRows> base, std::vector<int32_t> index)
      : base_(std::move(base)), index_(std::move(index)) {}
  int64_t rows() const override { return static_cast<int64_t>(index_.size()); }
  int cols() const override { return base_->cols(); }
  void Gather(const int32_t* indices, int count, float* out) const override {
    std::vector<int32_t> mapped(count);
    for (int i = 0; i < count; ++i) mapped[i] = index_[indices[i]];
    base_->Gather(mapped.data(), count, out);
  }
  void Release() const override { base_->Release(); }

 private:
  std::shared_ptr<const FeatureRows> base_;
  std::vector<int32_t> index_;
};

void Resize(Tensor* out, int rows, int cols) {
  if (out->rows() != rows || out->cols() != cols) out->resize(rows, cols);
}

}  // namespace

void GatherRows(const Dataset& data, const int32_t* indices, int count, Tensor* out) {
  Resize(out, count, data.feature_dim());
  if (data.rows) {
    data.rows->Gather(indices, count, out->data());
    return;
  }
  for (int i = 0; i < count; ++i) out->row(i) = data.features.row(indices[i]);
}

void SliceRows(const Dataset& data, int begin, int count, Tensor* out) {
  if (!data.rows) {
    Resize(out, count, data.feature_dim());
    *out = data.features.middleRows(begin, count);
    return;
  }
  std::vector<int32_t> indices(count);
  for (int i = 0; i < count; ++i) indices[i] = begin + i;
  GatherRows(data, indices.data(), count, out);
}

Dataset Subset(const Dataset& data, const std::vector<int32_t>& indices) {
  Dataset subset;
  subset.num_classes = data.num_classes;
  subset.image = data.image;
  const int n = static_cast<int>(indices.size());
  if (data.rows) {
    subset.rows = std::make_shared<IndexedRows>(data.rows, indices);
  } else {
    GatherRows(data, indices.data(), n, &subset.features);
  }
  if (!data.labels.empty()) {
    subset.labels.resize(n);
    for (int i = 0; i < n; ++i) subset.labels[i] = data.labels[indices[i]];
  }
  if (data.targets.rows() > 0) {
    subset.targets.resize(n, data.targets.cols());
    for (int i = 0; i < n; ++i) subset.targets.row(i) = data.targets.row(indices[i]);
  }
  return subset;
}

absl::Status CheckDataFits(const Dataset& data, int input_size, int num_outputs,
                           config::Model::Loss loss, const char* what) {
  if (data.feature_dim() != input_size) {
    return absl::InvalidArgumentError(absl::StrCat("the ", what, " set has ", data.feature_dim(),
                                                   " features per sample but the model's "
                                                   "input_size is ",
                                                   input_size));
  }
  if (data.size() == 0) {
    return absl::InvalidArgumentError(absl::StrCat("the ", what, " set is empty"));
  }
  if (IsRegression(loss)) {
    if (!data.regression()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the ", what, " set has class labels but the model's loss is the regression loss ",
          config::Model::Loss_Name(loss)));
    }
    if (data.targets.cols() != num_outputs) {
      return absl::InvalidArgumentError(absl::StrCat("the ", what, " set has ", data.targets.cols(),
                                                     " targets per sample "
                                                     "but the model has ",
                                                     num_outputs, " outputs"));
    }
    return absl::OkStatus();
  }
  if (data.labels.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the ", what,
                     " set has target values, not class labels, but the model's "
                     "loss is the classification loss ",
                     config::Model::Loss_Name(ResolvedLoss(loss))));
  }
  const int classes = ClassesOf(loss, num_outputs);
  if (data.num_classes > classes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the ", what, " set has ", data.num_classes, " classes but the model tells ", classes,
        " apart (", num_outputs, " outputs, ", config::Model::Loss_Name(ResolvedLoss(loss)), ")"));
  }
  return absl::OkStatus();
}

FeatureStats ComputeFeatureStats(const Dataset& data) {
  const int cols = data.feature_dim();
  const int n = data.size();
  Eigen::Array<double, 1, Eigen::Dynamic> sum = Eigen::Array<double, 1, Eigen::Dynamic>::Zero(cols);
  Eigen::Array<double, 1, Eigen::Dynamic> sum_sq = sum;
  FeatureStats stats;
  stats.min = Tensor::Constant(1, cols, INFINITY);
  stats.max = Tensor::Constant(1, cols, -INFINITY);
  constexpr int kChunk = 4096;
  Tensor chunk;
  // An int64 cursor: begin + kChunk must not wrap for a set of ~2^31 rows.
  for (int64_t cursor = 0; cursor < n; cursor += kChunk) {
    const int begin = static_cast<int>(cursor);
    const int count = std::min(kChunk, n - begin);
    SliceRows(data, begin, count, &chunk);
    const auto values = chunk.cast<double>().array();
    sum += values.colwise().sum();
    sum_sq += values.square().colwise().sum();
    stats.min = stats.min.cwiseMin(chunk.colwise().minCoeff());
    stats.max = stats.max.cwiseMax(chunk.colwise().maxCoeff());
    if (data.rows) data.rows->Release();
  }
  const auto mean = sum / std::max(n, 1);
  stats.mean = mean.cast<float>().matrix();
  stats.stddev = (sum_sq / std::max(n, 1) - mean.square()).max(0.0).sqrt().cast<float>().matrix();
  return stats;
}

}  // namespace mnemo
