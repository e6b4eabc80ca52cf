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

  int input_size() const { return input_size_; }
  int output_size() const { return output_size_; }

  // Changes every time the parameters change (optimizer step, load). Unique
  // across the process, so (layer, version) identifies parameter values.
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

// A parameter as a model's optimizer and snapshots see it: by a name unique
// in the model, with the layer that owns it, which is told when its values
// change (Layer::MarkParametersUpdated).
struct ModelParameter {
  std::string name;  // "<layer name>.<parameter name>" ("0_dense.weight"); "memory.keys"
  Tensor* value;
  Tensor* gradient;  // empty in a network built for inference
  Layer* layer;      // null for a tensor that belongs to no layer (a memory's own)
};

}  // namespace mnemo

#endif  // MNEMO_CORE_LAYER_H_
