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
// then every figure of EpochMetrics::figures by name: "val_loss",
// "test_macro_f1", "test_rmse", ...), each written atomically.
absl::Status WriteMetrics(const std::string& dir, const std::string& config_path,
                          const std::vector<EpochMetrics>& history);

// training.svg: per epoch, the loss and the accuracy (R^2 for a
// regression) of the training, validation and test sets that have them.
absl::Status WriteTrainingPlot(const std::string& path, const std::string& title,
                               const std::vector<EpochMetrics>& history, bool regression = false);

}  // namespace mnemo

#endif  // MNEMO_TOOLS_RUN_OUTPUTS_H_
