#ifndef MNEMO_PLUGINS_ONEDNN_DENSE_H_
#define MNEMO_PLUGINS_ONEDNN_DENSE_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "core/layer.h"
#include "core/layers/dense.h"
#include "core/registry.h"
#include "core/tensor.h"
#include "plugins/onednn/dot_product_forward.h"
#include "plugins/onednn/matmul.h"
#include "plugins/onednn/runtime.h"
#include "plugins/onednn/to_bf16.h"

namespace mnemo::onednn {

inline constexpr char kDenseType[] = "onednn/Dense";

// core's Dense (output = input * weight + bias, weight fan_in x fan_out) on
// oneDNN matmul primitives:
//
//   forward           y  = x W + b        bias fused into the matmul
//   weight gradient   dW += x^T dy        x^T a strided view; += a sum post-op
//   bias gradient     db += 1^T dy        a 1 x batch row of ones
//   input gradient    dx  = dy W^T        W^T a strided view
//
// Its parameters are those of a core Dense it holds (same names, shapes,
// initialisation from the same seed), so models save and load across
// backends, and the optimizers see nothing different. The matmuls read and
// write those tensors and the network's activations in place: no copy. For
// small batches (inference) the forward pass packs the weights into
// oneDNN's preferred layout once per Layer::parameter_version(); whoever
// changes the weights must call MarkParametersUpdated() (optimizers and
// model loading do), as the contract of Layer says. A few rows into a few
// outputs (a classifier head at batch 1) are computed as dot products
// instead (DotProductForward), and one row into more outputs by RowGemv,
// at the L2's bandwidth where oneDNN reaches 60% of it (row_gemv.h).
//
// In BF16 (model.precision) the three products take bf16 operands and
// accumulate in fp32 (AVX512-BF16's dot products): the weights are rounded
// to bf16 once per parameter_version(), the input and the output's gradient
// at every pass, into per-thread buffers; outputs, gradients and the bias
// stay fp32, so the optimizer updates fp32 master weights and model files
// are the same as an FP32 model's. Every batch size takes the bf16 product
// (no RowGemv), so what a model in BF16 computes does not depend on the
// batch size's path.
class Dense : public Layer {
 public:
  // As core's Dense::Create (units > 0; weights from args.init and
  // args.seed, bias zero), with args.backend's threads.
  static absl::StatusOr<std::unique_ptr<Layer>> Create(const LayerArgs& args);

  // `bf16`: the products in bf16 (model.precision BF16).
  Dense(std::unique_ptr<mnemo::Dense> reference, int threads, bool bf16);

  const char* type() const override { return kDenseType; }
  void Forward(const Tensor& input, const ForwardContext& context, Tensor* output) override;
  void Backward(const Tensor& input, const Tensor& output, const Tensor& grad_output,
                const ForwardContext& context, Tensor* grad_input) override;
  // {"weight", "bias"}, as core's Dense.
  std::vector<Parameter> parameters() override { return reference_->parameters(); }

 private:
  // Whether a forward pass of `rows` rows is RowGemv's (row_gemv.h).
  bool UseRowGemv(int rows) const;
  // BF16: the products' operands, rounded from the fp32 tensors: the weights
  // once per parameter_version() into weight_bf16_, a batch's rows into this
  // thread's buffer `slot` (runtime.h's ThreadBuffer), valid until the next
  // conversion into that slot.
  absl::Status ConvertWeights();
  absl::StatusOr<const uint16_t*> Convert(const Tensor& tensor, ThreadBufferSlot slot);
  void ForwardBf16(const Tensor& input, const ForwardContext& context, Tensor* output);
  // The backward products' operands: the input, the output's gradient and the
  // weights as they are (FP32), or rounded to bf16.
  struct Operands {
    const void* x;
    const void* dy;
    const void* w;
  };
  absl::Status BackwardOperands(const Tensor& input, const Tensor& grad_output, Operands* operands);
  // The 1 x rows row of ones the bias gradient multiplies by; grown, never
  // shrunk, so alternating batch sizes do not reallocate.
  const float* Ones(int rows);

  std::unique_ptr<mnemo::Dense> reference_;  // parameters, and the fallback
  int max_threads_;
  // Its tensors (members of *reference_, which never moves).
  Tensor* weight_;
  Tensor* bias_;
  Tensor* weight_gradient_ = nullptr;
  Tensor* bias_gradient_ = nullptr;
  MatMul forward_;
  DotProductForward forward_few_outputs_;  // where DotProductForward::Applies
  MatMul backward_data_;
  MatMul backward_weights_;
  MatMul backward_bias_;
  std::vector<float> ones_;
  bool fallback_reported_ = false;
  // BF16 only: the fp32 weights are the master copy the optimizer updates
  // and model files hold; the products read this rounding of them.
  bool bf16_;
  ToBf16 to_bf16_;
  std::vector<uint16_t> weight_bf16_;
  bool weight_bf16_valid_ = false;
  uint64_t weight_bf16_version_ = 0;
};

}  // namespace mnemo::onednn

#endif  // MNEMO_PLUGINS_ONEDNN_DENSE_H_
