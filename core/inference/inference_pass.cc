#include "core/inference/inference_pass.h"

#include <utility>

namespace mnemo {

InferencePass::InferencePass(std::vector<Layer*> layers) : layers_(std::move(layers)) {
  std::vector<int> width;  // of each buffer
  int input = -1;          // the buffer holding the current layer's input; -1 = the caller's
  for (const Layer* layer : layers_) {
    int chosen = -1;
    for (int b = 0; b < static_cast<int>(width.size()); ++b) {
      if (b != input && width[b] == layer->output_size()) {
        chosen = b;
        break;
      }
    }
    if (chosen < 0) {
      chosen = static_cast<int>(width.size());
      width.push_back(layer->output_size());
    }
    output_buffer_.push_back(chosen);
    input = chosen;
  }
  buffers_.resize(width.size());
}

const Tensor& InferencePass::Run(const Tensor& input, const ForwardContext& context) {
  const Tensor* x = &input;
  for (size_t i = 0; i < layers_.size(); ++i) {
    Tensor* y = &buffers_[output_buffer_[i]];
    layers_[i]->Forward(*x, context, y);
    x = y;
  }
  return *x;
}

}  // namespace mnemo
