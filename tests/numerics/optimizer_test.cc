// SGD (plain, momentum, Nesterov, weight decay), Adam and AdamW against
// steps worked out by hand with PyTorch's formulas (and PyTorch's own
// AdamW); the rate set per step; frozen layers; config validation, the
// schedule's and clipping's fields among it.
#include "core/optimizer.h"

#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/config.pb.h"
#include "core/layers/activations.h"
#include "core/layers/dense.h"
#include "core/network.h"

namespace mnemo {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A network of one Dense(1 -> 1) named "only" whose weight and bias both
// start at 1, so each follows the same scalar trajectory.
std::unique_ptr<Network> ScalarNetwork() {
  auto dense = std::make_unique<Dense>(1, 1);
  dense->set_name("only");
  dense->weight().setConstant(1.0f);
  dense->bias().setConstant(1.0f);
  std::vector<std::unique_ptr<Layer>> layers;
  layers.push_back(std::move(dense));
  absl::StatusOr<std::unique_ptr<Network>> network = Network::Create(std::move(layers));
  EXPECT_TRUE(network.ok()) << network.status();
  return std::move(*network);
}

std::unique_ptr<Optimizer> MakeOptimizer(const config::Optimizer& config) {
  absl::StatusOr<std::unique_ptr<Optimizer>> optimizer = CreateOptimizer(config);
  EXPECT_TRUE(optimizer.ok()) << optimizer.status();
  return optimizer.ok() ? std::move(*optimizer) : nullptr;
}

// Steps `config` with gradients 0.5, -1, 0.25 and checks the parameter after
// each step.
void ExpectTrajectory(const config::Optimizer& config, const std::vector<double>& expected) {
  std::unique_ptr<Network> network = ScalarNetwork();
  std::unique_ptr<Optimizer> optimizer = MakeOptimizer(config);
  ASSERT_NE(optimizer, nullptr);
  const std::vector<float> gradients = {0.5f, -1.0f, 0.25f};
  ASSERT_EQ(expected.size(), gradients.size());
  for (size_t step = 0; step < gradients.size(); ++step) {
    for (const ModelParameter& p : network->TrainableParameters()) {
      p.gradient->setConstant(gradients[step]);
    }
    optimizer->Step(*network);
    for (const ModelParameter& p : network->TrainableParameters()) {
      EXPECT_NEAR((*p.value)(0, 0), expected[step], 1e-6)
          << p.name << " after step " << step + 1;
    }
  }
}

config::Optimizer Sgd(float lr, float momentum = 0, bool nesterov = false,
                      float weight_decay = 0) {
  config::Optimizer config;
  config.set_type("sgd");
  config.set_learning_rate(lr);
  config.set_momentum(momentum);
  config.set_nesterov(nesterov);
  config.set_weight_decay(weight_decay);
  return config;
}

TEST(SgdTest, Plain) {
  // p -= 0.1 g
  ExpectTrajectory(Sgd(0.1f), {0.95, 1.05, 1.025});
}

TEST(SgdTest, WeightDecayAddsL2ToTheGradient) {
  // g' = g + 0.1 p: 0.5 + 0.1 = 0.6 -> 0.94; -1 + 0.094 -> 1.0306; ...
  ExpectTrajectory(Sgd(0.1f, 0, false, 0.1f), {0.94, 1.0306, 0.995294});
}

TEST(SgdTest, Momentum) {
  // v = 0.9 v + g: 0.5, -0.55, -0.245; p -= 0.1 v
  ExpectTrajectory(Sgd(0.1f, 0.9f), {0.95, 1.005, 1.0295});
}

TEST(SgdTest, Nesterov) {
  // p -= 0.1 (g + 0.9 v): 1 - 0.1 (0.5 + 0.45) = 0.905; ...
  ExpectTrajectory(Sgd(0.1f, 0.9f, true), {0.905, 1.0545, 1.05155});
}

TEST(SgdTest, MomentumWithWeightDecay) {
  ExpectTrajectory(Sgd(0.1f, 0.9f, false, 0.01f), {0.949, 1.002151, 1.023984749});
}

TEST(AdamTest, DefaultsFollowPyTorch) {
  config::Optimizer config;
  config.set_type("adam");
  config.set_learning_rate(0.01f);
  // The first step moves each parameter by lr against the gradient's sign
  // (m^ / sqrt(v^) = g / |g|): 1 -> 0.99.
  ExpectTrajectory(config, {0.9900000002, 0.9936610354240566, 0.9950279420338977});
}

TEST(AdamTest, ExplicitBetasEpsilonAndWeightDecay) {
  config::Optimizer config;
  config.set_type("adam");
  config.set_learning_rate(0.01f);
  config.set_beta1(0.5f);
  config.set_beta2(0.9f);
  config.set_epsilon(1e-3f);
  config.set_weight_decay(0.1f);
  ExpectTrajectory(config, {0.9900166389351082, 0.995192074619473, 0.9947616798724513});
}

config::Optimizer AdamW(float lr) {
  config::Optimizer config;
  config.set_type("adamw");
  config.set_learning_rate(lr);
  return config;
}

TEST(AdamWTest, DecaysTheParameterBeforeAdamsStep) {
  // By hand, step 1: p = 1 x (1 - 0.01 x 0.01) = 0.9999 (the default decay
  // 0.01), then Adam's first step moves it by lr against the gradient's
  // sign: 0.9899. The three steps are torch.optim.AdamW(lr=0.01)'s.
  ExpectTrajectory(AdamW(0.01f), {0.9898999929428101, 0.9934620261192322, 0.9947295784950256});
}

TEST(AdamWTest, ExplicitBetasEpsilonAndWeightDecay) {
  config::Optimizer config = AdamW(0.01f);
  config.set_beta1(0.5f);
  config.set_beta2(0.9f);
  config.set_epsilon(1e-3f);
  config.set_weight_decay(0.1f);
  // Step 1 by hand: p = 0.999, m^ = 0.5, sqrt(v^) = 0.5:
  // 0.999 - 0.01 x 0.5 / (0.5 + 1e-3) = 0.98901996. Then PyTorch's AdamW.
  ExpectTrajectory(config, {0.9890199899673462, 0.9942502379417419, 0.9943437576293945});
}

// Dense(2->3) -> ReLU -> frozen Dense(3->1).
struct TwoDense {
  std::unique_ptr<Network> network;
  Dense* first;
  ReLU* relu;
  Dense* second;
};

TwoDense MakeTwoDense() {
  TwoDense t;
  auto first = std::make_unique<Dense>(2, 3);
  auto relu = std::make_unique<ReLU>(3);
  auto second = std::make_unique<Dense>(3, 1);
  first->set_name("first");
  relu->set_name("act");
  second->set_name("second");
  second->set_trainable(false);
  t.first = first.get();
  t.relu = relu.get();
  t.second = second.get();
  for (Dense* d : {t.first, t.second}) {
    for (const Parameter& p : d->parameters()) {
      p.value->setConstant(0.5f);
      p.gradient->setConstant(1.0f);
    }
  }
  std::vector<std::unique_ptr<Layer>> layers;
  layers.push_back(std::move(first));
  layers.push_back(std::move(relu));
  layers.push_back(std::move(second));
  t.network = std::move(*Network::Create(std::move(layers)));
  return t;
}

TEST(OptimizerTest, FrozenLayerIsUntouchedAndVersionsBumpOnlyWhenUpdated) {
  for (const config::Optimizer& config :
       {Sgd(0.1f), Sgd(0.1f, 0.9f, true, 0.1f), [] {
          config::Optimizer c;
          c.set_type("adam");
          c.set_learning_rate(0.1f);
          return c;
        }()}) {
    TwoDense t = MakeTwoDense();
    std::unique_ptr<Optimizer> optimizer = MakeOptimizer(config);
    ASSERT_NE(optimizer, nullptr);
    const uint64_t first_version = t.first->parameter_version();
    const uint64_t relu_version = t.relu->parameter_version();
    const uint64_t second_version = t.second->parameter_version();

    optimizer->Step(*t.network);

    EXPECT_TRUE((t.first->weight().array() < 0.5f).all()) << config.DebugString();
    EXPECT_TRUE((t.first->bias().array() < 0.5f).all()) << config.DebugString();
    EXPECT_NE(t.first->parameter_version(), first_version);
    EXPECT_EQ(t.relu->parameter_version(), relu_version);
    EXPECT_TRUE((t.second->weight().array() == 0.5f).all()) << config.DebugString();
    EXPECT_TRUE((t.second->bias().array() == 0.5f).all()) << config.DebugString();
    EXPECT_EQ(t.second->parameter_version(), second_version);

    // Every step is a new version.
    const uint64_t after_one = t.first->parameter_version();
    optimizer->Step(*t.network);
    EXPECT_NE(t.first->parameter_version(), after_one);

    // No state for the frozen layer.
    for (const auto& [key, tensor] : optimizer->State()) {
      EXPECT_THAT(key, Not(HasSubstr("second"))) << key;
    }
  }
}

TEST(OptimizerTest, StateIsKeyedByLayerParameterAndSlot) {
  TwoDense t = MakeTwoDense();
  std::unique_ptr<Optimizer> plain = MakeOptimizer(Sgd(0.1f));
  plain->Step(*t.network);
  EXPECT_TRUE(plain->State().empty());  // plain SGD keeps nothing

  std::unique_ptr<Optimizer> momentum = MakeOptimizer(Sgd(0.1f, 0.5f));
  momentum->Step(*t.network);
  std::map<std::string, Tensor*> state;
  for (const auto& [key, tensor] : momentum->State()) state[key] = tensor;
  ASSERT_EQ(state.size(), 2u);
  ASSERT_TRUE(state.count("first.weight.momentum"));
  ASSERT_TRUE(state.count("first.bias.momentum"));
  // v1 = g = 1.
  EXPECT_TRUE((state["first.weight.momentum"]->array() == 1.0f).all());
  EXPECT_EQ(state["first.weight.momentum"]->rows(), 2);
  EXPECT_EQ(state["first.weight.momentum"]->cols(), 3);

  config::Optimizer adam_config;
  adam_config.set_type("adam");
  adam_config.set_learning_rate(0.1f);
  std::unique_ptr<Optimizer> adam = MakeOptimizer(adam_config);
  adam->Step(*t.network);
  adam->Step(*t.network);
  state.clear();
  for (const auto& [key, tensor] : adam->State()) state[key] = tensor;
  ASSERT_EQ(state.size(), 6u);
  for (const char* parameter : {"first.weight.", "first.bias."}) {
    const std::string prefix = parameter;
    ASSERT_TRUE(state.count(prefix + "exp_avg")) << prefix;
    ASSERT_TRUE(state.count(prefix + "exp_avg_sq")) << prefix;
    ASSERT_TRUE(state.count(prefix + "step")) << prefix;
    EXPECT_EQ((*state[prefix + "step"])(0, 0), 2.0f);
    // Constant gradient 1: m = 1 - 0.9^2, v = 1 - 0.999^2.
    EXPECT_NEAR((*state[prefix + "exp_avg"])(0, 0), 0.19f, 1e-6f);
    EXPECT_NEAR((*state[prefix + "exp_avg_sq"])(0, 0), 0.001999f, 1e-7f);
  }
}

TEST(AdamWTest, KeepsAdamsStateNamesSoSnapshotsTakeIt) {
  std::map<std::string, std::pair<int, int>> names[2];
  int i = 0;
  for (const config::Optimizer& config : {AdamW(0.1f), [] {
                                            config::Optimizer c = AdamW(0.1f);
                                            c.set_type("adam");
                                            return c;
                                          }()}) {
    TwoDense t = MakeTwoDense();
    std::unique_ptr<Optimizer> optimizer = MakeOptimizer(config);
    ASSERT_NE(optimizer, nullptr);
    optimizer->Step(*t.network);
    for (const auto& [key, tensor] : optimizer->State()) {
      names[i][key] = {static_cast<int>(tensor->rows()), static_cast<int>(tensor->cols())};
    }
    ++i;
  }
  EXPECT_EQ(names[0].size(), 6u);
  EXPECT_EQ(names[0], names[1]);
}

TEST(OptimizerTest, StepsAtTheRateSetLast) {
  // The trainer sets each step's rate from the schedule.
  for (const config::Optimizer& config : {Sgd(0.1f), Sgd(0.1f, 0.9f), AdamW(0.1f)}) {
    SCOPED_TRACE(config.DebugString());
    std::unique_ptr<Network> network = ScalarNetwork();
    std::unique_ptr<Optimizer> optimizer = MakeOptimizer(config);
    ASSERT_NE(optimizer, nullptr);
    EXPECT_EQ(optimizer->learning_rate(), 0.1f);  // the config's until set
    optimizer->set_learning_rate(0.025);
    for (const ModelParameter& p : network->TrainableParameters()) p.gradient->setConstant(0.5f);
    optimizer->Step(*network);
    // SGD (v1 = g): 1 - 0.025 x 0.5. AdamW: 1 x (1 - 0.025 x 0.01) - 0.025.
    const double expected = config.type() == "sgd" ? 0.9875 : 0.99975 - 0.025;
    for (const ModelParameter& p : network->TrainableParameters()) {
      EXPECT_NEAR((*p.value)(0, 0), expected, 1e-6) << p.name;
    }
  }
}

// Each invalid config is refused with a message naming the field.
TEST(CreateOptimizerTest, RejectsInvalidConfigs) {
  struct Case {
    config::Optimizer config;
    std::string message;
  };
  std::vector<Case> cases;
  auto add = [&](auto edit, std::string message) {
    config::Optimizer config = Sgd(0.1f);
    edit(config);
    cases.push_back({config, std::move(message)});
  };
  add([](config::Optimizer& c) { c.set_learning_rate(0); },
      "trainer.optimizer.learning_rate must be > 0, not 0");
  add([](config::Optimizer& c) { c.set_learning_rate(-1); },
      "trainer.optimizer.learning_rate must be > 0, not -1");
  add([](config::Optimizer& c) { c.set_type("rmsprop"); },
      "unknown optimizer type \"rmsprop\" (known types: adam, adamw, sgd)");
  add([](config::Optimizer& c) { c.clear_type(); }, "trainer.optimizer.type is required");
  add([](config::Optimizer& c) { c.set_momentum(1); },
      "trainer.optimizer.momentum must be in [0, 1), not 1");
  add([](config::Optimizer& c) { c.set_momentum(-0.5f); },
      "trainer.optimizer.momentum must be in [0, 1)");
  add([](config::Optimizer& c) { c.set_nesterov(true); },
      "trainer.optimizer.nesterov requires momentum > 0");
  add([](config::Optimizer& c) { c.set_weight_decay(-0.1f); },
      "trainer.optimizer.weight_decay must be >= 0");
  add([](config::Optimizer& c) { c.set_beta1(0.9f); },
      "trainer.optimizer.beta1 applies to adam and adamw only");
  add(
      [](config::Optimizer& c) {
        c.set_type("adam");
        c.set_beta1(1.0f);
      },
      "trainer.optimizer.beta1 must be in [0, 1), not 1");
  add(
      [](config::Optimizer& c) {
        c.set_type("adam");
        c.set_beta2(-0.1f);
      },
      "trainer.optimizer.beta2 must be in [0, 1)");
  add(
      [](config::Optimizer& c) {
        c.set_type("adam");
        c.set_epsilon(-1);
      },
      "trainer.optimizer.epsilon must be > 0");
  add(
      [](config::Optimizer& c) {
        c.set_type("adam");
        c.set_momentum(0.9f);
      },
      "trainer.optimizer.momentum applies to sgd only");
  // Not finite: said so, never "must be > 0 (got inf)".
  add([](config::Optimizer& c) { c.set_learning_rate(INFINITY); },
      "trainer.optimizer.learning_rate must be finite and > 0, not inf");
  add([](config::Optimizer& c) { c.set_momentum(NAN); },
      "trainer.optimizer.momentum must be finite and in [0, 1), not nan");
  add([](config::Optimizer& c) { c.set_weight_decay(INFINITY); },
      "trainer.optimizer.weight_decay must be finite and >= 0, not inf");
  add(
      [](config::Optimizer& c) {
        c.set_type("adam");
        c.set_epsilon(-INFINITY);
      },
      "trainer.optimizer.epsilon must be finite and > 0 (0 = the default 1e-8), not -inf");
  add(
      [](config::Optimizer& c) {
        c.set_type("adamw");
        c.set_momentum(0.9f);
      },
      "trainer.optimizer.momentum applies to sgd only; adamw uses beta1");
  add(
      [](config::Optimizer& c) {
        c.set_type("adamw");
        c.set_weight_decay(-1);
      },
      "trainer.optimizer.weight_decay must be >= 0 (0 = the default 0.01), not -1");
  // Clipping.
  add([](config::Optimizer& c) { c.set_clip_value(-1); },
      "trainer.optimizer.clip_value must be > 0 (0 = no clipping), not -1");
  add([](config::Optimizer& c) { c.set_clip_global_norm(NAN); },
      "trainer.optimizer.clip_global_norm must be finite and > 0 (0 = no clipping), not nan");
  // The schedule: its type, each value's range, each field its type reads.
  auto schedule = [&](const char* text, std::string message) {
    add(
        [text](config::Optimizer& c) {
          ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(text, c.mutable_schedule()))
              << text;
        },
        std::move(message));
  };
  schedule("type: 'linear'",
           "unknown schedule type \"linear\" (known types: constant, cosine, exponential, "
           "one_cycle, plateau, step)");
  schedule("type: 'step'",
           "trainer.optimizer.schedule.step_epochs is required for step (the epochs between two "
           "cuts)");
  schedule("type: 'step' step_epochs: -1",
           "trainer.optimizer.schedule.step_epochs must be >= 0, not -1");
  schedule("type: 'step' step_epochs: 2 gamma: 1.5",
           "trainer.optimizer.schedule.gamma must be in (0, 1], not 1.5");
  schedule("type: 'exponential'",
           "trainer.optimizer.schedule.gamma is required for exponential (the factor of each "
           "epoch)");
  schedule("type: 'exponential' gamma: -0.5",
           "trainer.optimizer.schedule.gamma must be in (0, 1], not -0.5");
  schedule("warmup_epochs: -1", "trainer.optimizer.schedule.warmup_epochs must be >= 0, not -1");
  schedule("type: 'cosine' min_learning_rate: 0.1",
           "trainer.optimizer.schedule.min_learning_rate must be >= 0 and below "
           "trainer.optimizer.learning_rate (0.1), not 0.1");
  schedule("type: 'one_cycle' pct_start: 1",
           "trainer.optimizer.schedule.pct_start must be in (0, 1) (0 = the default 0.3), not 1");
  schedule("type: 'one_cycle' div_factor: 0.5",
           "trainer.optimizer.schedule.div_factor must be >= 1 (0 = the default 25), not 0.5");
  schedule("type: 'one_cycle' final_div_factor: inf",
           "trainer.optimizer.schedule.final_div_factor must be finite and >= 1 (0 = the "
           "default 1e4), not inf");
  schedule("type: 'one_cycle' warmup_epochs: 1",
           "trainer.optimizer.schedule.warmup_epochs applies to constant, step, exponential and "
           "cosine only, not one_cycle");
  schedule("type: 'plateau' metric: 'f1'",
           "trainer.optimizer.schedule.metric \"f1\" is unknown (known: loss, accuracy, "
           "macro_f1, log_loss, rmse, mae, r2)");
  schedule("type: 'plateau' factor: 1",
           "trainer.optimizer.schedule.factor must be in (0, 1) (0 = the default 0.1), not 1");
  schedule("type: 'plateau' patience: -3",
           "trainer.optimizer.schedule.patience must be >= 0 (0 = 10), not -3");
  schedule("type: 'plateau' min_delta: -0.1",
           "trainer.optimizer.schedule.min_delta must be >= 0, not -0.1");
  schedule("type: 'plateau' cooldown: -1",
           "trainer.optimizer.schedule.cooldown must be >= 0, not -1");
  schedule("gamma: 0.5",
           "trainer.optimizer.schedule.gamma applies to step and exponential "
           "only, not constant");
  schedule("type: 'cosine' patience: 3",
           "trainer.optimizer.schedule.patience applies to plateau only, not cosine");
  schedule("type: 'step' step_epochs: 1 pct_start: 0.2",
           "trainer.optimizer.schedule.pct_start applies to one_cycle only, not step");
  schedule("type: 'exponential' gamma: 0.9 min_learning_rate: 0.01",
           "trainer.optimizer.schedule.min_learning_rate applies to cosine and plateau only, "
           "not exponential");

