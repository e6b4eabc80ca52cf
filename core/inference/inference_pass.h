#ifndef MNEMO_CORE_INFERENCE_INFERENCE_PASS_H_
#define MNEMO_CORE_INFERENCE_INFERENCE_PASS_H_

#include <vector>

#include "core/layer.h"
#include "core/tensor.h"

namespace mnemo {

// A forward pass for inference through a network's layers, without a cache
// strategy: nothing is kept for a backward pass.
//
// Each layer writes into a buffer as wide as its output that is not its input,
// so there are at most two buffers per distinct width (a 32-block MLP needs
// three, where keep_all holds 65 activations), and every buffer always gets
// the same width: Layer::Forward then reuses it as it is, and a pass with the
// batch size of the one before allocates nothing.
//
// Not thread-safe: the buffers are the object's own.
class InferencePass {
 public:
  // `layers` are non-empty and chain (as Network::Create checks); they must
  // outlive the pass.
  explicit InferencePass(std::vector<Layer*> layers);

  // The last layer's output for `input` (rows x the first layer's width),
  // valid until the next Run.
  const Tensor& Run(const Tensor& input, const ForwardContext& context);

  // How many activation buffers the pass keeps.
  int num_buffers() const { return static_cast<int>(buffers_.size()); }

 private:
  std::vector<Layer*> layers_;
  std::vector<int> output_buffer_;  // index into buffers_ of each layer's output
  std::vector<Tensor> buffers_;
};

}  // namespace mnemo

#endif  // MNEMO_CORE_INFERENCE_INFERENCE_PASS_H_
