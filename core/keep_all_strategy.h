#ifndef MNEMO_CORE_KEEP_ALL_STRATEGY_H_
#define MNEMO_CORE_KEEP_ALL_STRATEGY_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/cache_strategy.h"
#include "core/layer.h"
#include "core/tensor.h"

namespace mnemo {

// core's default strategy ("keep_all"): keeps every activation of the forward
// pass, so the backward pass recomputes nothing.
//
// Activation 0 is the caller's input itself, not a copy: the input must
// outlive the pass (until EndPass). The other activations live in tensors
// reused from step to step, so a steady-state step does not allocate; they
// stay allocated after EndPass and count as held.
// Every pointer Forward and Activation return stays valid until the next
// Forward or Attach (more than the contract asks).
class KeepAllStrategy : public CacheStrategy {
 public:
  absl::Status Attach(const std::vector<Layer*>& layers) override;
  absl::StatusOr<const Tensor*> Forward(const Tensor& input,
                                        const ForwardContext& context) override;
  absl::StatusOr<const Tensor*> Activation(int i) override;
  void EndPass() override;
  CacheStats stats() const override { return stats_; }

 private:
  void UpdateBytesHeld();

  const Tensor* input_ = nullptr;  // activation 0 during a pass
  std::vector<Tensor> outputs_;    // activation i + 1 is outputs_[i]
  CacheStats stats_;
};

}  // namespace mnemo

#endif  // MNEMO_CORE_KEEP_ALL_STRATEGY_H_
