#include "core/metrics.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/loss.h"

namespace mnemo {

TaskMetrics::TaskMetrics(config::Model::Loss loss, int outputs)
    : loss_(ResolvedLoss(loss)), outputs_(outputs), classes_(ClassesOf(loss, outputs)) {
  if (IsRegression(loss_)) {
    for (auto* sums : {&sum_, &sum_sq_, &squared_error_, &absolute_error_}) {
      sums->assign(outputs, 0.0);
    }
  } else {
    for (auto* counts : {&true_positives_, &predicted_, &actual_}) counts->assign(classes_, 0);
  }
}

void TaskMetrics::Add(const Tensor& outputs, absl::Span<const int32_t> labels,
                      const Tensor* targets) {
  const Eigen::Index rows = outputs.rows();
  samples_ += rows;
  if (IsRegression(loss_)) {
    for (Eigen::Index r = 0; r < rows; ++r) {
      for (int c = 0; c < outputs_; ++c) {
        const double y = (*targets)(r, c);
        const double d = static_cast<double>(outputs(r, c)) - y;
        sum_[c] += y;
        sum_sq_[c] += y * y;
        squared_error_[c] += d * d;
        absolute_error_[c] += std::abs(d);
      }
    }
    return;
  }
  answers_.resize(rows);
  PredictedClasses(loss_, outputs, answers_.data());
  if (loss_ == config::Model::SIGMOID_CROSS_ENTROPY) {
    log_loss_sum_ +=
        static_cast<double>(SigmoidCrossEntropy::Compute(outputs, labels, nullptr, nullptr)) * rows;
  } else {
    log_loss_sum_ +=
        static_cast<double>(SoftmaxCrossEntropy::Compute(outputs, labels, nullptr, nullptr)) * rows;
  }
  for (Eigen::Index r = 0; r < rows; ++r) {
    ++predicted_[answers_[r]];
    ++actual_[labels[r]];
    if (answers_[r] == labels[r]) ++true_positives_[labels[r]];
  }
}

std::map<std::string, double> TaskMetrics::Figures() const {
  const double n = static_cast<double>(std::max<int64_t>(samples_, 1));
  std::map<std::string, double> figures;
  if (IsRegression(loss_)) {
    double squared = 0, absolute = 0, r2 = 0;
    for (int c = 0; c < outputs_; ++c) {
      squared += squared_error_[c];
      absolute += absolute_error_[c];
      const double total = sum_sq_[c] - sum_[c] * sum_[c] / n;
      r2 += total > 0 ? 1 - squared_error_[c] / total : (squared_error_[c] == 0 ? 1 : 0);
    }
    figures["rmse"] = std::sqrt(squared / (n * outputs_));
    figures["mae"] = absolute / (n * outputs_);
    figures["r2"] = r2 / outputs_;
    return figures;
  }
  int64_t right = 0;
  double f1_sum = 0;
  int present = 0;
  for (int c = 0; c < classes_; ++c) {
    right += true_positives_[c];
    const int64_t denominator = predicted_[c] + actual_[c];  // 2 tp + fp + fn
    if (denominator == 0) continue;
    f1_sum += 2.0 * true_positives_[c] / static_cast<double>(denominator);
    ++present;
  }
  figures["accuracy"] = right / n;
  figures["macro_f1"] = present > 0 ? f1_sum / present : 0;
  figures["log_loss"] = log_loss_sum_ / n;
  return figures;
}

bool HigherIsBetter(const std::string& name) {
  return name == "accuracy" || name == "macro_f1" || name == "r2";
}

std::vector<std::string> TaskFigureNames(config::Model::Loss loss) {
  if (IsRegression(loss)) return {"rmse", "mae", "r2"};
  return {"accuracy", "macro_f1", "log_loss"};
}

const std::vector<std::string>& WatchableFigures() {
  static const std::vector<std::string>* const kFigures =
      new std::vector<std::string>{"loss", "accuracy", "macro_f1", "log_loss", "rmse", "mae", "r2"};
  return *kFigures;
}

std::string ValidationFigure(const std::string& metric) {
  return absl::StrCat("val_", metric.empty() ? "loss" : metric);
}

}  // namespace mnemo
