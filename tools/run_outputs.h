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

// metrics.csv and metrics.json (one row/object per epoch), each written
// atomically.
absl::Status WriteMetrics(const std::string& dir, const std::string& config_path,
                          const std::vector<EpochMetrics>& history);

// training.svg: loss and accuracy per epoch, train and test.
absl::Status WriteTrainingPlot(const std::string& path, const std::string& title,
                               const std::vector<EpochMetrics>& history);

}  // namespace mnemo

#endif  // MNEMO_TOOLS_RUN_OUTPUTS_H_
