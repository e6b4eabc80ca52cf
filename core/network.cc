#include "core/network.h"

#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "core/keep_all_strategy.h"  // MakeKeepAllStrategy
#include "core/status_macros.h"

namespace mnemo {
namespace {

// `layer 2 ("2_Dense", Dense)`, for messages.
std::string Describe(int index, const Layer& layer) {
  return absl::StrCat("layer ", index, " (\"", layer.name(), "\", ", layer.type(), ")");
}

void AppendNamed(Layer& layer, const std::vector<Parameter>& tensors,
                 std::vector<ModelParameter>* out) {
  for (const Parameter& p : tensors) {
    out->push_back(
        ModelParameter{absl::StrCat(layer.name(), ".", p.name), p.value, p.gradient, &layer});
  }
}

void AppendParameters(Layer& layer, std::vector<ModelParameter>* out) {
  AppendNamed(layer, layer.parameters(), out);
}

}  // namespace

Network::Network(std::vector<std::unique_ptr<Layer>> layers,
                 std::unique_ptr<CacheStrategy> strategy, std::shared_ptr<const Backend> backend)
    : layers_(std::move(layers)), strategy_(std::move(strategy)), backend_(std::move(backend)) {}

absl::StatusOr<std::unique_ptr<Network>> Network::Create(std::vector<std::unique_ptr<Layer>> layers,
                                                         std::unique_ptr<CacheStrategy> strategy,
                                                         std::shared_ptr<const Backend> backend) {
  if (layers.empty()) {
    return absl::InvalidArgumentError("a network needs at least one layer");
  }
  for (size_t i = 0; i < layers.size(); ++i) {
    if (layers[i] == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("layer ", i, " is null"));
    }
  }
  for (size_t i = 0; i + 1 < layers.size(); ++i) {
    const Layer& a = *layers[i];
    const Layer& b = *layers[i + 1];
    if (a.output_size() != b.input_size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          Describe(static_cast<int>(i), a), " outputs ", a.output_size(),
          " features but ", Describe(static_cast<int>(i + 1), b), " takes ",
          b.input_size()));
    }
  }
  if (strategy == nullptr) strategy = MakeKeepAllStrategy();
  if (backend == nullptr) backend = ReferenceBackend();

  std::vector<Layer*> raw;
  raw.reserve(layers.size());
  for (const auto& layer : layers) raw.push_back(layer.get());
  MNEMO_RETURN_IF_ERROR(
      WithPrefix(strategy->Attach(raw), "the cache strategy refused the network"));
  // The strategy keeps pointers to the layers, which moving the vector of
  // unique_ptrs into the network leaves in place.
  return absl::WrapUnique(new Network(std::move(layers), std::move(strategy), std::move(backend)));
}

absl::StatusOr<const Tensor*> Network::Forward(const Tensor& input,
                                               const ForwardContext& context) {
  if (input.cols() != input_size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the network takes ", input_size(), " features per sample, got ",
                     input.cols()));
  }
  return strategy_->Forward(input, context);
}

absl::Status Network::Backward(const Tensor& grad_output, const ForwardContext& context,
                               Tensor* grad_input_out) {
  const int num = num_layers();
  // Below the lowest trainable layer nothing needs a gradient (a frozen
  // backbone costs no backward at all), unless the caller wants dLoss/dInput.
  int lowest = 0;
  if (grad_input_out == nullptr) {
    while (lowest < num && !layers_[lowest]->trainable()) ++lowest;
  }

  // The strategy's memory is released whatever happens; parameter gradients
  // of the layers already passed stay accumulated on error.
  absl::Status status = [&]() -> absl::Status {
    MNEMO_ASSIGN_OR_RETURN(const Tensor* last, strategy_->Activation(num));
    if (grad_output.rows() != last->rows() || grad_output.cols() != last->cols()) {
      return absl::InvalidArgumentError(
          absl::StrCat("the output gradient is ", grad_output.rows(), "x", grad_output.cols(),
                       " but the network's output is ", last->rows(), "x", last->cols()));
    }
    const Tensor* grad = &grad_output;
    for (int i = num - 1; i >= lowest; --i) {
      // The contract keeps these two valid together (core/cache_strategy.h).
      MNEMO_ASSIGN_OR_RETURN(const Tensor* output, strategy_->Activation(i + 1));
      MNEMO_ASSIGN_OR_RETURN(const Tensor* input, strategy_->Activation(i));
      // Ping-pong: the layer reads one buffer and writes the other.
      Tensor* grad_input = i == lowest ? grad_input_out
                                       : (grad == &grad_a_ ? &grad_b_ : &grad_a_);
      layers_[i]->Backward(*input, *output, *grad, context, grad_input);
      grad = grad_input;
    }
    return absl::OkStatus();
  }();
  strategy_->EndPass();
  return status;
}

std::vector<std::unique_ptr<Layer>> Network::ReleaseLayers() {
  strategy_->EndPass();
  return std::move(layers_);
}

void Network::ZeroGradients() {
  for (const auto& layer : layers_) {
    // No optimizer reads a frozen layer's gradient, and zeroing a large frozen
    // backbone's every step would cost a pass over its memory for nothing.
    if (!layer->trainable()) continue;
    for (const Parameter& parameter : layer->parameters()) parameter.gradient->setZero();
  }
}

std::vector<ModelParameter> Network::Parameters() {
  std::vector<ModelParameter> parameters;
  for (const auto& layer : layers_) AppendParameters(*layer, &parameters);
  return parameters;
}

std::vector<ModelParameter> Network::TrainableParameters() {
  std::vector<ModelParameter> parameters;
  for (const auto& layer : layers_) {
    if (layer->trainable()) AppendParameters(*layer, &parameters);
  }
  return parameters;
}

std::vector<ModelParameter> Network::Buffers() {
  std::vector<ModelParameter> buffers;
  for (const auto& layer : layers_) AppendNamed(*layer, layer->buffers(), &buffers);
  return buffers;
}

std::vector<Int8Parameter> Network::Int8Buffers() {
  std::vector<Int8Parameter> tensors;
  for (const auto& layer : layers_) {
    for (const Int8Parameter& p : layer->int8_buffers()) {
      tensors.push_back(Int8Parameter{absl::StrCat(layer->name(), ".", p.name), p.value});
    }
  }
  return tensors;
}

void Network::CommitStep() {
  for (const auto& layer : layers_) layer->CommitStep();
}

int Network::input_size() const { return layers_.front()->input_size(); }

int Network::output_size() const { return layers_.back()->output_size(); }

}  // namespace mnemo
