#ifndef MNEMO_PLUGINS_ONEDNN_INT8_DENSE_H_
#define MNEMO_PLUGINS_ONEDNN_INT8_DENSE_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "core/layer.h"
#include "core/registry.h"
#include "core/tensor.h"
#include "plugins/onednn/int8_linear.h"

namespace mnemo::onednn {

// A dense layer of an INT8 model (model.precision INT8, inference only): the
// weights as int8 with one scale per output, written by tools/quantize,
//
//   weight        fan_in x fan_out I8   w[r][j] ~= weight[r][j] x weight_scale[j]
//   weight_scale  1 x fan_out F32
//   bias          1 x fan_out F32
//   input_scale   1 x 1 F32, with model.quantization.activations STATIC only
//
// and the input quantized to int8 too, by input_scale or, DYNAMIC, by each
// row's own largest magnitude: int8_linear.h computes the product (AVX512-VNNI
// for a few rows, oneDNN's int8 matmul for more). It holds no fp32 copy of
// the weights: a model in INT8 takes a quarter of an FP32 one's memory.
class Int8Dense : public Layer {
 public:
  // args.precision INT8 and args.inference; the shape checked as core's Dense
  // checks it. The tensors start at zero: a model file fills them.
  static absl::StatusOr<std::unique_ptr<Layer>> Create(const LayerArgs& args);

  Int8Dense(int input_size, int units, bool static_activations, int threads);

  const char* type() const override;
  void Forward(const Tensor& input, const ForwardContext& context, Tensor* output) override;
  // Never called (inference only): gives a zero input gradient.
  void Backward(const Tensor& input, const Tensor& output, const Tensor& grad_output,
                const ForwardContext& context, Tensor* grad_input) override;
  std::vector<Parameter> buffers() override;
  std::vector<Int8Parameter> int8_buffers() override { return {{"weight", &weight_}}; }

 private:
  MatrixS8 weight_;
  Tensor weight_scale_;
  Tensor bias_;
  Tensor input_scale_;  // 1 x 1 when static, else empty and not a buffer
  bool static_activations_;
  Int8Linear linear_;
  bool fallback_reported_ = false;
};

}  // namespace mnemo::onednn

#endif  // MNEMO_PLUGINS_ONEDNN_INT8_DENSE_H_
