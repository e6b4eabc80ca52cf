#include "core/feature_split.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/io/quote.h"

namespace mnemo {

// The rule of core/model_builder.cc, which names the layers it builds.
std::string ConfigLayerName(const config::Model& model, int index) {
  const config::Layer& layer = model.layer(index);
  return layer.name().empty() ? absl::StrCat(index, "_", absl::AsciiStrToLower(layer.type()))
                              : layer.name();
}

absl::StatusOr<int> FeatureSplitIndex(const LoadedConfig& config) {
  constexpr char kField[] = "memory_module.features_after";
  const config::Model& model = config.experiment().model();
  const std::string& wanted = config.experiment().memory_module().features_after();
  auto error = [&](const std::string& message) {
    return absl::InvalidArgumentError(config.Describe(kField, message));
  };
  std::vector<std::string> names;
  for (int i = 0; i < model.layer_size(); ++i) names.push_back(ConfigLayerName(model, i));
  const std::string known = absl::StrCat("(the model's layers: ", absl::StrJoin(names, ", "), ")");
  if (wanted.empty()) {
    return error(absl::StrCat(kField,
                              " is required: the name of the layer whose output "
                              "is the feature vector ",
                              known));
  }
  int network_layers = 0;
  for (int i = 0; i < model.layer_size(); ++i) {
    network_layers += model.layer(i).activation().empty() ? 1 : 2;
    if (names[i] != wanted) continue;
    if (i + 1 == model.layer_size()) {
      return error(absl::StrCat(kField, " \"", wanted,
                                "\" is the last layer; the network head needs the layers "
                                "after the feature layer ",
                                known));
    }
    return network_layers;
  }
  return error(absl::StrCat(kField, " ", QuoteValue(wanted), " names no layer ", known));
}

absl::Status CheckFeatureSplit(const Network& network, int split,
                               const std::string& features_after) {
  bool found = false;
  for (int i = 0; i < split && i < network.num_layers(); ++i) {
    found |= network.layer(i).name() == features_after;
  }
  if (!found || split >= network.num_layers()) {
    return absl::InternalError(absl::StrCat("the built network does not place layer \"",
                                            features_after, "\" before its layer ", split));
  }
  return absl::OkStatus();
}

}  // namespace mnemo
