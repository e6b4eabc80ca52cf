#ifndef MNEMO_CORE_NETWORK_H_
#define MNEMO_CORE_NETWORK_H_

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/backend.h"
#include "core/cache_strategy.h"
#include "core/layer.h"
#include "core/loss.h"
#include "core/tensor.h"

namespace mnemo {

// A sequential stack of layers whose activations are managed by a
// CacheStrategy, with the compute backend its layers were built for.
class Network {
 public:
  // `strategy` null means core's keep_all; `backend` null means the reference
  // backend. Fails when the layer sizes do not chain or the strategy refuses
  // the network.
  static absl::StatusOr<std::unique_ptr<Network>> Create(
      std::vector<std::unique_ptr<Layer>> layers, std::unique_ptr<CacheStrategy> strategy = nullptr,
      std::shared_ptr<const Backend> backend = nullptr);

  // Runs the layers; the result stays valid until the next Forward/Backward.
  absl::StatusOr<const Tensor*> Forward(const Tensor& input,
                                        const ForwardContext& context);

  // Backpropagates dLoss/dOutput of the last Forward down to the lowest
  // trainable layer (frozen layers below it need no gradient), adding to the
  // parameter gradients, then lets the strategy release memory.
  //
  // With `grad_input` the backward pass goes through every layer and writes
  // dLoss/dInput there (a backbone under a head needs it).
  absl::Status Backward(const Tensor& grad_output, const ForwardContext& context,
                        Tensor* grad_input = nullptr);

  // Takes the layers out (the network is empty afterwards), e.g. to split a
  // built model into a backbone and a head with Create.
  std::vector<std::unique_ptr<Layer>> ReleaseLayers();

  // Zeroes the parameter gradients of the trainable layers. A frozen layer's
  // are left as they are: nothing reads them (a frozen layer above a
  // trainable one still adds to its own in Backward).
  void ZeroGradients();

  // Every layer's parameters, frozen ones too, named "<layer name>.<parameter
  // name>" (what a model file and a snapshot hold).
  std::vector<ModelParameter> Parameters();
  // Those of trainable layers only, as an optimizer should see them.
  std::vector<ModelParameter> TrainableParameters();
  // Every layer's buffers (Layer::buffers: BatchNorm's running statistics),
  // named "<layer name>.<buffer name>", with null gradients: saved and
  // restored beside Parameters(), stepped by no optimizer.
  std::vector<ModelParameter> Buffers();
  // Every layer's int8 tensors (Layer::int8_buffers), named as Parameters()
  // names them ("<layer name>.<tensor name>").
  std::vector<Int8Parameter> Int8Buffers();

  // After an optimizer step: every layer's Layer::CommitStep, in order.
  void CommitStep();

  int input_size() const;
  int output_size() const;
  int num_layers() const { return static_cast<int>(layers_.size()); }
  Layer& layer(int i) { return *layers_[i]; }
  const Layer& layer(int i) const { return *layers_[i]; }
  CacheStrategy& strategy() { return *strategy_; }

  // What computes the loss, and the similarity search of a memory module
  // beside the network: the backend the model selected.
  const Backend& backend() const { return *backend_; }
  // The same, to share with the parts built from this network.
  const std::shared_ptr<const Backend>& shared_backend() const { return backend_; }

  // What the output is trained for (model.loss; BuildNetwork sets it).
  const LossSpec& loss() const { return loss_; }
  void set_loss(const LossSpec& loss) { loss_ = loss; }

 private:
  Network(std::vector<std::unique_ptr<Layer>> layers, std::unique_ptr<CacheStrategy> strategy,
          std::shared_ptr<const Backend> backend);

  std::vector<std::unique_ptr<Layer>> layers_;
  std::unique_ptr<CacheStrategy> strategy_;
  std::shared_ptr<const Backend> backend_;  // never null
  LossSpec loss_;
  Tensor grad_a_, grad_b_;  // reused between steps: no allocation in steady state
  // Activation i + 1, kept while the strategy computes activation i, for
  // strategies whose results are valid only until their next call.
};

// core's default strategy: keeps every activation.
std::unique_ptr<CacheStrategy> MakeKeepAllStrategy();

}  // namespace mnemo

#endif  // MNEMO_CORE_NETWORK_H_
