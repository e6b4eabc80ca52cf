#ifndef MNEMO_TESTS_PLUGINS_TEST_LAYERS_H_
#define MNEMO_TESTS_PLUGINS_TEST_LAYERS_H_

// Minimal layers for the test plugins and tests.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/layer.h"
#include "core/registry.h"

namespace mnemo::testing {

// output = input; the type name is whatever it was registered as.
class PassThrough : public Layer {
 public:
  PassThrough(std::string type, int input_size, int output_size)
      : Layer(input_size, output_size), type_(std::move(type)) {}

  const char* type() const override { return type_.c_str(); }
  void Forward(const Tensor& input, const ForwardContext&, Tensor* output) override {
    *output = input.leftCols(output_size());
  }
  void Backward(const Tensor&, const Tensor&, const Tensor& grad_output,
                const ForwardContext&, Tensor* grad_input) override {
    if (grad_input == nullptr) return;
    grad_input->setZero(grad_output.rows(), input_size());
    grad_input->leftCols(output_size()) = grad_output;
  }

 private:
  std::string type_;
};

// A factory for a size-preserving PassThrough registered as `type`.
inline LayerRegistry::Factory PassThroughFactory(std::string type) {
  return [type](const LayerArgs& args) -> absl::StatusOr<std::unique_ptr<Layer>> {
    return std::make_unique<PassThrough>(type, args.input_size, args.input_size);
  };
}

// A factory whose layer takes exactly `input_size` inputs, whatever it is
// given: how a layer with a fixed input width behaves.
inline LayerRegistry::Factory FixedInputFactory(std::string type, int input_size) {
  return [type, input_size](const LayerArgs&) -> absl::StatusOr<std::unique_ptr<Layer>> {
    return std::make_unique<PassThrough>(type, input_size, input_size);
  };
}

}  // namespace mnemo::testing

#endif  // MNEMO_TESTS_PLUGINS_TEST_LAYERS_H_
