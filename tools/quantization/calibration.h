#ifndef MNEMO_TOOLS_QUANTIZATION_CALIBRATION_H_
#define MNEMO_TOOLS_QUANTIZATION_CALIBRATION_H_

#include <vector>

#include "absl/status/statusor.h"
#include "core/network.h"
#include "core/tensor.h"

namespace mnemo {

// Whether layer `layer` is a dense layer (core's "Dense" or a backend's
// "<backend>/Dense"): the layers an INT8 or BF16 model quantizes.
bool IsDenseLayer(const Layer& layer);

// The largest magnitude of each dense layer's input over the forward passes
// (inference mode) of `samples`, in batches of `batch_size` rows: one figure
// per layer of `network` (0 for a layer that is not dense). What a static
// activation scale is made from: largest / 127.
absl::StatusOr<std::vector<float>> LargestDenseInputs(Network& network, const Tensor& samples,
                                                      int batch_size);

}  // namespace mnemo

#endif  // MNEMO_TOOLS_QUANTIZATION_CALIBRATION_H_
