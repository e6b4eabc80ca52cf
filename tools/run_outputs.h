#ifndef MNEMO_TOOLS_RUN_OUTPUTS_H_
#define MNEMO_TOOLS_RUN_OUTPUTS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/trainer.h"

namespace mnemo {

// Creates `dir` and proves it writable by writing a file into it
// (ProbeWritable), so a bad output directory is reported before training
// starts rather than after it.
absl::Status PrepareOutputDirectory(const std::string& dir);

// metrics.csv and metrics.json (one row/object per epoch: the fixed figures,
// learning_rate among them, then every figure of EpochMetrics::figures by
// name: "val_loss", "test_macro_f1", "test_rmse", ...), each written
// atomically.
absl::Status WriteMetrics(const std::string& dir, const std::string& config_path,
                          const std::vector<EpochMetrics>& history);

// steps.csv, atomically: "step,epoch,learning_rate", a row per step of the
// run (steps and epochs counted from 1), from `rates`, the rate of each step
// (Trainer::StepRates), `steps_per_epoch` to an epoch.
absl::Status WriteSteps(const std::string& dir, const std::vector<double>& rates,
                        int steps_per_epoch);

// training.svg: per epoch, the loss and the accuracy (R^2 for a
// regression) of the training, validation and test sets that have them;
// and, given the rate of every step (`step_rates`, as WriteSteps takes
// them), the learning rate, step by step over the same epochs.
absl::Status WriteTrainingPlot(const std::string& path, const std::string& title,
                               const std::vector<EpochMetrics>& history, bool regression = false,
                               const std::vector<double>& step_rates = {});

}  // namespace mnemo

#endif  // MNEMO_TOOLS_RUN_OUTPUTS_H_
