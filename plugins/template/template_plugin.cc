// The template plugin: a layer type "Scale" that multiplies its input by a
// constant factor read from typed options. Copy this directory to start a
// plugin of your own (README.md).

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "core/layer.h"
#include "core/options_check.h"
#include "core/plugin_api.h"
#include "core/registry.h"
#include "core/status_macros.h"
#include "plugins/template/template_options.pb.h"

namespace mnemo::plugins::template_plugin {
namespace {

constexpr char kScaleType[] = "Scale";

// output = factor * input. Parameter-free and size-preserving.
class Scale : public Layer {
 public:
  Scale(int size, float factor) : Layer(size, size), factor_(factor) {}

  const char* type() const override { return kScaleType; }

  void Forward(const Tensor& input, const ForwardContext& /*context*/,
               Tensor* output) override {
    *output = factor_ * input;
  }

  // d(factor * x)/dx = factor.
  void Backward(const Tensor& /*input*/, const Tensor& /*output*/,
                const Tensor& grad_output, const ForwardContext& /*context*/,
                Tensor* grad_input) override {
    if (grad_input != nullptr) *grad_input = factor_ * grad_output;
  }

  float factor() const { return factor_; }

 private:
  const float factor_;
};

absl::StatusOr<std::unique_ptr<Layer>> CreateScale(const LayerArgs& args) {
  MNEMO_ASSIGN_OR_RETURN(ScaleOptions options, UnpackOptions<ScaleOptions>(
                                                   args.config, /*required=*/true, "factor: ..."));
  if (options.factor() == 0) {
    return absl::InvalidArgumentError("Scale needs a non-zero options.factor");
  }
  if (args.config.units() != 0 && args.config.units() != args.input_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("Scale keeps its input size (", args.input_size,
                     "); units: ", args.config.units(), " cannot be honoured"));
  }
  return std::make_unique<Scale>(args.input_size, options.factor());
}

void Register(PluginRegistrar& registrar) {
  registrar.AddLayer(kScaleType, &CreateScale, ScaleOptions::descriptor()->full_name());
}

}  // namespace
}  // namespace mnemo::plugins::template_plugin

MNEMO_PLUGIN("template_plugin", mnemo::plugins::template_plugin::Register);
