// Every learning-rate schedule against the rates PyTorch's schedulers give
// (torch 1.13: LinearLR for the warm-up, StepLR, ExponentialLR,
// CosineAnnealingLR, OneCycleLR with cycle_momentum=False,
// ReduceLROnPlateau), stepped as a training loop steps them, with the
// config's float values (0.1f is 0.10000000149...); the expected sequences
// were printed by tests/numerics/lr_schedule_expected.py. Also the warm-up's
// length, and the runs a schedule does not fit.
#include "core/lr_schedule.h"

#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/config.pb.h"

namespace mnemo {
namespace {

using ::testing::HasSubstr;

// An sgd optimizer at rate 0.1 with `schedule` (a LearningRateSchedule's text).
config::Optimizer WithSchedule(const std::string& schedule) {
  config::Optimizer config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
      absl::StrCat("type: 'sgd' learning_rate: 0.1 schedule { ", schedule, " }"), &config));
  return config;
}

LearningRateSchedule Make(const std::string& schedule, int steps_per_epoch, int epochs) {
  absl::StatusOr<LearningRateSchedule> made =
      LearningRateSchedule::Create(WithSchedule(schedule), steps_per_epoch, epochs);
  EXPECT_TRUE(made.ok()) << made.status();
  return *made;
}

// The rates of steps 0, 1, ... against `expected`, to the last bits a
// recursive and a closed form may differ in.
void ExpectRates(const LearningRateSchedule& schedule, const std::vector<double>& expected,
                 const std::vector<double>& watched = {}) {
  for (size_t step = 0; step < expected.size(); ++step) {
    EXPECT_NEAR(schedule.Rate(step, watched), expected[step], 1e-12 * expected[step])
        << "step " << step;
  }
}

TEST(LearningRateScheduleTest, ConstantIsTheConfigsRateExactly) {
  const LearningRateSchedule schedule = Make("", 5, 2);
  for (uint64_t step = 0; step < 10; ++step) EXPECT_EQ(schedule.Rate(step, {}), 0.1f);
}

TEST(LearningRateScheduleTest, ConstantWithWarmUp) {
  // Half an epoch of 4 steps: 2 warm-up steps (LinearLR(1/2, 1, 1)).
  const LearningRateSchedule schedule = Make("warmup_epochs: 0.5", 4, 3);
  EXPECT_EQ(schedule.warmup_steps(), 2);
  ExpectRates(schedule,
              {0.05000000074505806, 0.10000000149011612, 0.10000000149011612, 0.10000000149011612,
               0.10000000149011612, 0.10000000149011612, 0.10000000149011612, 0.10000000149011612,
               0.10000000149011612, 0.10000000149011612, 0.10000000149011612, 0.10000000149011612});
}

TEST(LearningRateScheduleTest, StepWithWarmUp) {
  // 3 steps an epoch, a cut by 0.5 every 2 epochs, one epoch of warm-up:
  // ChainedScheduler(LinearLR(1/3, 1, 2), StepLR(6 steps, 0.5)).
  ExpectRates(Make("type: 'step' step_epochs: 2 gamma: 0.5 warmup_epochs: 1", 3, 5),
              {0.033333333830038704, 0.06666666766007741, 0.10000000149011612, 0.10000000149011612,
               0.10000000149011612, 0.10000000149011612, 0.05000000074505806, 0.05000000074505806,
               0.05000000074505806, 0.05000000074505806, 0.05000000074505806, 0.05000000074505806,
               0.02500000037252903, 0.02500000037252903, 0.02500000037252903});
}

TEST(LearningRateScheduleTest, StepDefaultsToGammaOneTenth) {
  // StepLR(step_size=1) stepped once an epoch of 2 steps; the default gamma
  // is PyTorch's, the double 0.1 (a configured one is a float).
  ExpectRates(Make("type: 'step' step_epochs: 1", 2, 3),
              {0.10000000149011612, 0.10000000149011612, 0.010000000149011612, 0.010000000149011612,
               0.0010000000149011613, 0.0010000000149011613});
}

TEST(LearningRateScheduleTest, Exponential) {
  // ExponentialLR(0.9) stepped once an epoch of 2 steps.
  ExpectRates(Make("type: 'exponential' gamma: 0.9", 2, 4),
              {0.10000000149011612, 0.10000000149011612, 0.08999999895691868, 0.08999999895691868,
               0.08099999691545963, 0.08099999691545963, 0.07289999529272324, 0.07289999529272324});
}

