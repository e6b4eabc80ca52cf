#include "core/network_model.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/layers/input_scaling.h"
#include "core/metrics.h"
#include "core/nonfinite.h"
#include "core/status_macros.h"

namespace mnemo {

absl::StatusOr<StepResult> NetworkModel::ComputeGradients(const Batch& batch,
                                                          const ForwardContext& context) {
  MNEMO_ASSIGN_OR_RETURN(const Tensor* outputs, network_->Forward(batch.features, context));
  StepResult step;
  absl::StatusOr<float> loss =
      ComputeLoss(network_->backend(), network_->loss(), *outputs, batch.labels, batch.targets,
                  &grad_logits_, &step.correct);
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

absl::Status NetworkModel::FitToTrainingData(const Dataset& train) {
  return FitInputScaling(*network_, train);
}

absl::StatusOr<Evaluation> NetworkModel::Evaluate(const Dataset& data, int batch_size) {
  return mnemo::Evaluate(*network_, data, batch_size);
}

absl::StatusOr<Evaluation> Evaluate(Network& network, const Dataset& data, int batch_size) {
  const LossSpec& spec = network.loss();
  MNEMO_RETURN_IF_ERROR(
      CheckDataFits(data, network.input_size(), network.output_size(), spec.kind, "evaluation"));
  if (batch_size <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch size must be > 0 (got ", batch_size, ")"));
  }
  const int n = data.size();
  const bool regression = data.regression();
  double loss_sum = 0;
  TaskMetrics metrics(spec.kind, network.output_size());
  Tensor batch;  // reused: only the last, shorter batch reallocates
  Tensor targets;
  // An int64 cursor: begin + batch_size must not wrap for a set of ~2^31 rows.
  for (int64_t cursor = 0; cursor < n; cursor += batch_size) {
    const int begin = static_cast<int>(cursor);
    const int count = std::min(batch_size, n - begin);
    SliceRows(data, begin, count, &batch);
    if (regression) targets = data.targets.middleRows(begin, count);
    const absl::Span<const int32_t> labels =
        regression ? absl::Span<const int32_t>()
                   : absl::MakeConstSpan(data.labels).subspan(begin, count);
    MNEMO_ASSIGN_OR_RETURN(const Tensor* outputs,
                           network.Forward(batch, ForwardContext{/*training=*/false, 0, 0}));
    absl::StatusOr<float> loss = ComputeLoss(network.backend(), spec, *outputs, labels,
                                             regression ? &targets : nullptr, nullptr, nullptr);
    if (loss.ok()) metrics.Add(*outputs, labels, regression ? &targets : nullptr);
    network.strategy().EndPass();
    MNEMO_RETURN_IF_ERROR(loss.status());
    loss_sum += static_cast<double>(*loss) * count;
    if (data.rows) data.rows->Release();
  }
  Evaluation evaluation;
  evaluation.samples = n;
  evaluation.loss = loss_sum / n;
  evaluation.figures = metrics.Figures();
  // Accuracy has a field of its own.
  if (!regression) evaluation.accuracy = evaluation.figures["accuracy"];
  evaluation.figures.erase("accuracy");
  return evaluation;
}

}  // namespace mnemo
