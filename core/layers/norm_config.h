#ifndef MNEMO_CORE_LAYERS_NORM_CONFIG_H_
#define MNEMO_CORE_LAYERS_NORM_CONFIG_H_

#include "absl/status/statusor.h"
#include "core/registry.h"

namespace mnemo {

// PyTorch's defaults, which an unset (zero) field takes.
inline constexpr float kDefaultNormEpsilon = 1e-5f;
inline constexpr float kDefaultBatchNormMomentum = 0.1f;

// What LayerNorm and BatchNorm read from their layer config.
struct NormSettings {
  int size = 0;                                // the input's width, which they keep
  float epsilon = kDefaultNormEpsilon;         // added to the variance before its root
  float momentum = kDefaultBatchNormMomentum;  // BatchNorm's running statistics' rate
};

// Reads and checks a `type` ("LayerNorm" or "BatchNorm") layer's config:
// epsilon finite and > 0, momentum (when `reads_momentum`) in (0, 1], units
// unset or the input's width, and none of the fields the type does not read
// (rate, init, and momentum for LayerNorm). Each error names its field
// (LayerFieldError), so the config loader points at its line.
absl::StatusOr<NormSettings> ReadNormSettings(const char* type, const LayerArgs& args,
                                              bool reads_momentum);

}  // namespace mnemo

#endif  // MNEMO_CORE_LAYERS_NORM_CONFIG_H_
