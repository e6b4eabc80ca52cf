#ifndef MNEMO_CORE_TENSOR_H_
#define MNEMO_CORE_TENSOR_H_

#include <cstddef>
#include <string>
#include <vector>

// core/abi.h before Eigen: it pins Eigen's alignments (see there).
// clang-format off
#include "core/abi.h"
#include <Eigen/Core>
// clang-format on

namespace mnemo {

// A batch: one sample a row, features along the columns, row-major so that a
// sample is contiguous (the layout of the data files and of PyTorch tensors).
using Tensor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::Matrix<float, 1, Eigen::Dynamic, Eigen::RowMajor>;

// Row-major integer matrices: an INT8 model's weights (Int8Parameter), and
// the operands of Backend::MatMulTransposedInt8 (a memory's int8 similarity
// scan: unsigned and signed bytes in, exact int32 sums out).
using MatrixU8 = Eigen::Matrix<uint8_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixS8 = Eigen::Matrix<int8_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixS32 = Eigen::Matrix<int32_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

inline size_t TensorBytes(const Tensor& t) {
  return static_cast<size_t>(t.size()) * sizeof(float);
}

// A trainable tensor and the gradient accumulated for it; or a buffer
// (Layer::buffers), which has no gradient.
struct Parameter {
  std::string name;  // "weight", "bias", ...; unique within its owner
  Tensor* value;
  // Same shape as *value, or empty in a network built for inference
  // (LayerArgs::inference), which never runs Backward; null for a buffer.
  Tensor* gradient;
};

// A tensor a layer holds as int8 (an INT8 model's weights,
// Layer::int8_buffers): part of the model, never trained.
struct Int8Parameter {
  std::string name;  // unique within its owner, among its float tensors too
  MatrixS8* value;
};

}  // namespace mnemo

#endif  // MNEMO_CORE_TENSOR_H_
