#ifndef MNEMO_CORE_LR_SCHEDULE_H_
#define MNEMO_CORE_LR_SCHEDULE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/config.pb.h"

namespace mnemo {

// The kinds of trainer.optimizer.schedule.type ("" is kConstant).
enum class ScheduleType { kConstant, kStep, kExponential, kCosine, kOneCycle, kPlateau };

// The type `name` names; nullopt for an unknown one.
std::optional<ScheduleType> ParseScheduleType(absl::string_view name);
// "constant, cosine, exponential, one_cycle, plateau, step", for messages.
const char* ScheduleTypeNames();

// The learning rate of every step of a run (trainer.optimizer.schedule, from
// optimizer.learning_rate, the base), with the formulas of PyTorch's
// schedulers (core/config.proto says which). It is a pure function of the
// config, the run's shape (steps per epoch, epochs), the step and, for
// "plateau", the validation figure of each epoch before the step's: a run
// resumed from a snapshot, which holds the step and the epochs' figures,
// takes the same rates as one that never stopped, and the schedule keeps no
// state of its own.
//
// Rates are doubles, as PyTorch's schedulers compute them in Python; the
// optimizer takes them from there (Optimizer::set_learning_rate).
//
// Warm-up (constant, step, exponential, cosine): warmup_epochs x steps per
// epoch, rounded to the nearest step (at least one when warmup_epochs > 0),
// make W warm-up steps; step t < W runs at rate(t) x (t + 1) / W.
class LearningRateSchedule {
 public:
  // The schedule of `config` (an optimizer config CheckOptimizer accepts)
  // over `epochs` epochs of `steps_per_epoch` steps. Refuses, naming the
  // field, one that does not fit the run: a warm-up longer than the run (for
  // cosine, as long: its cosine needs a step), a one_cycle whose rise
  // (pct_start of the run) is not longer than one step.
  static absl::StatusOr<LearningRateSchedule> Create(const config::Optimizer& config,
                                                     int steps_per_epoch, int epochs);

  // The rate of step `step` (counted from 0 over the whole run, as
  // TrainingProgress::step). `watched` holds the watched validation figure
  // of each epoch done, in order (plateau reads it; the others ignore it);
  // only the epochs before the step's count, so a whole run's figures serve
  // every one of its steps.
  double Rate(uint64_t step, absl::Span<const double> watched) const;

  ScheduleType type() const { return type_; }
  // The validation figure plateau watches ("val_loss"), as
  // EpochMetrics::figures names it; empty for the other types.
  const std::string& watched_figure() const { return watched_figure_; }
  // plateau's metric as written, "loss" when unset.
  const std::string& watched_metric() const { return watched_metric_; }
  int steps_per_epoch() const { return steps_per_epoch_; }
  int64_t total_steps() const { return total_steps_; }
  int64_t warmup_steps() const { return warmup_steps_; }

 private:
  LearningRateSchedule() = default;

  double PlateauRate(int64_t epoch, absl::Span<const double> watched) const;
  double OneCycleRate(uint64_t step) const;

  ScheduleType type_ = ScheduleType::kConstant;
  double base_ = 0;  // optimizer.learning_rate
  int steps_per_epoch_ = 1;
  int64_t total_steps_ = 0;
  int64_t warmup_steps_ = 0;
  // With their defaults applied (0 = unset).
  int step_epochs_ = 0;
  double gamma_ = 0;
  double min_rate_ = 0;
  double pct_start_ = 0;
  double div_factor_ = 0;
  double final_div_factor_ = 0;
  std::string watched_metric_;
  std::string watched_figure_;
  bool higher_is_better_ = false;
  double factor_ = 0;
  int patience_ = 0;
  double min_delta_ = 0;
  int cooldown_ = 0;
};

}  // namespace mnemo

#endif  // MNEMO_CORE_LR_SCHEDULE_H_
