#include "core/optimizer.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/field_range.h"
#include "core/io/quote.h"
#include "core/lr_schedule.h"
#include "core/metrics.h"

namespace mnemo {
namespace {

// Per-parameter state, created the first time a parameter is stepped: kSlots
// tensors, the first kShaped shaped like the parameter (moments), the rest
// 1x1 (counters). Keyed by the parameter's tensor, so two parameters that
// share a name still get their own state.
template <int kSlots, int kShaped = kSlots>
class ParameterStates {
 public:
  struct State {
    std::string key_prefix;  // "<parameter name>."
    Tensor slots[kSlots];
  };

  State& Get(const ModelParameter& parameter) {
    auto it = index_.find(parameter.value);
    if (it == index_.end()) {
      it = index_.emplace(parameter.value, states_.size()).first;
      states_.push_back(std::make_unique<State>());
      State& state = *states_.back();
      state.key_prefix = absl::StrCat(parameter.name, ".");
      for (int s = kShaped; s < kSlots; ++s) state.slots[s].setZero(1, 1);
    }
    State& state = *states_[it->second];
    for (int s = 0; s < kShaped; ++s) {
      Tensor& slot = state.slots[s];
      // Zero-filled when new; a parameter that changed shape starts over.
      if (slot.rows() != parameter.value->rows() || slot.cols() != parameter.value->cols()) {
        slot.setZero(parameter.value->rows(), parameter.value->cols());
      }
    }
    return state;
  }

  void CreateAll(absl::Span<const ModelParameter> parameters) {
    for (const ModelParameter& parameter : parameters) Get(parameter);
  }

  // Every slot as "<parameter name>.<slot name>", in the order the parameters
  // were first stepped.
  std::vector<std::pair<std::string, Tensor*>> Export(const char* const (&slot_names)[kSlots]) {
    std::vector<std::pair<std::string, Tensor*>> out;
    for (const auto& state : states_) {
      for (int s = 0; s < kSlots; ++s) {
        out.emplace_back(absl::StrCat(state->key_prefix, slot_names[s]), &state->slots[s]);
      }
    }
    return out;
  }

 private:
  std::unordered_map<const Tensor*, size_t> index_;
  std::vector<std::unique_ptr<State>> states_;  // stable addresses for State()
};

// Calls `update(parameter)` for every parameter, then tells their layers.
template <typename Update>
void UpdateEach(absl::Span<const ModelParameter> parameters, Update update) {
  for (const ModelParameter& parameter : parameters) update(parameter);
  // A layer's parameters are adjacent in the list; telling a layer twice is
  // harmless (its version changes again).
  const Layer* told = nullptr;
  for (const ModelParameter& parameter : parameters) {
    if (parameter.layer != nullptr && parameter.layer != told) {
      parameter.layer->MarkParametersUpdated();
      told = parameter.layer;
    }
  }
}

// PyTorch's torch.optim.SGD with dampening 0:
//   g = grad + weight_decay * p
//   v = momentum * v + g                  (v starts at 0, so v1 = g1)
//   p -= lr * (nesterov ? g + momentum * v : v)
class Sgd : public Optimizer {
 public:
  explicit Sgd(const config::Optimizer& config)
      : Optimizer(config),
        momentum_(config.momentum()),
        nesterov_(config.nesterov()),
        weight_decay_(config.weight_decay()) {}

  void Step(absl::Span<const ModelParameter> parameters) override {
    // PyTorch scales by the rate as a float (add_'s alpha).
    const float lr = static_cast<float>(learning_rate());
    UpdateEach(parameters, [&](const ModelParameter& p) {
      auto value = p.value->array();
      const auto grad = p.gradient->array() + weight_decay_ * value;
      if (momentum_ == 0.0f) {
        value -= lr * grad;
        return;
      }
      auto velocity = states_.Get(p).slots[0].array();
      velocity = momentum_ * velocity + grad;
      if (nesterov_) {
        value -= lr * (grad + momentum_ * velocity);
      } else {
        value -= lr * velocity;
      }
    });
  }

  void CreateState(absl::Span<const ModelParameter> parameters) override {
    // Plain SGD keeps nothing.
    if (momentum_ != 0.0f) states_.CreateAll(parameters);
  }

  std::vector<std::pair<std::string, Tensor*>> State() override {
    static const char* const kNames[1] = {"momentum"};
    return states_.Export(kNames);
  }

