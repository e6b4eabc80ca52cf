#include "memory_modules/classifier/dual_path_evaluation.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace mnemo {

namespace {

// Calls `visit(name, field)` for every figure of a DualPathEvaluation but
// its loss, accuracy and samples.
template <typename Evaluation, typename Visit>
void ForEachFigure(Evaluation& e, Visit&& visit) {
  visit("samples", e.samples);
  visit("classification_loss", e.classification_loss);
  visit(kMemoryLoss, e.memory_loss);
  visit("network_accuracy", e.network_accuracy);
  visit("memory_accuracy", e.memory_accuracy);
  visit("memory_answered", e.memory_answered);
  visit("memory_usage", e.memory_usage);
  visit("memory_corrected", e.memory_corrected);
  visit("memory_broke", e.memory_broke);
  visit("memory_path_accuracy", e.memory_path_accuracy);
  visit("network_path_accuracy", e.network_path_accuracy);
}

// The figure `name` of `figures` into `value`, when there is one.
template <typename T>
void Read(const Figures& figures, const std::string& name, T* value) {
  if (auto it = figures.find(name); it != figures.end()) *value = static_cast<T>(it->second);
}

}  // namespace

Evaluation ToEvaluation(const DualPathEvaluation& e) {
  Evaluation evaluation;
  evaluation.loss = e.loss;
  evaluation.accuracy = e.accuracy;
  evaluation.samples = e.samples;
  ForEachFigure(e, [&](const char* name, auto value) { evaluation.figures[name] = value; });
  return evaluation;
}

DualPathEvaluation DualPathTestEvaluation(const EpochMetrics& metrics) {
  DualPathEvaluation e;
  e.loss = metrics.test_loss;
  e.accuracy = metrics.test_accuracy;
  ForEachFigure(e, [&](const char* name, auto& value) {
    Read(metrics.figures, absl::StrCat("test_", name), &value);
  });
  return e;
}

DualPathEpochMetrics DualPathMetricsOf(const EpochMetrics& m) {
  DualPathEpochMetrics d;
  d.epoch = m.epoch;
  d.train_loss = m.train_loss;
  d.train_accuracy = m.train_accuracy;
  Read(m.figures, absl::StrCat("train_", kClassificationLoss), &d.train_classification_loss);
  Read(m.figures, absl::StrCat("train_", kMemoryLoss), &d.train_memory_loss);
  d.test = DualPathTestEvaluation(m);
  Read(m.figures, kMemorySize, &d.memory_size);
  Read(m.figures, kMemoryCapacity, &d.memory_capacity);
  d.train_seconds = m.train_seconds;
  d.samples_per_second = m.samples_per_second;
  return d;
}

std::vector<DualPathEpochMetrics> DualPathMetricsOf(const std::vector<EpochMetrics>& history) {
  std::vector<DualPathEpochMetrics> out;
  for (const EpochMetrics& m : history) out.push_back(DualPathMetricsOf(m));
  return out;
}

namespace {

using ClassCounts = DualPathEvaluation::ClassCounts;

// Pooled recall over the classes `in` accepts.
template <typename In>
double PooledRecall(const ClassCounts& counts, const std::vector<int>& correct, In in) {
  int64_t right = 0, samples = 0;
  for (size_t c = 0; c < counts.samples.size(); ++c) {
    if (!in(static_cast<int>(c))) continue;
    right += correct[c];
    samples += counts.samples[c];
  }
  return samples > 0 ? static_cast<double>(right) / samples : DualPathEvaluation::kNone;
}

}  // namespace

double Recall(const ClassCounts& counts, const std::vector<int>& correct,
              absl::Span<const int> classes) {
  return PooledRecall(counts, correct, [&](int c) {
    return std::find(classes.begin(), classes.end(), c) != classes.end();
  });
}

double RecallOfOthers(const ClassCounts& counts, const std::vector<int>& correct,
                      absl::Span<const int> classes) {
  return PooledRecall(counts, correct, [&](int c) {
    return std::find(classes.begin(), classes.end(), c) == classes.end();
  });
}

