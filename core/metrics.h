#ifndef MNEMO_CORE_METRICS_H_
#define MNEMO_CORE_METRICS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "core/config.pb.h"
#include "core/tensor.h"

namespace mnemo {

// The figures a model is judged by on a data set, accumulated batch by batch.
//   classification: "accuracy", "macro_f1" (the mean of each class's F1 over
//     the classes that occur among the labels or the answers, as
//     scikit-learn's f1_score(average="macro")), "log_loss" (the mean
//     cross-entropy of the softmax, or of the sigmoid for one output);
//   regression: "rmse" and "mae" over every output, and "r2" (the mean over
//     targets of 1 - SS_res / SS_tot, as scikit-learn's r2_score; a target
//     that never varies scores 1 when predicted exactly, else 0).
class TaskMetrics {
 public:
  TaskMetrics(config::Model::Loss loss, int outputs);

  // A batch: the model's outputs, and its labels (classification) or its
  // targets (regression, batch x outputs).
  void Add(const Tensor& outputs, absl::Span<const int32_t> labels, const Tensor* targets);

  std::map<std::string, double> Figures() const;

 private:
  config::Model::Loss loss_;
  int outputs_;
  int64_t samples_ = 0;
  // Classification.
  int classes_;
  std::vector<int64_t> true_positives_, predicted_, actual_;
  double log_loss_sum_ = 0;
  std::vector<int32_t> answers_;
  Tensor probabilities_;
  // Regression, per target: sums of y, y^2, the error's square and magnitude.
  std::vector<double> sum_, sum_sq_, squared_error_, absolute_error_;
};

// Whether a larger value of the figure `name` is better ("accuracy",
// "macro_f1", "r2"), rather than a smaller one ("loss", "rmse", ...).
bool HigherIsBetter(const std::string& name);

// The figures a model with `loss` reports, in the order the tools print them.
std::vector<std::string> TaskFigureNames(config::Model::Loss loss);

// The validation figures a run may watch to decide (trainer.early_stopping's
// metric, a plateau schedule's): "loss" and every task's figures.
const std::vector<std::string>& WatchableFigures();

// The name EpochMetrics::figures gives the validation figure `metric` (""
// being "loss"): "val_loss", "val_accuracy".
std::string ValidationFigure(const std::string& metric);

}  // namespace mnemo

#endif  // MNEMO_CORE_METRICS_H_
