#ifndef MNEMO_CORE_OPTIMIZER_H_
#define MNEMO_CORE_OPTIMIZER_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/config.pb.h"
#include "core/field_problem.h"
#include "core/layer.h"
#include "core/network.h"

namespace mnemo {

// Updates parameters from their gradients and tells each updated layer
// (Layer::MarkParametersUpdated). Its state (momentum, moments) is kept per
// parameter tensor and named by the parameter, so one optimizer serves one
// model, whatever networks and tensors that model is made of.
class Optimizer {
 public:
  virtual ~Optimizer() = default;

  // One step of every parameter in `parameters` (their gradients as they are).
  virtual void Step(absl::Span<const ModelParameter> parameters) = 0;
  // Creates now the state a first Step of `parameters` would (zero moments, a
  // step count of 0) where there is none, so that State() lists all of it
  // before the first step: a snapshot then has its whole shape, and a resumed
  // run somewhere to restore it. Steps compute the same either way.
  virtual void CreateState(absl::Span<const ModelParameter> parameters) = 0;
  // Tensors of optimizer state keyed "<parameter name>.<slot>"
  // ("0_dense.weight.momentum"), for snapshots.
  virtual std::vector<std::pair<std::string, Tensor*>> State() = 0;

  // The same for a network's trainable parameters.
  void Step(Network& network) { Step(network.TrainableParameters()); }
  void CreateState(Network& network) { CreateState(network.TrainableParameters()); }
};

// What is wrong with an optimizer config, every problem at once, each named
// by its field ("trainer.optimizer.beta1"): a type other than sgd and adam,
// a value out of its range or not finite, a field the type does not read.
// The config loader reports them with their places.
std::vector<FieldProblem> CheckOptimizer(const config::Optimizer& config);

// SGD (optional momentum, Nesterov, weight decay) or Adam, from the config;
// refuses one CheckOptimizer finds problems in, with all of them.
absl::StatusOr<std::unique_ptr<Optimizer>> CreateOptimizer(
    const config::Optimizer& config);

}  // namespace mnemo

#endif  // MNEMO_CORE_OPTIMIZER_H_
