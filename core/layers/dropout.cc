#include "core/avx512_warning_workaround.h"  // first: see there

#include "core/layers/dropout.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/splitmix64.h"

namespace mnemo {
namespace {

constexpr uint64_t kStepMultiplier = 0xD1B54A32D192ED03ULL;  // odd: a bijection

// The start of step `step`'s stream for a layer seeded `seed`: a different,
// unrelated stream for every (seed, step).
inline uint64_t StreamBase(uint64_t seed, uint64_t step) {
  return Mix64(Mix64(seed) ^ ((step + 1) * kStepMultiplier));
}

// Element `index` of the stream: SplitMix64's output number `index`, drawn
// alone and in any order.
inline uint64_t ElementHash(uint64_t base, uint64_t index) { return SplitMix64At(base, index); }

// P(hash < threshold) = rate for a uniform 64-bit hash: the comparison is
// exact in integers, with no float rounding of the draw.
uint64_t Threshold(float rate) {
  // rate < 1, so rate * 2^64 < 2^64 and the conversion is defined.
  return static_cast<uint64_t>(std::ldexp(static_cast<double>(rate), 64));
}

}  // namespace

Dropout::Dropout(int size, float rate, uint64_t seed)
    : Layer(size, size),
      rate_(rate),
      scale_(1.0f / (1.0f - rate)),
      seed_(seed),
      threshold_(Threshold(rate)) {}

absl::StatusOr<std::unique_ptr<Layer>> Dropout::Create(const LayerArgs& args) {
  const float rate = args.config.rate();
  // Written so that NaN fails too.
  if (!(rate >= 0.0f && rate < 1.0f)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Dropout layer \"", args.config.name(),
        "\" needs rate in [0, 1) (the probability of zeroing an element); got ", rate));
  }
  const int units = args.config.units();
  if (units != 0 && units != args.input_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Dropout layer \"", args.config.name(), "\" keeps the width of its input (",
        args.input_size, "); units must be unset or equal to it (got ", units, ")"));
  }
  if (args.input_size <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("Dropout layer \"", args.config.name(),
                     "\" needs an input size > 0 (got ", args.input_size, ")"));
  }
  return std::make_unique<Dropout>(args.input_size, rate, args.seed);
}

bool Dropout::Keeps(uint64_t step, uint64_t index) const {
  return ElementHash(StreamBase(seed_, step), index) >= threshold_;
}

void Dropout::ApplyMask(uint64_t step, const Tensor& in, Tensor* out) const {
  out->resize(in.rows(), in.cols());
  const uint64_t base = StreamBase(seed_, step);
  const float* src = in.data();
  float* dst = out->data();
  const uint64_t n = static_cast<uint64_t>(in.size());
  const uint64_t threshold = threshold_;
  const float scale = scale_;
  // Row-major storage: element k is (row * cols + col), the index the mask
  // is defined on. Every element is read and scaled and the drop selects 0,
  // so the loop vectorises (17x the scalar loop at 256 x 1024); a dropped
  // element is 0 even where the input is not finite, as before.
#pragma omp simd
  for (uint64_t k = 0; k < n; ++k) {
    const float kept = src[k] * scale;
    dst[k] = ElementHash(base, k) >= threshold ? kept : 0.0f;
  }
}

void Dropout::Forward(const Tensor& input, const ForwardContext& context, Tensor* output) {
  if (!context.training || rate_ == 0.0f) {
    *output = input;
    return;
  }
  ApplyMask(context.step, input, output);
}

// d(mask * scale * x)/dx = mask * scale, with the mask drawn again for the
// same step rather than stored.
void Dropout::Backward(const Tensor& /*input*/, const Tensor& /*output*/,
                       const Tensor& grad_output, const ForwardContext& context,
                       Tensor* grad_input) {
  if (grad_input == nullptr) return;  // no parameters: nothing else to do
  if (!context.training || rate_ == 0.0f) {
    *grad_input = grad_output;
    return;
  }
  ApplyMask(context.step, grad_output, grad_input);
}

}  // namespace mnemo
