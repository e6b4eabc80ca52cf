#ifndef MNEMO_PLUGINS_ONEDNN_DOT_PRODUCT_FORWARD_H_
#define MNEMO_PLUGINS_ONEDNN_DOT_PRODUCT_FORWARD_H_

#include <cstdint>

#include "absl/status/status.h"
#include "core/tensor.h"

namespace mnemo::onednn {

// output = input * weight + bias for a few rows into a few outputs (a
// classifier head at inference, batch 1), as dot products: oneDNN's sgemm on
// a transposed copy of the weights. oneDNN's matmul kernel holds one vector
// register of outputs there and so runs a single chain of dependent FMAs
// over the whole fan_in; as dot products many chains run at once (0.2 us
// instead of 0.55 at 1 x 256 x 10, measured). The copy is made once per
// weights version (Layer::parameter_version()).
class DotProductForward {
 public:
  // Where it pays, measured on the 2-core machine of notes/anchors.md.
  static bool Applies(int rows, int units) { return rows <= 4 && units <= 16; }

  // `output` already rows x weight.cols(); `bias` 1 x weight.cols().
  absl::Status Run(const Tensor& input, const Tensor& weight, const Tensor& bias,
                   uint64_t weights_version, Tensor* output);

 private:
  Tensor transposed_;  // weight^T, units x fan_in
  bool valid_ = false;
  uint64_t version_ = 0;
};

}  // namespace mnemo::onednn

#endif  // MNEMO_PLUGINS_ONEDNN_DOT_PRODUCT_FORWARD_H_