 private:
  const float momentum_;
  const bool nesterov_;
  const float weight_decay_;
  ParameterStates<1> states_;
};

// PyTorch's torch.optim.Adam (no amsgrad), with a step count per parameter
// as PyTorch keeps it:
//   g = grad + weight_decay * p
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g^2
//   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// and, `decoupled`, torch.optim.AdamW: the decay leaves the gradient alone
// and shrinks the parameter before the step instead,
//   p *= 1 - lr * weight_decay;  g = grad
// The state is the same (and so named the same) either way.
class Adam : public Optimizer {
 public:
  Adam(const config::Optimizer& config, bool decoupled)
      : Optimizer(config),
        // Zero means unset: PyTorch's defaults.
        beta1_(config.beta1() == 0 ? 0.9f : config.beta1()),
        beta2_(config.beta2() == 0 ? 0.999f : config.beta2()),
        epsilon_(config.epsilon() == 0 ? 1e-8f : config.epsilon()),
        weight_decay_(decoupled && config.weight_decay() == 0 ? 0.01f : config.weight_decay()),
        decoupled_(decoupled) {}

  void Step(absl::Span<const ModelParameter> parameters) override {
    const double lr = learning_rate();
    // AdamW's factor, computed in double and applied as a float, as
    // PyTorch's mul_ with a Python number is.
    const float decay = static_cast<float>(1.0 - lr * static_cast<double>(weight_decay_));
    // The coupled decay added to the gradient.
    const float l2 = decoupled_ ? 0.0f : weight_decay_;
    UpdateEach(parameters, [&](const ModelParameter& p) {
      auto& state = states_.Get(p);
      // The step count is a 1x1 tensor so that snapshots carry it with the
      // moments. A float counts exactly to 2^24 steps; by then both bias
      // corrections are 1 to float precision for any beta < 1 - 1e-6.
      Tensor& step_tensor = state.slots[2];
      const double step = static_cast<double>(step_tensor(0, 0)) + 1.0;
      step_tensor(0, 0) = static_cast<float>(step);
      // Scalars in double, as PyTorch computes them in Python.
      const double bias_correction1 = 1.0 - std::pow(static_cast<double>(beta1_), step);
      const double bias_correction2 = 1.0 - std::pow(static_cast<double>(beta2_), step);
      const float step_size = static_cast<float>(lr / bias_correction1);
      const float sqrt_bias_correction2 = static_cast<float>(std::sqrt(bias_correction2));

      auto value = p.value->array();
      if (decoupled_) value *= decay;
      const auto grad = p.gradient->array() + l2 * value;
      auto m = state.slots[0].array();
      auto v = state.slots[1].array();
      m = beta1_ * m + (1.0f - beta1_) * grad;
      v = beta2_ * v + (1.0f - beta2_) * grad.square();
      value -= step_size * m / (v.sqrt() / sqrt_bias_correction2 + epsilon_);
    });
  }

  void CreateState(absl::Span<const ModelParameter> parameters) override {
    states_.CreateAll(parameters);
  }

  std::vector<std::pair<std::string, Tensor*>> State() override {
    static const char* const kNames[3] = {"exp_avg", "exp_avg_sq", "step"};
    return states_.Export(kNames);
  }

 private:
  const float beta1_;
  const float beta2_;
  const float epsilon_;
  const float weight_decay_;
  const bool decoupled_;
  ParameterStates<3, 2> states_;  // exp_avg, exp_avg_sq; step
};

// Problems of a message's fields, each named "<prefix><field>".
class ProblemList {
 public:
  explicit ProblemList(const char* prefix) : prefix_(prefix) {}

  // "<prefix><field> <message>".
  void Add(const char* field, const std::string& message) {
    problems_.push_back({absl::StrCat(prefix_, field), absl::StrCat(prefix_, field, " ", message)});
  }
  // A message of its own, still at the field.
  void AddMessage(const char* field, const std::string& message) {
    problems_.push_back({absl::StrCat(prefix_, field), message});
  }
  // A bound a value must be within; NaN and the infinities fail every one,
  // and the message says "finite" only when that is what failed.
  void Check(const char* field, float value, bool in_range, const char* requirement) {
    if (!std::isfinite(value)) {
      Add(field, absl::StrCat("must be finite and ", requirement, ", not ", value));
    } else if (!in_range) {
      Add(field, absl::StrCat("must be ", requirement, ", not ", value));
    }
  }

