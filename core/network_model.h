#ifndef MNEMO_CORE_NETWORK_MODEL_H_
#define MNEMO_CORE_NETWORK_MODEL_H_

#include <vector>

#include "absl/status/statusor.h"
#include "core/network.h"
#include "core/trainable_model.h"

namespace mnemo {

// A network trained with the loss it was built for (Network::loss(),
// model.loss): softmax or sigmoid cross-entropy, mean squared error or
// Huber's. What tools/train trains.
class NetworkModel : public TrainableModel {
 public:
  explicit NetworkModel(Network* network) : network_(network) {}

  int input_size() const override { return network_->input_size(); }
  int output_size() const override { return network_->output_size(); }
  config::Model::Loss loss() const override { return network_->loss().kind; }
  absl::Status FitToTrainingData(const Dataset& train) override;
  std::vector<ModelParameter> Parameters() override { return network_->Parameters(); }
  std::vector<ModelParameter> TrainableParameters() override {
    return network_->TrainableParameters();
  }
  std::vector<ModelParameter> Buffers() override { return network_->Buffers(); }
  absl::StatusOr<StepResult> ComputeGradients(const Batch& batch,
                                              const ForwardContext& context) override;
  // The layers' CommitStep (Network::CommitStep).
  absl::Status CommitStep() override {
    network_->CommitStep();
    return absl::OkStatus();
  }
  absl::StatusOr<Evaluation> Evaluate(const Dataset& data, int batch_size) override;

  Network& network() { return *network_; }

 private:
  Network* network_;
  Tensor grad_logits_;  // reused between steps
};

// Loss, accuracy and the task's figures (core/metrics.h) of `network` on
// `data`, in batches of `batch_size`.
absl::StatusOr<Evaluation> Evaluate(Network& network, const Dataset& data, int batch_size);

}  // namespace mnemo

#endif  // MNEMO_CORE_NETWORK_MODEL_H_
