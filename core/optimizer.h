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
//
// It keeps the config it was made from: the trainer reads the schedule and
// the clipping there, and sets the rate of every step
// (set_learning_rate) before the step.
class Optimizer {
 public:
  explicit Optimizer(const config::Optimizer& config)
      : config_(config), learning_rate_(config.learning_rate()) {}
  virtual ~Optimizer() = default;

  const config::Optimizer& config() const { return config_; }
  // The rate the next Step takes; optimizer.learning_rate until set. Not part
  // of the state (State): the trainer sets it from the schedule, a pure
  // function of where the run stands (core/lr_schedule.h).
  double learning_rate() const { return learning_rate_; }
  void set_learning_rate(double rate) { learning_rate_ = rate; }

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

 private:
  const config::Optimizer config_;
  double learning_rate_;
};

// What is wrong with an optimizer config, every problem at once, each named
// by its field ("trainer.optimizer.beta1", "trainer.optimizer.schedule.gamma"):
// a type other than sgd, adam and adamw, a value out of its range or not
// finite, a field the type (or the schedule's type) does not read. The
// config loader reports them with their places. What depends on the data
// (a warm-up longer than the run) LearningRateSchedule::Create checks.
std::vector<FieldProblem> CheckOptimizer(const config::Optimizer& config);

// SGD (optional momentum, Nesterov, weight decay), Adam or AdamW, from the
// config; refuses one CheckOptimizer (or the schema's ranges) finds problems
// in, with all of them.
absl::StatusOr<std::unique_ptr<Optimizer>> CreateOptimizer(
    const config::Optimizer& config);

}  // namespace mnemo

#endif  // MNEMO_CORE_OPTIMIZER_H_
