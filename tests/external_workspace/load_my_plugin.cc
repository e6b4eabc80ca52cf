// Builds a model with this workspace's plugin from a config (its layer and
// typed options) and runs it: "Shift" by 1.5 on a sample of zeros.
#include <cstdio>
#include <memory>

#include "absl/status/status.h"
#include "core/config_loader.h"
#include "core/model_builder.h"
#include "core/network.h"
#include "core/status_macros.h"
#include "core/tensor.h"

namespace {

constexpr char kConfig[] = R"pb(
  plugin: "my_plugin/libmy_plugin.so"
  model {
    input_size: 3
    layer {
      type: "Shift"
      options {
        [type.googleapis.com/mnemo_host.my_plugin.ShiftOptions] { offset: 1.5 }
      }
    }
  }
)pb";

absl::Status Run() {
  mnemo::ConfigLoader loader(mnemo::Registries::Global(), mnemo::ConfigUse::kInference);
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<mnemo::LoadedConfig> config,
                         loader.LoadText(kConfig, "inline.pbtxt"));
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<mnemo::Network> network,
                         mnemo::BuildNetwork(*config, mnemo::Registries::Global()));
  mnemo::Tensor input = mnemo::Tensor::Zero(1, 3);
  MNEMO_ASSIGN_OR_RETURN(const mnemo::Tensor* output,
                         network->Forward(input, mnemo::ForwardContext()));
  std::printf("Shift output %.2f %.2f %.2f\n", (*output)(0, 0), (*output)(0, 1), (*output)(0, 2));
  return absl::OkStatus();
}

}  // namespace

int main() {
  if (absl::Status status = Run(); !status.ok()) {
    std::fprintf(stderr, "load_my_plugin: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
