#include "core/layers/input_scaling.h"

#include "absl/strings/str_cat.h"
#include "core/network.h"

namespace mnemo {
namespace {

absl::StatusOr<std::unique_ptr<Layer>> Create(InputScaling::Method method, const LayerArgs& args) {
  if (args.config.has_trainable() && args.config.trainable()) {
    return absl::InvalidArgumentError(
        "is fitted to the training data, not trained: leave out `trainable`");
  }
  if (args.config.units() != 0 && args.config.units() != args.input_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("keeps the width of its input (", args.input_size, "): leave out `units`"));
  }
  return std::make_unique<InputScaling>(method, args.input_size, args.inference);
}

}  // namespace

InputScaling::InputScaling(Method method, int size, bool inference)
    : Layer(size, size),
      method_(method),
      shift_(Tensor::Zero(1, size)),
      scale_(Tensor::Ones(1, size)) {
  if (!inference) {
    shift_gradient_ = Tensor::Zero(1, size);
    scale_gradient_ = Tensor::Zero(1, size);
  }
  set_trainable(false);
}

absl::StatusOr<std::unique_ptr<Layer>> InputScaling::CreateStandardize(const LayerArgs& args) {
  return Create(Method::kStandardize, args);
}

absl::StatusOr<std::unique_ptr<Layer>> InputScaling::CreateMinMaxScale(const LayerArgs& args) {
  return Create(Method::kMinMax, args);
}

const char* InputScaling::type() const {
  return method_ == Method::kStandardize ? "Standardize" : "MinMaxScale";
}

void InputScaling::Forward(const Tensor& input, const ForwardContext& /*context*/, Tensor* output) {
  output->resize(input.rows(), input.cols());
  output->array() = (input.rowwise() - shift_.row(0)).array().rowwise() * scale_.row(0).array();
}

void InputScaling::Backward(const Tensor& /*input*/, const Tensor& /*output*/,
                            const Tensor& grad_output, const ForwardContext& /*context*/,
                            Tensor* grad_input) {
  if (grad_input == nullptr) return;
  grad_input->resize(grad_output.rows(), grad_output.cols());
  grad_input->array() = grad_output.array().rowwise() * scale_.row(0).array();
}

std::vector<Parameter> InputScaling::parameters() {
  return {{"shift", &shift_, &shift_gradient_}, {"scale", &scale_, &scale_gradient_}};
}

void InputScaling::Fit(const FeatureStats& stats) {
  const bool standardize = method_ == Method::kStandardize;
  shift_ = standardize ? stats.mean : stats.min;
  const Tensor spread = standardize ? stats.stddev : Tensor(stats.max - stats.min);
  for (Eigen::Index i = 0; i < spread.cols(); ++i) {
    scale_(0, i) = spread(0, i) > 0 ? 1.0f / spread(0, i) : 1.0f;
  }
  MarkParametersUpdated();
}

absl::Status FitInputScaling(Network& network, const Dataset& train) {
  for (int i = 1; i < network.num_layers(); ++i) {
    if (dynamic_cast<InputScaling*>(&network.layer(i)) != nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("layer ", network.layer(i).name(), " (", network.layer(i).type(),
                       ") must be the model's first layer: it is fitted to the raw features"));
    }
  }
  if (network.num_layers() == 0) return absl::OkStatus();
  auto* scaling = dynamic_cast<InputScaling*>(&network.layer(0));
  if (scaling != nullptr) scaling->Fit(ComputeFeatureStats(train));
  return absl::OkStatus();
}

}  // namespace mnemo
