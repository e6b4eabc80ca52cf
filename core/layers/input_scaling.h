#ifndef MNEMO_CORE_LAYERS_INPUT_SCALING_H_
#define MNEMO_CORE_LAYERS_INPUT_SCALING_H_

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/dataset.h"
#include "core/layer.h"
#include "core/registry.h"
#include "core/tensor.h"

namespace mnemo {

class Network;

// Preprocessing that travels with the model, as Keras's Normalization layer
// with adapt(): output = (input - shift) * scale per feature, with shift and
// scale fitted to the training set before the first step (not learned):
//   "Standardize"  shift = the mean, scale = 1 / the standard deviation
//   "MinMaxScale"  shift = the minimum, scale = 1 / (maximum - minimum)
// A feature that never varies is only shifted (scale 1). The two are
// parameters ("<layer>.shift", "<layer>.scale", 1 x features), so the model
// file and the snapshots keep them, and Predictor, tools/eval and tools/serve
// take raw rows. The layer is frozen: no optimizer changes it.
class InputScaling : public Layer {
 public:
  enum class Method { kStandardize, kMinMax };

  InputScaling(Method method, int size, bool inference);
  static absl::StatusOr<std::unique_ptr<Layer>> CreateStandardize(const LayerArgs& args);
  static absl::StatusOr<std::unique_ptr<Layer>> CreateMinMaxScale(const LayerArgs& args);

  const char* type() const override;
  void Forward(const Tensor& input, const ForwardContext& context, Tensor* output) override;
  void Backward(const Tensor& input, const Tensor& output, const Tensor& grad_output,
                const ForwardContext& context, Tensor* grad_input) override;
  std::vector<Parameter> parameters() override;

  // Sets shift and scale from the training set's statistics.
  void Fit(const FeatureStats& stats);

 private:
  Method method_;
  Tensor shift_, scale_;                    // 1 x size
  Tensor shift_gradient_, scale_gradient_;  // zeros; empty for inference
};

// Fits the network's InputScaling layer to `train` (ComputeFeatureStats),
// when its first layer is one; refuses one anywhere else (it must see the
// raw features), naming it.
absl::Status FitInputScaling(Network& network, const Dataset& train);

}  // namespace mnemo

#endif  // MNEMO_CORE_LAYERS_INPUT_SCALING_H_
