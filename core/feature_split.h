#ifndef MNEMO_MEMORY_MODULES_CLASSIFIER_FEATURE_SPLIT_H_
#define MNEMO_MEMORY_MODULES_CLASSIFIER_FEATURE_SPLIT_H_

#include <string>

#include "absl/status/statusor.h"
#include "core/config.pb.h"
#include "core/config_loader.h"
#include "core/network.h"

namespace mnemo {

// The name BuildNetwork gives config layer `index`: its `name`, else
// "<index>_<type in lower case>" ("1_dense").
std::string ConfigLayerName(const config::Model& model, int index);

// Where a network built from the config splits into the backbone and the
// head that memory_module.features_after asks for: the number of network
// layers in the backbone. The named config layer's activation belongs to the
// backbone (the feature is the output after the activation), so it counts one
// network layer per config layer, two for one with an `activation`.
//
// Errors, at memory_module.features_after's file:line:column: the field is
// empty, names no config layer (the names are listed), or names the last one
// (no layer would be left for the head).
absl::StatusOr<int> FeatureSplitIndex(const LoadedConfig& config);

// That FeatureSplitIndex counted layers by the rule BuildNetwork names them
// by: the network built from the config has the layer `features_after`
// among its first `split` layers and a head after them. Internal otherwise
// (better than splitting in the wrong place).
absl::Status CheckFeatureSplit(const Network& network, int split,
                               const std::string& features_after);

}  // namespace mnemo

#endif  // MNEMO_MEMORY_MODULES_CLASSIFIER_FEATURE_SPLIT_H_
