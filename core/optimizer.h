#ifndef MNEMO_CORE_OPTIMIZER_H_
#define MNEMO_CORE_OPTIMIZER_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config.pb.h"
#include "core/network.h"

namespace mnemo {

// Updates the trainable parameters of a network from their gradients and
// marks each updated layer's parameters as changed (Layer::MarkParametersUpdated).
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual void Step(Network& network) = 0;
  // Creates now the state a first Step would (zero moments, a step count of
  // 0) for every trainable parameter that has none, so that State() lists
  // all of it before the first step: a snapshot then has its whole shape,
  // and a resumed run somewhere to restore it. Steps compute the same either
  // way.
  virtual void CreateState(Network& network) = 0;
  // Tensors of optimizer state (momentum, Adam moments) keyed
  // "<layer name>.<parameter>.<slot>", for snapshots.
  virtual std::vector<std::pair<std::string, Tensor*>> State() = 0;
};

// SGD (optional momentum, Nesterov, weight decay) or Adam, from the config.
// Errors name the bad field (e.g. a learning rate <= 0, an unknown type).
absl::StatusOr<std::unique_ptr<Optimizer>> CreateOptimizer(
    const config::Optimizer& config);

}  // namespace mnemo

#endif  // MNEMO_CORE_OPTIMIZER_H_
