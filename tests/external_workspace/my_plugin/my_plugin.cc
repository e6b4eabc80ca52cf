// A plugin of the workspace that uses mnemo: a layer "Shift" that adds a
// constant from typed options, built with @mnemo's macros.
#include <memory>

#include "absl/status/statusor.h"
#include "core/layer.h"
#include "core/options_check.h"
#include "core/plugin_api.h"
#include "core/registry.h"
#include "core/status_macros.h"
#include "my_plugin/my_options.pb.h"

namespace mnemo_host {
namespace {

class Shift : public mnemo::Layer {
 public:
  Shift(int size, float offset) : Layer(size, size), offset_(offset) {}
  const char* type() const override { return "Shift"; }
  void Forward(const mnemo::Tensor& input, const mnemo::ForwardContext& /*context*/,
               mnemo::Tensor* output) override {
    *output = input.array() + offset_;
  }
  void Backward(const mnemo::Tensor& /*input*/, const mnemo::Tensor& /*output*/,
                const mnemo::Tensor& grad_output, const mnemo::ForwardContext& /*context*/,
                mnemo::Tensor* grad_input) override {
    if (grad_input != nullptr) *grad_input = grad_output;
  }

 private:
  const float offset_;
};

absl::StatusOr<std::unique_ptr<mnemo::Layer>> CreateShift(const mnemo::LayerArgs& args) {
  MNEMO_ASSIGN_OR_RETURN(
      my_plugin::ShiftOptions options,
      mnemo::UnpackOptions<my_plugin::ShiftOptions>(args.config, /*required=*/true, "offset: ..."));
  return std::make_unique<Shift>(args.input_size, options.offset());
}

}  // namespace
}  // namespace mnemo_host

MNEMO_PLUGIN("my_plugin", [](mnemo::PluginRegistrar& registrar) {
  registrar.AddLayer("Shift", &mnemo_host::CreateShift,
                     mnemo_host::my_plugin::ShiftOptions::descriptor()->full_name());
});