  for (const Case& c : cases) {
    absl::StatusOr<std::unique_ptr<Optimizer>> optimizer = CreateOptimizer(c.config);
    ASSERT_FALSE(optimizer.ok()) << c.config.DebugString();
    EXPECT_EQ(optimizer.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(optimizer.status().message(), HasSubstr(c.message));
  }
}

TEST(CreateOptimizerTest, ReportsEveryProblemAtOnce) {
  config::Optimizer config = Sgd(0, 2.0f, false, -1);
  absl::StatusOr<std::unique_ptr<Optimizer>> optimizer = CreateOptimizer(config);
  ASSERT_FALSE(optimizer.ok());
  EXPECT_THAT(optimizer.status().message(), HasSubstr("learning_rate"));
  EXPECT_THAT(optimizer.status().message(), HasSubstr("momentum"));
  EXPECT_THAT(optimizer.status().message(), HasSubstr("weight_decay"));
}

TEST(CreateOptimizerTest, ReportsEveryScheduleProblemAtOnce) {
  config::Optimizer config = AdamW(0.1f);
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      "type: 'cosine' gamma: 2 min_learning_rate: -1 factor: 0.5", config.mutable_schedule()));
  const std::vector<FieldProblem> problems = CheckOptimizer(config);
  std::vector<std::string> fields;
  for (const FieldProblem& p : problems) fields.push_back(p.field);
  EXPECT_THAT(fields, ::testing::UnorderedElementsAre(
                          "trainer.optimizer.schedule.gamma", "trainer.optimizer.schedule.factor",
                          "trainer.optimizer.schedule.gamma",
                          "trainer.optimizer.schedule.min_learning_rate"));
}