absl::StatusOr<DualPathEvaluation> EvaluateDualPath(DualPathClassifier& classifier,
                                                    const Dataset& data, int batch_size) {
  // Labels up to the memory's classes: those beyond the head's were shown to
  // the memory after training (AddExamples), and only the dual path can
  // answer them.
  MNEMO_RETURN_IF_ERROR(CheckDataFits(data, classifier.input_size(),
                                      classifier.memory_num_classes(),
                                      config::Model::SOFTMAX_CROSS_ENTROPY, "evaluation"));
  const int head_classes = classifier.num_classes();
  if (batch_size <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch size must be > 0 (got ", batch_size, ")"));
  }
  const bool memory_loss = classifier.settings().memory_loss_weight != 0;
  const int n = data.size();
  double classification_sum = 0, memory_sum = 0;
  int64_t head_samples = 0;  // of the head's classes, which its cross-entropy covers
  Tensor head_logits;
  std::vector<int32_t> head_labels;
  int64_t correct = 0, network_correct = 0, memory_correct = 0;
  int64_t answered = 0, memory_path_correct = 0, network_path_correct = 0;
  int64_t corrected = 0, broke = 0;
  DualPathEvaluation e;
  // One entry per class the memory may hold (CheckDataFits bounds the labels).
  for (std::vector<int>* column : {&e.by_class.samples, &e.by_class.correct,
                                   &e.by_class.network_correct, &e.by_class.memory_correct}) {
    column->assign(classifier.memory_num_classes(), 0);
  }
  Tensor batch, logits;
  // An int64 cursor: begin + batch_size must not wrap for a set of ~2^31 rows.
  for (int64_t cursor = 0; cursor < n; cursor += batch_size) {
    const int begin = static_cast<int>(cursor);
    const int count = std::min(batch_size, n - begin);
    const absl::Span<const int32_t> labels = absl::MakeConstSpan(data.labels).subspan(begin, count);
    SliceRows(data, begin, count, &batch);
    MNEMO_ASSIGN_OR_RETURN(const Tensor* features, classifier.ExtractFeatures(batch));
    MNEMO_ASSIGN_OR_RETURN(DualPathPrediction prediction,
                           classifier.PredictFromFeatures(*features, &logits));
    // The head's cross-entropy over the samples of its classes (all of them
    // unless the data has classes only the memory holds).
    const Tensor* ce_logits = &logits;
    absl::Span<const int32_t> ce_labels = labels;
    if (std::any_of(labels.begin(), labels.end(), [&](int32_t l) { return l >= head_classes; })) {
      head_labels.clear();
      std::vector<Eigen::Index> rows;
      for (int i = 0; i < count; ++i) {
        if (labels[i] < head_classes) rows.push_back(i);
      }
      head_logits.resize(static_cast<Eigen::Index>(rows.size()), logits.cols());
      for (size_t r = 0; r < rows.size(); ++r) {
        head_logits.row(r) = logits.row(rows[r]);
        head_labels.push_back(labels[rows[r]]);
      }
      ce_logits = &head_logits;
      ce_labels = head_labels;
    }
    if (!ce_labels.empty()) {
      MNEMO_ASSIGN_OR_RETURN(float classification, classifier.head().backend().SoftmaxCrossEntropy(
                                                       *ce_logits, ce_labels, nullptr, nullptr));
      classification_sum += static_cast<double>(classification) * ce_labels.size();
      head_samples += static_cast<int64_t>(ce_labels.size());
    }
    if (memory_loss) {
      // The loss is a mean over the samples with a same-class item in memory;
      // weighting batches by size makes it a mean over samples when every
      // sample has one, as after the first few training batches.
      MNEMO_ASSIGN_OR_RETURN(float loss, classifier.MemoryLoss(*features, labels));
      memory_sum += static_cast<double>(loss) * count;
    }
    for (int i = 0; i < count; ++i) {
      const int32_t label = labels[i];
      const bool from_memory = prediction.from_memory[i] != 0;
      ClassCounts& by_class = e.by_class;
      ++by_class.samples[label];
      by_class.correct[label] += prediction.label[i] == label;
      by_class.network_correct[label] += prediction.network_label[i] == label;
      by_class.memory_correct[label] += prediction.memory_label[i] == label;
      correct += prediction.label[i] == label;
      network_correct += prediction.network_label[i] == label;
      memory_correct += prediction.memory_label[i] == label;
      answered += from_memory;
      if (from_memory) {
        const bool memory_right = prediction.memory_label[i] == label;
        const bool network_right = prediction.network_label[i] == label;
        memory_path_correct += memory_right;
        corrected += memory_right && !network_right;
        broke += network_right && !memory_right;
      } else {
        network_path_correct += prediction.network_label[i] == label;
      }
    }
  }

  e.samples = n;
  e.classification_loss = head_samples > 0 ? classification_sum / head_samples : 0;
  e.memory_loss = memory_sum / n;
  e.loss = e.classification_loss + classifier.settings().memory_loss_weight * e.memory_loss;
  e.accuracy = static_cast<double>(correct) / n;
  e.network_accuracy = static_cast<double>(network_correct) / n;
  e.memory_accuracy = static_cast<double>(memory_correct) / n;
  e.memory_answered = static_cast<int>(answered);
  e.memory_usage = static_cast<double>(answered) / n;
  e.memory_corrected = static_cast<int>(corrected);
  e.memory_broke = static_cast<int>(broke);
  if (answered > 0) e.memory_path_accuracy = static_cast<double>(memory_path_correct) / answered;
  if (answered < n) {
    e.network_path_accuracy = static_cast<double>(network_path_correct) / (n - answered);
  }
  return e;
}

}  // namespace mnemo
