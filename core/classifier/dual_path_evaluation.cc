#include "core/classifier/dual_path_evaluation.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"

namespace mnemo {

absl::Status CheckDualPathData(const DualPathClassifier& classifier, const Dataset& data,
                               const char* what) {
  if (data.features.cols() != classifier.input_size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the ", what, " set has ", data.features.cols(),
        " features per sample but the model's input_size is ", classifier.input_size()));
  }
  if (data.num_classes > classifier.num_classes()) {
    return absl::InvalidArgumentError(absl::StrCat("the ", what, " set has ", data.num_classes,
                                                   " classes but the model has ",
                                                   classifier.num_classes(), " outputs"));
  }
  if (data.size() == 0) {
    return absl::InvalidArgumentError(absl::StrCat("the ", what, " set is empty"));
  }
  return absl::OkStatus();
}

absl::StatusOr<DualPathEvaluation> EvaluateDualPath(DualPathClassifier& classifier,
                                                    const Dataset& data, int batch_size) {
  if (absl::Status s = CheckDualPathData(classifier, data, "evaluation"); !s.ok()) return s;
  if (batch_size <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch size must be > 0 (got ", batch_size, ")"));
  }
  const bool memory_loss = classifier.settings().memory_loss_weight != 0;
  const int n = data.size();
  double classification_sum = 0, memory_sum = 0;
  int64_t correct = 0, network_correct = 0, memory_correct = 0;
  int64_t answered = 0, memory_path_correct = 0, network_path_correct = 0;
  int64_t corrected = 0, broke = 0;
  Tensor batch, logits;
  for (int begin = 0; begin < n; begin += batch_size) {
    const int count = std::min(batch_size, n - begin);
    const absl::Span<const int32_t> labels = absl::MakeConstSpan(data.labels).subspan(begin, count);
    batch = data.features.middleRows(begin, count);
    absl::StatusOr<const Tensor*> features = classifier.ExtractFeatures(batch);
    if (!features.ok()) return features.status();
    absl::StatusOr<DualPathPrediction> prediction =
        classifier.PredictFromFeatures(**features, &logits);
    if (!prediction.ok()) return prediction.status();
    absl::StatusOr<float> classification =
        classifier.head().backend().SoftmaxCrossEntropy(logits, labels, nullptr, nullptr);
    if (!classification.ok()) return classification.status();
    classification_sum += static_cast<double>(*classification) * count;
    if (memory_loss) {
      // The loss is a mean over the samples with a same-class item in memory;
      // weighting batches by size makes it a mean over samples when every
      // sample has one, as after the first few training batches.
      absl::StatusOr<float> loss = classifier.MemoryLoss(**features, labels);
      if (!loss.ok()) return loss.status();
      memory_sum += static_cast<double>(*loss) * count;
    }
    for (int i = 0; i < count; ++i) {
      const int32_t label = labels[i];
      const bool from_memory = prediction->from_memory[i] != 0;
      correct += prediction->label[i] == label;
      network_correct += prediction->network_label[i] == label;
      memory_correct += prediction->memory_label[i] == label;
      answered += from_memory;
      if (from_memory) {
        const bool memory_right = prediction->memory_label[i] == label;
        const bool network_right = prediction->network_label[i] == label;
        memory_path_correct += memory_right;
        corrected += memory_right && !network_right;
        broke += network_right && !memory_right;
      } else {
        network_path_correct += prediction->network_label[i] == label;
      }
    }
  }

  DualPathEvaluation e;
  e.samples = n;
  e.classification_loss = classification_sum / n;
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
