#ifndef MNEMO_CORE_LAYER_H_
#define MNEMO_CORE_LAYER_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace mnemo {

// What a forward pass may depend on besides its input. Randomness (Dropout)
// must be a pure function of these so that a recomputed forward pass
// (checkpointing) reproduces the first one bit for bit.
struct ForwardContext {
  bool training = false;
  uint64_t seed = 0;  // the run's seed
  uint64_t step = 0;  // training steps taken so far (skipped ones too: Trainer)
};

// One stage of a sequential network. Implementations hold their parameters and
// gradients; the network owns the activations (through a CacheStrategy).
//
// Shapes are validated once when the network is built, so Forward and Backward
// take well-formed tensors and cannot fail.
//
// Adding a layer: Forward, Backward and parameters() are the whole of most
// layers. Forward's output must be a pure function of (input, parameters,
// buffers, context): a cache strategy may run it again on the same input
// during the backward pass (checkpointing) and expects the same bits. A
// layer with state that is part of the model but not trained (BatchNorm's
// running statistics) lists it in buffers(), so that model files, snapshots
// and early stopping's best copy keep it while no optimizer touches it, and
// changes it only in CommitStep: never in Forward, which may run several
// times per step.
class Layer {
 public:
  Layer(int input_size, int output_size)
      : input_size_(input_size),
        output_size_(output_size),
        parameter_version_(NextVersion()) {}
  virtual ~Layer() = default;

  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  // The registered type name, e.g. "Dense".
  virtual const char* type() const = 0;

  // output = f(input); `output` is resized as needed (and reused when it
  // already has the right shape, so a steady-state step does not allocate).
  virtual void Forward(const Tensor& input, const ForwardContext& context,
                       Tensor* output) = 0;

  // Given the input and output of the forward pass and dLoss/dOutput, writes
  // dLoss/dInput and *adds* the parameter gradients (so several backward
  // passes accumulate, as in every framework). `grad_input` may be null when
  // the caller does not need it (the first layer).
  virtual void Backward(const Tensor& input, const Tensor& output,
                        const Tensor& grad_output,
                        const ForwardContext& context, Tensor* grad_input) = 0;

  // Trainable tensors; empty for parameter-free layers.
  virtual std::vector<Parameter> parameters() { return {}; }

  // Tensors that are part of the model without being trained (PyTorch calls
  // them buffers: BatchNorm's "running_mean" and "running_var"), each with a
  // null gradient and a name distinct from the parameters'. Saved and
  // restored with the parameters (model files, snapshots, early stopping's
  // best copy); no optimizer and no weight decay sees them.
  virtual std::vector<Parameter> buffers() { return {}; }
  // Tensors of the model held as int8 (an INT8 dense layer's weights, which
  // tools/quantize writes): saved and loaded as the model file's I8 tensors
  // of their names, as buffers are, and never trained.
  virtual std::vector<Int8Parameter> int8_buffers() { return {}; }

  // A training step was taken: the optimizer has applied the gradients of the
  // last training-mode forward and backward passes. A layer with buffers
  // folds what that forward pass kept into them now, once per step (a forward
  // pass recomputed by a cache strategy must not count twice), and calls
  // MarkParametersUpdated. Not called for a step that was skipped
  // (trainer.nonfinite SKIP_STEP), so such a step changes nothing.
  virtual void CommitStep() {}

  int input_size() const { return input_size_; }
  int output_size() const { return output_size_; }

  // Changes every time the parameters or buffers change (optimizer step,
  // CommitStep, load). Unique across the process, so (layer, version)
  // identifies their values.
  uint64_t parameter_version() const { return parameter_version_; }
  void MarkParametersUpdated() { parameter_version_ = NextVersion(); }

  // A frozen layer keeps its parameters: the optimizer skips it.
  bool trainable() const { return trainable_; }
  void set_trainable(bool trainable) { trainable_ = trainable; }

  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }

 private:
  // Defined in layer.cc so that one counter serves the core and every plugin
  // (an inline static would be copied into each hidden-visibility plugin).
  static uint64_t NextVersion();

  const int input_size_;
  const int output_size_;
  uint64_t parameter_version_;
  bool trainable_ = true;
  std::string name_;
};

// A parameter (or a buffer) as a model's optimizer and snapshots see it: by a
// name unique in the model, with the layer that owns it, which is told when
// its values change (Layer::MarkParametersUpdated).
struct ModelParameter {
  std::string name;  // "<layer name>.<parameter name>" ("0_dense.weight"); "memory.keys"
  Tensor* value;
  Tensor* gradient;  // empty in a network built for inference; null for a buffer
  Layer* layer;      // null for a tensor that belongs to no layer (a memory's own)
};

}  // namespace mnemo

#endif  // MNEMO_CORE_LAYER_H_
