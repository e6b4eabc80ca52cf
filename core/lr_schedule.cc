#include "core/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/metrics.h"

namespace mnemo {
namespace {

constexpr double kPi = 3.14159265358979323846;

constexpr char kPrefix[] = "trainer.optimizer.schedule.";

// Zero means unset: the default.
double Or(float value, double fallback) { return value == 0 ? fallback : value; }

// OneCycleLR's anneal_strategy "cos": from `start` at pct 0 to `end` at 1.
double AnnealCos(double start, double end, double pct) {
  return end + (start - end) / 2.0 * (std::cos(kPi * pct) + 1);
}

}  // namespace

std::optional<ScheduleType> ParseScheduleType(absl::string_view name) {
  static const std::pair<absl::string_view, ScheduleType> kTypes[] = {
      {"", ScheduleType::kConstant},      {"constant", ScheduleType::kConstant},
      {"step", ScheduleType::kStep},      {"exponential", ScheduleType::kExponential},
      {"cosine", ScheduleType::kCosine},  {"one_cycle", ScheduleType::kOneCycle},
      {"plateau", ScheduleType::kPlateau}};
  for (const auto& [known, type] : kTypes) {
    if (name == known) return type;
  }
  return std::nullopt;
}

const char* ScheduleTypeNames() {
  return "constant, cosine, exponential, one_cycle, plateau, step";
}

absl::StatusOr<LearningRateSchedule> LearningRateSchedule::Create(const config::Optimizer& config,
                                                                  int steps_per_epoch, int epochs) {
  const config::LearningRateSchedule& c = config.schedule();
  std::optional<ScheduleType> type = ParseScheduleType(c.type());
  if (!type.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        kPrefix, "type \"", c.type(), "\" is unknown (known: ", ScheduleTypeNames(), ")"));
  }
  LearningRateSchedule s;
  s.type_ = *type;
  s.base_ = config.learning_rate();
  s.steps_per_epoch_ = std::max(steps_per_epoch, 1);
  s.total_steps_ = static_cast<int64_t>(s.steps_per_epoch_) * std::max(epochs, 0);
  s.step_epochs_ = c.step_epochs();
  s.gamma_ = Or(c.gamma(), s.type_ == ScheduleType::kStep ? 0.1 : 0.0);
  s.min_rate_ = c.min_learning_rate();
  s.pct_start_ = Or(c.pct_start(), 0.3);
  s.div_factor_ = Or(c.div_factor(), 25);
  s.final_div_factor_ = Or(c.final_div_factor(), 1e4);
  s.factor_ = Or(c.factor(), 0.1);
  s.patience_ = c.patience() == 0 ? 10 : c.patience();
  s.min_delta_ = c.min_delta();
  s.cooldown_ = c.cooldown();
  // CheckOptimizer refuses these; a config built in code that skipped it must
  // not divide by zero.
  if (s.type_ == ScheduleType::kStep && s.step_epochs_ <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(kPrefix, "step_epochs must be > 0 for step"));
  }
  if (s.type_ == ScheduleType::kExponential && !(s.gamma_ > 0)) {
    return absl::InvalidArgumentError(absl::StrCat(kPrefix, "gamma must be > 0 for exponential"));
  }
  if (s.type_ == ScheduleType::kPlateau) {
    s.watched_metric_ = c.metric().empty() ? "loss" : c.metric();
    s.watched_figure_ = ValidationFigure(s.watched_metric_);
    s.higher_is_better_ = HigherIsBetter(s.watched_metric_);
  }
  if (c.warmup_epochs() > 0) {
    const bool cosine = s.type_ == ScheduleType::kCosine;
    const std::string run =
        absl::StrCat(s.total_steps_, " (", epochs, " epochs of ", s.steps_per_epoch_, ")",
                     cosine ? "; cosine needs steps after the warm-up" : "");
    const double wanted =
        static_cast<double>(c.warmup_epochs()) * static_cast<double>(s.steps_per_epoch_);
    // Before rounding: a huge value would not fit the integer.
    if (!(wanted < static_cast<double>(s.total_steps_) + 1)) {
      return absl::InvalidArgumentError(absl::StrCat(kPrefix, "warmup_epochs ", c.warmup_epochs(),
                                                     " is longer than the run's steps, ", run));
    }
    s.warmup_steps_ = std::max<int64_t>(1, std::llround(wanted));
    if (cosine ? s.warmup_steps_ >= s.total_steps_ : s.warmup_steps_ > s.total_steps_) {
      return absl::InvalidArgumentError(absl::StrCat(kPrefix, "warmup_epochs ", c.warmup_epochs(),
                                                     " makes ", s.warmup_steps_,
                                                     " warm-up steps, but the run has ", run));
    }
  }
  if (s.type_ == ScheduleType::kOneCycle &&
      !(s.pct_start_ * static_cast<double>(s.total_steps_) > 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat(kPrefix, "pct_start ", s.pct_start_, " of the run's ", s.total_steps_,
                     " steps leaves the rise no step after the first: raise pct_start or "
                     "train more steps"));
  }
  return s;
}

