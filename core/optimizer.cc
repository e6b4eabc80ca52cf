#include "core/optimizer.h"

#include <cmath>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/io/quote.h"

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
  Sgd(float learning_rate, float momentum, bool nesterov, float weight_decay)
      : lr_(learning_rate),
        momentum_(momentum),
        nesterov_(nesterov),
        weight_decay_(weight_decay) {}

  void Step(absl::Span<const ModelParameter> parameters) override {
    UpdateEach(parameters, [&](const ModelParameter& p) {
      auto value = p.value->array();
      const auto grad = p.gradient->array() + weight_decay_ * value;
      if (momentum_ == 0.0f) {
        value -= lr_ * grad;
        return;
      }
      auto velocity = states_.Get(p).slots[0].array();
      velocity = momentum_ * velocity + grad;
      if (nesterov_) {
        value -= lr_ * (grad + momentum_ * velocity);
      } else {
        value -= lr_ * velocity;
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
  const float lr_;
  const float momentum_;
  const bool nesterov_;
  const float weight_decay_;
  ParameterStates<1> states_;
};

// PyTorch's torch.optim.Adam (L2 weight decay added to the gradient, not
// AdamW; no amsgrad), with a step count per parameter as PyTorch keeps it:
//   g = grad + weight_decay * p
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g^2
//   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
class Adam : public Optimizer {
 public:
  Adam(float learning_rate, float beta1, float beta2, float epsilon,
       float weight_decay)
      : lr_(learning_rate),
        beta1_(beta1),
        beta2_(beta2),
        epsilon_(epsilon),
        weight_decay_(weight_decay) {}

  void Step(absl::Span<const ModelParameter> parameters) override {
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
      const float step_size = static_cast<float>(lr_ / bias_correction1);
      const float sqrt_bias_correction2 = static_cast<float>(std::sqrt(bias_correction2));

      auto value = p.value->array();
      const auto grad = p.gradient->array() + weight_decay_ * value;
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
  const float lr_;
  const float beta1_;
  const float beta2_;
  const float epsilon_;
  const float weight_decay_;
  ParameterStates<3, 2> states_;  // exp_avg, exp_avg_sq; step
};

}  // namespace

std::vector<FieldProblem> CheckOptimizer(const config::Optimizer& config) {
  constexpr char kPrefix[] = "trainer.optimizer.";
  std::vector<FieldProblem> problems;
  auto problem = [&](const char* field, const std::string& message) {
    problems.push_back({absl::StrCat(kPrefix, field), absl::StrCat(kPrefix, field, " ", message)});
  };
  // A bound a value must be within; NaN and the infinities fail every one,
  // and the message says "finite" only when that is what failed.
  auto check = [&](const char* field, float value, bool in_range, const char* requirement) {
    if (!std::isfinite(value)) {
      problem(field, absl::StrCat("must be finite and ", requirement, ", not ", value));
    } else if (!in_range) {
      problem(field, absl::StrCat("must be ", requirement, ", not ", value));
    }
  };

  const std::string& type = config.type();
  const bool is_sgd = type == "sgd";
  const bool is_adam = type == "adam";
  if (type.empty()) {
    problem("type", "is required (adam or sgd)");
  } else if (!is_sgd && !is_adam) {
    problems.push_back(
        {absl::StrCat(kPrefix, "type"),
         absl::StrCat("unknown optimizer type ", QuoteValue(type), " (known types: adam, sgd)")});
  }
  check("learning_rate", config.learning_rate(), config.learning_rate() > 0, "> 0");
  check("weight_decay", config.weight_decay(), config.weight_decay() >= 0, ">= 0");
  check("momentum", config.momentum(), config.momentum() >= 0 && config.momentum() < 1,
        "in [0, 1)");
  check("beta1", config.beta1(), config.beta1() >= 0 && config.beta1() < 1, "in [0, 1)");
  check("beta2", config.beta2(), config.beta2() >= 0 && config.beta2() < 1, "in [0, 1)");
  check("epsilon", config.epsilon(), config.epsilon() >= 0, "> 0 (0 = the default 1e-8)");
  if (config.nesterov() && !(config.momentum() > 0)) {
    problem("nesterov", absl::StrCat("requires momentum > 0, not ", config.momentum()));
  }
  // A field the chosen type ignores is almost always a mistake (momentum
  // written for Adam, betas for SGD): refuse it rather than train silently
  // without it.
  if (is_adam) {
    if (config.momentum() != 0) problem("momentum", "applies to sgd only; adam uses beta1");
    if (config.nesterov()) problem("nesterov", "applies to sgd only");
  }
  if (is_sgd) {
    for (const auto& [field, value] : {std::pair<const char*, float>{"beta1", config.beta1()},
                                       {"beta2", config.beta2()},
                                       {"epsilon", config.epsilon()}}) {
      if (value != 0) problem(field, "applies to adam only");
    }
  }
  return problems;
}

absl::StatusOr<std::unique_ptr<Optimizer>> CreateOptimizer(const config::Optimizer& config) {
  const std::vector<FieldProblem> problems = CheckOptimizer(config);
  if (!problems.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(
        problems, "; ", [](std::string* out, const FieldProblem& p) { out->append(p.message); }));
  }
  const bool is_sgd = config.type() == "sgd";
  if (is_sgd) {
    return std::make_unique<Sgd>(config.learning_rate(), config.momentum(),
                                 config.nesterov(), config.weight_decay());
  }
  // Zero means unset: PyTorch's defaults.
  const float beta1 = config.beta1() == 0 ? 0.9f : config.beta1();
  const float beta2 = config.beta2() == 0 ? 0.999f : config.beta2();
  const float epsilon = config.epsilon() == 0 ? 1e-8f : config.epsilon();
  return std::make_unique<Adam>(config.learning_rate(), beta1, beta2, epsilon,
                                config.weight_decay());
}

}  // namespace mnemo
