#include "core/layers/norm_config.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"

namespace mnemo {

absl::StatusOr<NormSettings> ReadNormSettings(const char* type, const LayerArgs& args,
                                              bool reads_momentum) {
  const config::Layer& config = args.config;
  // `BatchNorm layer "bn"`, as Dropout's messages start; without a name
  // when the config gives none (the model builder's message says where).
  const std::string layer = config.name().empty()
                                ? absl::StrCat(type, " layer")
                                : absl::StrCat(type, " layer \"", config.name(), "\"");
  NormSettings settings;
  settings.size = args.input_size;
  if (args.input_size <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(layer, " needs an input size > 0 (got ", args.input_size, ")"));
  }
  if (config.units() != 0 && config.units() != args.input_size) {
    return LayerFieldError(
        "units", absl::StrCat(layer, " keeps the width of its input (", args.input_size,
                              "); units must be unset or equal to it (got ", config.units(), ")"));
  }
  // Written so that NaN fails too.
  const float epsilon = config.epsilon();
  if (epsilon != 0) {
    if (!(std::isfinite(epsilon) && epsilon > 0)) {
      return LayerFieldError(
          "epsilon", absl::StrCat(layer,
                                  " needs epsilon finite and > 0 (added to the variance before "
                                  "its square root; unset = 1e-5); got ",
                                  epsilon));
    }
    settings.epsilon = epsilon;
  }
  const float momentum = config.momentum();
  if (!reads_momentum && momentum != 0) {
    return LayerFieldError("momentum",
                           absl::StrCat(layer,
                                        " does not read momentum (BatchNorm's rate for its running "
                                        "statistics): leave it out"));
  }
  if (reads_momentum && momentum != 0) {
    if (!(momentum > 0 && momentum <= 1)) {
      return LayerFieldError("momentum",
                             absl::StrCat(layer,
                                          " needs momentum in (0, 1] (the weight of a step's batch "
                                          "statistics in the running ones; unset = 0.1); got ",
                                          momentum));
    }
    settings.momentum = momentum;
  }
  if (config.rate() != 0) {
    return LayerFieldError("rate",
                           absl::StrCat(layer, " does not read rate (Dropout's): leave it out"));
  }
  if (config.has_init()) {
    return LayerFieldError(
        "init", absl::StrCat(layer,
                             " does not read init: its scale (gamma) starts at 1 and its shift "
                             "(beta) at 0"));
  }
  return settings;
}

}  // namespace mnemo