double LearningRateSchedule::Rate(uint64_t step, absl::Span<const double> watched) const {
  const int64_t epoch = static_cast<int64_t>(step / steps_per_epoch_) + 1;  // 1-based
  double rate = base_;
  switch (type_) {
    case ScheduleType::kConstant:
      break;
    case ScheduleType::kStep:  // StepLR, closed form
      rate = base_ * std::pow(gamma_, static_cast<double>((epoch - 1) / step_epochs_));
      break;
    case ScheduleType::kExponential:  // ExponentialLR, closed form
      rate = base_ * std::pow(gamma_, static_cast<double>(epoch - 1));
      break;
    case ScheduleType::kCosine:  // CosineAnnealingLR's closed form after the warm-up
      if (static_cast<int64_t>(step) >= warmup_steps_) {
        const double t = static_cast<double>(static_cast<int64_t>(step) - warmup_steps_);
        const double t_max = static_cast<double>(total_steps_ - warmup_steps_);
        rate = min_rate_ + (base_ - min_rate_) * (1 + std::cos(kPi * t / t_max)) / 2;
      }
      break;
    case ScheduleType::kOneCycle:
      return OneCycleRate(step);
    case ScheduleType::kPlateau:
      return PlateauRate(epoch, watched);
  }
  if (static_cast<int64_t>(step) < warmup_steps_) {
    rate = rate * static_cast<double>(step + 1) / static_cast<double>(warmup_steps_);
  }
  return rate;
}

// OneCycleLR (two phases, anneal_strategy "cos", cycle_momentum=False): up
// from lr / div_factor to lr by step pct_start x total - 1, then down to
// lr / (div_factor x final_div_factor) at the last step.
double LearningRateSchedule::OneCycleRate(uint64_t step) const {
  const double initial = base_ / div_factor_;
  const double minimum = initial / final_div_factor_;
  const double rise_end = pct_start_ * static_cast<double>(total_steps_) - 1;
  const double end = static_cast<double>(total_steps_ - 1);
  const double t = static_cast<double>(step);
  if (t <= rise_end) return AnnealCos(initial, base_, t / rise_end);
  return AnnealCos(base_, minimum, (t - rise_end) / (end - rise_end));
}

// ReduceLROnPlateau (threshold_mode "abs" with threshold min_delta), stepped
// with each epoch's figure before `epoch`, replayed from the start: the
// rate, the best figure, the bad epochs and the cooldown are all functions
// of those figures.
double LearningRateSchedule::PlateauRate(int64_t epoch, absl::Span<const double> watched) const {
  // PyTorch leaves a cut smaller than this undone.
  constexpr double kEps = 1e-8;
  double rate = base_;
  double best = higher_is_better_ ? -std::numeric_limits<double>::infinity()
                                  : std::numeric_limits<double>::infinity();
  int bad_epochs = 0;
  int cooldown_left = 0;
  const size_t epochs_before = std::min(watched.size(), static_cast<size_t>(epoch - 1));
  for (size_t e = 0; e < epochs_before; ++e) {
    const double value = watched[e];
    const bool better = higher_is_better_ ? value > best + min_delta_ : value < best - min_delta_;
    if (better) {
      best = value;
      bad_epochs = 0;
    } else {
      ++bad_epochs;
    }
    if (cooldown_left > 0) {
      --cooldown_left;
      bad_epochs = 0;  // bad epochs in the cooldown do not count
    }
    if (bad_epochs > patience_) {
      const double cut = std::max(rate * factor_, min_rate_);
      if (rate - cut > kEps) rate = cut;
      cooldown_left = cooldown_;
      bad_epochs = 0;
    }
  }
  return rate;
}

}  // namespace mnemo