TEST(LearningRateScheduleTest, CosineWithWarmUpAndFloor) {
  // 4 epochs of 5 steps, the first epoch warming up:
  // SequentialLR(LinearLR(1/5, 1, 4), CosineAnnealingLR(T_max=15, 0.001), [5]).
  const LearningRateSchedule schedule =
      Make("type: 'cosine' warmup_epochs: 1 min_learning_rate: 0.001", 5, 4);
  EXPECT_EQ(schedule.warmup_steps(), 5);
  ExpectRates(
      schedule,
      {0.020000000298023225, 0.04000000059604645,  0.06000000089406968,  0.0800000011920929,
       0.10000000149011612,  0.10000000149011612,  0.09891830771067717,  0.09572050158106439,
       0.09054634257391819,  0.08362196626622041,  0.07525000112946145,  0.06579634221326353,
       0.05567415977595299,  0.045325841761660594, 0.03520365932435005,  0.02575000040815213,
       0.017378035271393165, 0.01045365896369538,  0.005279499956549171, 0.002081693826936409});
}

TEST(LearningRateScheduleTest, CosineWithoutWarmUp) {
  // CosineAnnealingLR(T_max=6) over 2 epochs of 3 steps.
  ExpectRates(Make("type: 'cosine'", 3, 2),
              {0.10000000149011612, 0.0933012715795192, 0.07500000111758709, 0.05000000074505806,
               0.02500000037252904, 0.006698729910596917});
}

TEST(LearningRateScheduleTest, OneCycleWithPyTorchsDefaults) {
  // OneCycleLR(max_lr=0.1, total_steps=20, cycle_momentum=False).
  ExpectRates(
      Make("type: 'one_cycle'", 4, 5),
      {0.004000000059604644, 0.013167184466208862, 0.03716718482383673,   0.06683281672588404,
       0.0908328170835119,   0.10000000149011612,  0.09874640209494477,   0.09504846461767984,
       0.08909161908467356,  0.08117456660457159,  0.0716943012474584,    0.06112620310448031,
       0.050000200745061035, 0.03887419838564176,  0.028306100242663675,  0.018825834885550494,
       0.010908782405448524, 0.004951936872442237, 0.0012539993951773023, 4.0000000596046453e-07});
}

TEST(LearningRateScheduleTest, OneCycleWithItsFieldsSet) {
  // OneCycleLR(total_steps=12, pct_start=0.25, div_factor=10,
  // final_div_factor=100).
  ExpectRates(
      Make("type: 'one_cycle' pct_start: 0.25 div_factor: 10 final_div_factor: 100", 3, 4),
      {0.010000000149011617, 0.05500000081956387, 0.10000000149011612, 0.09698764785348468,
       0.0883139212497729, 0.07502500111795962, 0.05872372734951489, 0.04137627414209135,
       0.025075000373646628, 0.011786080241833334, 0.003112353638121562, 0.00010000000149011613});
}

TEST(LearningRateScheduleTest, PlateauCutsAfterPatienceWithCooldownAndFloor) {
  // ReduceLROnPlateau('min', factor=0.5, patience=2, threshold=0.01 'abs',
  // cooldown=1, min_lr=0.01), stepped with each epoch's validation loss:
  // the rate of epochs 1 to 22.
  const std::vector<double> losses = {1.0,   0.9,  0.895, 0.893, 0.9,   0.85,  0.86,
                                      0.87,  0.88, 0.84,  0.845, 0.846, 0.847, 0.848,
                                      0.849, 0.85, 0.86,  0.86,  0.86,  0.86,  0.86};
  const std::vector<double> epoch_rates = {
      0.10000000149011612,  0.10000000149011612,  0.10000000149011612,  0.10000000149011612,
      0.10000000149011612,  0.05000000074505806,  0.05000000074505806,  0.05000000074505806,
      0.05000000074505806,  0.02500000037252903,  0.02500000037252903,  0.02500000037252903,
      0.02500000037252903,  0.012500000186264515, 0.012500000186264515, 0.012500000186264515,
      0.012500000186264515, 0.009999999776482582, 0.009999999776482582, 0.009999999776482582,
      0.009999999776482582, 0.009999999776482582};
  const LearningRateSchedule schedule = Make(
      "type: 'plateau' factor: 0.5 patience: 2 min_delta: 0.01 cooldown: 1 "
      "min_learning_rate: 0.01",
      2, 22);
  EXPECT_EQ(schedule.watched_figure(), "val_loss");
  // Two steps an epoch, both at the epoch's rate; the whole run's figures
  // serve every step (only the epochs before a step's count).
  std::vector<double> step_rates;
  for (double rate : epoch_rates) step_rates.insert(step_rates.end(), {rate, rate});
  ExpectRates(schedule, step_rates, losses);
  // Fewer figures than epochs: the rate after the last one given.
  EXPECT_EQ(schedule.Rate(40, absl::MakeConstSpan(losses).first(5)), schedule.Rate(10, losses));
}

