#include "core/keep_all_strategy.h"

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "core/network.h"
#include "core/status_macros.h"

namespace mnemo {

std::unique_ptr<CacheStrategy> MakeKeepAllStrategy() {
  return std::make_unique<KeepAllStrategy>();
}

absl::Status KeepAllStrategy::Attach(const std::vector<Layer*>& layers) {
  MNEMO_RETURN_IF_ERROR(CacheStrategy::Attach(layers));
  input_ = nullptr;
  outputs_.clear();
  outputs_.resize(layers.size());
  UpdateBytesHeld();
  return absl::OkStatus();
}

absl::StatusOr<const Tensor*> KeepAllStrategy::Forward(const Tensor& input,
                                                       const ForwardContext& context) {
  const std::vector<Layer*>& all = layers();
  if (outputs_.size() != all.size()) outputs_.resize(all.size());
  input_ = &input;
  const Tensor* x = &input;
  for (size_t i = 0; i < all.size(); ++i) {
    all[i]->Forward(*x, context, &outputs_[i]);
    x = &outputs_[i];
  }
  UpdateBytesHeld();
  return x;
}

absl::StatusOr<const Tensor*> KeepAllStrategy::Activation(int i) {
  if (input_ == nullptr) {
    return absl::FailedPreconditionError(
        "keep_all: Activation() called outside a pass (no Forward since the last "
        "EndPass)");
  }
  if (i < 0 || i > static_cast<int>(outputs_.size())) {
    return absl::OutOfRangeError(absl::StrCat("keep_all: activation ", i,
                                              " does not exist (the network has ",
                                              outputs_.size(), " layers)"));
  }
  return i == 0 ? input_ : &outputs_[i - 1];
}

void KeepAllStrategy::EndPass() {
  // The caller's input is no longer referenced; our own tensors stay
  // allocated for the next step.
  input_ = nullptr;
  UpdateBytesHeld();
}

void KeepAllStrategy::UpdateBytesHeld() {
  size_t bytes = input_ == nullptr ? 0 : TensorBytes(*input_);
  for (const Tensor& t : outputs_) bytes += TensorBytes(t);
  stats_.bytes_held = bytes;
  stats_.peak_bytes_held = std::max(stats_.peak_bytes_held, bytes);
  stats_.recomputed_forwards = 0;
}

}  // namespace mnemo