  std::vector<FieldProblem> Take() && { return std::move(problems_); }

 private:
  const char* prefix_;
  std::vector<FieldProblem> problems_;
};

// trainer.optimizer.schedule against the base rate `learning_rate`.
void CheckSchedule(const config::LearningRateSchedule& s, float learning_rate,
                   std::vector<FieldProblem>* out) {
  ProblemList problems("trainer.optimizer.schedule.");
  const std::optional<ScheduleType> type = ParseScheduleType(s.type());
  if (!type.has_value()) {
    problems.AddMessage("type", absl::StrCat("unknown schedule type ", QuoteValue(s.type()),
                                             " (known types: ", ScheduleTypeNames(), ")"));
  }
  // With an unknown type only the values are checked, not who reads them.
  auto reads = [&](std::initializer_list<ScheduleType> readers) {
    return !type.has_value() || std::find(readers.begin(), readers.end(), *type) != readers.end();
  };
  using T = ScheduleType;
  // Each field: whether the type reads it, whom to name when it does not.
  struct Field {
    const char* name;
    bool set;
    bool read;
    const char* readers;
  };
  const Field fields[] = {
      {"warmup_epochs", s.warmup_epochs() != 0,
       reads({T::kConstant, T::kStep, T::kExponential, T::kCosine}),
       "constant, step, exponential and cosine"},
      {"step_epochs", s.step_epochs() != 0, reads({T::kStep}), "step"},
      {"gamma", s.gamma() != 0, reads({T::kStep, T::kExponential}), "step and exponential"},
      {"min_learning_rate", s.min_learning_rate() != 0, reads({T::kCosine, T::kPlateau}),
       "cosine and plateau"},
      {"pct_start", s.pct_start() != 0, reads({T::kOneCycle}), "one_cycle"},
      {"div_factor", s.div_factor() != 0, reads({T::kOneCycle}), "one_cycle"},
      {"final_div_factor", s.final_div_factor() != 0, reads({T::kOneCycle}), "one_cycle"},
      {"metric", !s.metric().empty(), reads({T::kPlateau}), "plateau"},
      {"factor", s.factor() != 0, reads({T::kPlateau}), "plateau"},
      {"patience", s.patience() != 0, reads({T::kPlateau}), "plateau"},
      {"min_delta", s.min_delta() != 0, reads({T::kPlateau}), "plateau"},
      {"cooldown", s.cooldown() != 0, reads({T::kPlateau}), "plateau"},
  };
  // A field the type ignores is almost always a mistake (gamma written for
  // cosine): refuse it rather than train silently without it.
  for (const Field& f : fields) {
    if (f.set && !f.read) {
      problems.Add(f.name, absl::StrCat("applies to ", f.readers, " only, not ",
                                        s.type().empty() ? "constant" : s.type()));
    }
  }
  problems.Check("warmup_epochs", s.warmup_epochs(), s.warmup_epochs() >= 0, ">= 0");
  if (type == T::kStep && s.step_epochs() == 0) {
    problems.Add("step_epochs", "is required for step (the epochs between two cuts)");
  }
  if (type == T::kExponential && s.gamma() == 0) {
    problems.Add("gamma", "is required for exponential (the factor of each epoch)");
  } else if (s.gamma() != 0) {
    problems.Check("gamma", s.gamma(), s.gamma() > 0 && s.gamma() <= 1, "in (0, 1]");
  }
  // Below the base rate, when that is valid itself (else its own problem).
  const bool base_valid = std::isfinite(learning_rate) && learning_rate > 0;
  problems.Check(
      "min_learning_rate", s.min_learning_rate(),
      s.min_learning_rate() >= 0 && (!base_valid || s.min_learning_rate() < learning_rate),
      absl::StrCat(">= 0 and below trainer.optimizer.learning_rate (", learning_rate, ")").c_str());
  problems.Check("pct_start", s.pct_start(), s.pct_start() >= 0 && s.pct_start() < 1,
                 "in (0, 1) (0 = the default 0.3)");
  problems.Check("div_factor", s.div_factor(), s.div_factor() == 0 || s.div_factor() >= 1,
                 ">= 1 (0 = the default 25)");
  problems.Check("final_div_factor", s.final_div_factor(),
                 s.final_div_factor() == 0 || s.final_div_factor() >= 1,
                 ">= 1 (0 = the default 1e4)");
  const std::vector<std::string>& known = WatchableFigures();
  if (!s.metric().empty() && std::find(known.begin(), known.end(), s.metric()) == known.end()) {
    problems.Add("metric", absl::StrCat(QuoteValue(s.metric()),
                                        " is unknown (known: ", absl::StrJoin(known, ", "), ")"));
  }
  problems.Check("factor", s.factor(), s.factor() >= 0 && s.factor() < 1,
                 "in (0, 1) (0 = the default 0.1)");
  problems.Check("min_delta", s.min_delta(), s.min_delta() >= 0, ">= 0");
  for (FieldProblem& problem : std::move(problems).Take()) out->push_back(std::move(problem));
}

}  // namespace

std::vector<FieldProblem> CheckOptimizer(const config::Optimizer& config) {
  ProblemList problems("trainer.optimizer.");
  const std::string& type = config.type();
  const bool is_sgd = type == "sgd";
  const bool is_adam = type == "adam" || type == "adamw";
  if (type.empty()) {
    problems.Add("type", "is required (adam, adamw or sgd)");
  } else if (!is_sgd && !is_adam) {
    problems.AddMessage("type", absl::StrCat("unknown optimizer type ", QuoteValue(type),
                                             " (known types: adam, adamw, sgd)"));
  }
  problems.Check("learning_rate", config.learning_rate(), config.learning_rate() > 0, "> 0");
  problems.Check("weight_decay", config.weight_decay(), config.weight_decay() >= 0,
                 type == "adamw" ? ">= 0 (0 = the default 0.01)" : ">= 0");
  problems.Check("momentum", config.momentum(), config.momentum() >= 0 && config.momentum() < 1,
                 "in [0, 1)");
  problems.Check("beta1", config.beta1(), config.beta1() >= 0 && config.beta1() < 1, "in [0, 1)");
  problems.Check("beta2", config.beta2(), config.beta2() >= 0 && config.beta2() < 1, "in [0, 1)");
  problems.Check("epsilon", config.epsilon(), config.epsilon() >= 0, "> 0 (0 = the default 1e-8)");
  problems.Check("clip_value", config.clip_value(), config.clip_value() >= 0,
                 "> 0 (0 = no clipping)");
  problems.Check("clip_global_norm", config.clip_global_norm(), config.clip_global_norm() >= 0,
                 "> 0 (0 = no clipping)");
  if (config.nesterov() && !(config.momentum() > 0)) {
    problems.Add("nesterov", absl::StrCat("requires momentum > 0, not ", config.momentum()));
  }
  // A field the chosen type ignores is almost always a mistake (momentum
  // written for Adam, betas for SGD): refuse it rather than train silently
  // without it.
  if (is_adam) {
    if (config.momentum() != 0) {
      problems.Add("momentum", absl::StrCat("applies to sgd only; ", type, " uses beta1"));
    }
    if (config.nesterov()) problems.Add("nesterov", "applies to sgd only");
  }
  if (is_sgd) {
    for (const auto& [field, value] : {std::pair<const char*, float>{"beta1", config.beta1()},
                                       {"beta2", config.beta2()},
                                       {"epsilon", config.epsilon()}}) {
      if (value != 0) problems.Add(field, "applies to adam and adamw only");
    }
  }
  std::vector<FieldProblem> out = std::move(problems).Take();
  CheckSchedule(config.schedule(), config.learning_rate(), &out);
  return out;
}

absl::StatusOr<std::unique_ptr<Optimizer>> CreateOptimizer(const config::Optimizer& config) {
  // The schema's ranges too: a config built in code has not been through
  // the config loader's CheckRanges.
  std::vector<FieldProblem> problems = CheckRanges(config, "trainer.optimizer");
  for (FieldProblem& problem : CheckOptimizer(config)) problems.push_back(std::move(problem));
  if (!problems.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(
        problems, "; ", [](std::string* out, const FieldProblem& p) { out->append(p.message); }));
  }
  if (config.type() == "sgd") return std::make_unique<Sgd>(config);
  return std::make_unique<Adam>(config, /*decoupled=*/config.type() == "adamw");
}

}  // namespace mnemo
