#include "tools/quantization/calibration.h"

#include <algorithm>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace mnemo {

bool IsDenseLayer(const Layer& layer) {
  const std::string type = layer.type();
  return type == "Dense" || absl::EndsWith(type, "/Dense");
}

absl::StatusOr<std::vector<float>> LargestDenseInputs(Network& network, const Tensor& samples,
                                                      int batch_size) {
  if (samples.cols() != network.input_size()) {
    return absl::InvalidArgumentError(absl::StrCat("calibration samples have ", samples.cols(),
                                                   " features but the model takes ",
                                                   network.input_size()));
  }
  if (batch_size <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("batch size must be > 0, not ", batch_size));
  }
  std::vector<float> largest(network.num_layers(), 0.0f);
  const ForwardContext inference;  // training off: Dropout passes through
  Tensor buffers[2];
  for (Eigen::Index begin = 0; begin < samples.rows(); begin += batch_size) {
    const Eigen::Index rows = std::min<Eigen::Index>(batch_size, samples.rows() - begin);
    buffers[0] = samples.middleRows(begin, rows);
    int current = 0;
    for (int i = 0; i < network.num_layers(); ++i) {
      Layer& layer = network.layer(i);
      if (IsDenseLayer(layer) && buffers[current].size() > 0) {
        largest[i] = std::max(largest[i], buffers[current].cwiseAbs().maxCoeff());
      }
      layer.Forward(buffers[current], inference, &buffers[1 - current]);
      current = 1 - current;
    }
  }
  return largest;
}

}  // namespace mnemo
