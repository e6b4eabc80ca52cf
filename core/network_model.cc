#include "core/network_model.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/nonfinite.h"
#include "core/status_macros.h"

namespace mnemo {

absl::StatusOr<StepResult> NetworkModel::ComputeGradients(const Batch& batch,
                                                          const ForwardContext& context) {
  MNEMO_ASSIGN_OR_RETURN(const Tensor* logits, network_->Forward(batch.features, context));
  StepResult step;
  absl::StatusOr<float> loss =
      network_->backend().SoftmaxCrossEntropy(*logits, batch.labels, &grad_logits_, &step.correct);
  if (!loss.ok() || !std::isfinite(*loss)) {
    if (loss.ok()) {
      step.loss = *loss;
      step.nonfinite =
          ExplainNonFiniteLoss(network_->Parameters(), {network_}, batch.features, batch.samples);
    }
    network_->strategy().EndPass();  // no backward pass for this forward one
    if (!loss.ok()) return loss.status();
    return step;
  }
  step.loss = *loss;
  network_->ZeroGradients();
  MNEMO_RETURN_IF_ERROR(network_->Backward(grad_logits_, context));
  return step;
}

absl::StatusOr<Evaluation> NetworkModel::Evaluate(const Dataset& data, int batch_size) {
  return mnemo::Evaluate(*network_, data, batch_size);
}

absl::StatusOr<Evaluation> Evaluate(Network& network, const Dataset& data, int batch_size) {
  MNEMO_RETURN_IF_ERROR(
      CheckDataFits(data, network.input_size(), network.output_size(), "evaluation"));
  if (batch_size <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch size must be > 0 (got ", batch_size, ")"));
  }
  const int n = data.size();
  double loss_sum = 0;
  int64_t correct = 0;
  Tensor batch;  // reused: only the last, shorter batch reallocates
  for (int begin = 0; begin < n; begin += batch_size) {
    const int count = std::min(batch_size, n - begin);
    batch = data.features.middleRows(begin, count);
    MNEMO_ASSIGN_OR_RETURN(const Tensor* logits,
                           network.Forward(batch, ForwardContext{/*training=*/false, 0, 0}));
    int batch_correct = 0;
    absl::StatusOr<float> loss = network.backend().SoftmaxCrossEntropy(
        *logits, absl::MakeConstSpan(data.labels).subspan(begin, count), nullptr, &batch_correct);
    network.strategy().EndPass();
    MNEMO_RETURN_IF_ERROR(loss.status());
    loss_sum += static_cast<double>(*loss) * count;
    correct += batch_correct;
  }
  Evaluation evaluation;
  evaluation.samples = n;
  evaluation.loss = loss_sum / n;
  evaluation.accuracy = static_cast<double>(correct) / n;
  return evaluation;
}

}  // namespace mnemo
