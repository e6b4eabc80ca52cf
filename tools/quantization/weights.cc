#include "tools/quantization/weights.h"

#include <algorithm>
#include <cmath>

namespace mnemo {

Int8Columns QuantizeColumns(const Tensor& weight) {
  Int8Columns out;
  out.values.resize(weight.rows(), weight.cols());
  out.scales = weight.cwiseAbs().colwise().maxCoeff() / 127.0f;
  if (weight.rows() == 0) out.scales.setZero(1, weight.cols());
  for (Eigen::Index j = 0; j < weight.cols(); ++j) {
    const float scale = out.scales(0, j);
    for (Eigen::Index r = 0; r < weight.rows(); ++r) {
      const float q = scale > 0 ? std::round(weight(r, j) / scale) : 0.0f;
      out.values(r, j) = static_cast<int8_t>(std::clamp(q, -127.0f, 127.0f));
    }
  }
  return out;
}

}  // namespace mnemo
