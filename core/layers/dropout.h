#ifndef MNEMO_CORE_LAYERS_DROPOUT_H_
#define MNEMO_CORE_LAYERS_DROPOUT_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "core/layer.h"
#include "core/registry.h"
#include "core/tensor.h"

namespace mnemo {

// Inverted dropout: in training each element is zeroed with probability
// `rate` and the survivors are scaled by 1 / (1 - rate), so evaluation (the
// identity) needs no rescaling.
//
// The mask is a pure function of (layer seed, context.step, element index
// row * cols + col), drawn from a counter-based hash instead of a generator
// with state. A forward pass recomputed later (checkpointing) therefore
// reproduces the first one bit for bit, and the backward pass recomputes the
// mask instead of storing it: no memory is held between the passes.
class Dropout : public Layer {
 public:
  // `rate` in [0, 1); `seed` is the layer's own (LayerArgs::seed).
  Dropout(int size, float rate, uint64_t seed);

  // From a layer config: `rate` in [0, 1) (0, the default, is the identity).
  static absl::StatusOr<std::unique_ptr<Layer>> Create(const LayerArgs& args);

  const char* type() const override { return "Dropout"; }
  void Forward(const Tensor& input, const ForwardContext& context,
               Tensor* output) override;
  void Backward(const Tensor& input, const Tensor& output,
                const Tensor& grad_output, const ForwardContext& context,
                Tensor* grad_input) override;

  float rate() const { return rate_; }
  uint64_t seed() const { return seed_; }

  // Whether element `index` (row * cols + col) survives at `step`; what
  // Forward and Backward use. Public for tests.
  bool Keeps(uint64_t step, uint64_t index) const;

 private:
  // Writes mask(step) * scale * in into *out (same shape); the one loop
  // Forward and Backward share, so both apply the same mask.
  void ApplyMask(uint64_t step, const Tensor& in, Tensor* out) const;

  const float rate_;
  const float scale_;        // 1 / (1 - rate), rounded once to float
  const uint64_t seed_;
  const uint64_t threshold_;  // keep when hash >= threshold: P(drop) = rate
};

}  // namespace mnemo

#endif  // MNEMO_CORE_LAYERS_DROPOUT_H_