TEST(CreateOptimizerTest, AcceptsValidConfigs) {
  EXPECT_TRUE(CreateOptimizer(Sgd(0.1f)).ok());
  EXPECT_TRUE(CreateOptimizer(Sgd(0.1f, 0.9f, true, 1e-4f)).ok());
  config::Optimizer adam;
  adam.set_type("adam");
  adam.set_learning_rate(1e-3f);
  adam.set_weight_decay(1e-4f);
  EXPECT_TRUE(CreateOptimizer(adam).ok());
  config::Optimizer adamw = AdamW(1e-3f);
  adamw.set_clip_value(1);
  adamw.set_clip_global_norm(5);
  EXPECT_TRUE(CreateOptimizer(adamw).ok());
  for (const char* schedule :
       {"", "type: 'constant' warmup_epochs: 0.5", "type: 'step' step_epochs: 3",
        "type: 'exponential' gamma: 0.95 warmup_epochs: 1",
        "type: 'cosine' min_learning_rate: 1e-5 warmup_epochs: 2",
        "type: 'one_cycle' pct_start: 0.25 div_factor: 10 final_div_factor: 100",
        "type: 'plateau' metric: 'accuracy' factor: 0.5 patience: 2 min_delta: 0.001 "
        "cooldown: 1 min_learning_rate: 1e-5"}) {
    config::Optimizer config = Sgd(0.1f);
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(schedule, config.mutable_schedule()));
    absl::StatusOr<std::unique_ptr<Optimizer>> made = CreateOptimizer(config);
    EXPECT_TRUE(made.ok()) << schedule << ": " << made.status();
  }
}

}  // namespace
}  // namespace mnemo