TEST(LearningRateScheduleTest, PlateauOnAFigureThatRises) {
  // ReduceLROnPlateau('max', factor=0.1 (the default, a double),
  // patience=1, threshold=0 'abs').
  const std::vector<double> accuracy = {0.5, 0.6, 0.6, 0.55, 0.61, 0.7, 0.69, 0.68, 0.7};
  const LearningRateSchedule schedule =
      Make("type: 'plateau' metric: 'accuracy' patience: 1", 1, 10);
  EXPECT_EQ(schedule.watched_figure(), "val_accuracy");
  ExpectRates(schedule,
              {0.10000000149011612, 0.10000000149011612, 0.10000000149011612, 0.10000000149011612,
               0.010000000149011612, 0.010000000149011612, 0.010000000149011612,
               0.010000000149011612, 0.0010000000149011613, 0.0010000000149011613},
              accuracy);
}

TEST(LearningRateScheduleTest, WarmUpIsRoundedToTheNearestStepAndAtLeastOne) {
  // 0.1 x 10 is 1.0000000149 in float: one step, not two.
  EXPECT_EQ(Make("warmup_epochs: 0.1", 10, 2).warmup_steps(), 1);
  EXPECT_EQ(Make("warmup_epochs: 0.5", 3, 2).warmup_steps(), 2);  // 1.5 rounds up
  EXPECT_EQ(Make("warmup_epochs: 0.01", 3, 2).warmup_steps(), 1);
  EXPECT_EQ(Make("", 3, 2).warmup_steps(), 0);
}

TEST(LearningRateScheduleTest, RefusesAScheduleThatDoesNotFitTheRun) {
  auto refusal = [](const std::string& schedule, int steps_per_epoch, int epochs) {
    absl::StatusOr<LearningRateSchedule> made =
        LearningRateSchedule::Create(WithSchedule(schedule), steps_per_epoch, epochs);
    EXPECT_FALSE(made.ok()) << schedule;
    return std::string(made.status().message());
  };
  // Cosine needs a step after the warm-up; a warm-up as long as the run is
  // fine for the others, a longer one is not.
  EXPECT_EQ(refusal("type: 'cosine' warmup_epochs: 2", 3, 2),
            "trainer.optimizer.schedule.warmup_epochs 2 makes 6 warm-up steps, but the run has "
            "6 (2 epochs of 3); cosine needs steps after the warm-up");
  EXPECT_TRUE(LearningRateSchedule::Create(WithSchedule("warmup_epochs: 2"), 3, 2).ok());
  EXPECT_THAT(refusal("type: 'exponential' gamma: 0.5 warmup_epochs: 2.2", 3, 2),
              HasSubstr("makes 7 warm-up steps, but the run has 6"));
  EXPECT_EQ(refusal("warmup_epochs: 1e30", 3, 2),
            "trainer.optimizer.schedule.warmup_epochs 1e+30 is longer than the run's steps, 6 "
            "(2 epochs of 3)");
  // One step of a one-step run: cosine has none after it.
  EXPECT_THAT(refusal("type: 'cosine' warmup_epochs: 0.01", 1, 1),
              HasSubstr("makes 1 warm-up steps, but the run has 1"));
  // A one-cycle rise of 0.3 x 3 steps is under one step.
  EXPECT_EQ(refusal("type: 'one_cycle'", 3, 1),
            "trainer.optimizer.schedule.pct_start 0.3 of the run's 3 steps "
            "leaves the rise no step after the first: raise pct_start or train more steps");
  EXPECT_THAT(refusal("type: 'sawtooth'", 3, 1), HasSubstr("\"sawtooth\" is unknown"));
}

}  // namespace
}  // namespace mnemo
