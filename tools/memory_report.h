#ifndef MNEMO_TOOLS_MEMORY_REPORT_H_
#define MNEMO_TOOLS_MEMORY_REPORT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "memory_modules/classifier/dual_path_evaluation.h"
#include "memory_modules/classifier/path_timing.h"

namespace mnemo {

// One memory module's run of the experiment, as the report needs it.
struct MemoryRun {
  std::string memory_type;  // "cached_memory"
  std::string config_path;
  std::vector<DualPathEpochMetrics> history;
  PathTimes batch_times;   // at the training batch size, over the test set
  PathTimes single_times;  // at batch 1, over the first few hundred test samples
};

// The settings the seed's "Parameters" block lists, plus ours.
struct ExperimentParameters {
  int memory_size = 0;
  float confidence_threshold = 0;
  int epochs = 0;
  int batch_size = 0;
  float memory_loss_weight = 0;
  float similarity_threshold = 0;
  float temperature = 0;
  int top_k = 0;
  std::string data;   // "Fashion-MNIST (60000 training, 10000 test samples)"
  std::string model;  // backbone and head, one line
};

// "cached_memory" -> "Cached Memory".
std::string DisplayName(const std::string& memory_type);

// The seed's "Parameters" block.
std::string FormatParameters(const ExperimentParameters& parameters);

// The seed's results block of one module (its last epoch's summary, the path
// times and the ratio), followed by our lines: the network-only and
// memory-only test accuracies, each path's accuracy on the samples it
// answered, and the three per-sample stage times at both batch sizes.
std::string FormatResults(const MemoryRun& run);

// "Memory path is 1.08x slower than neural network" (or "faster").
std::string FormatPathRatio(const PathTimes& times);

// Writes the seed's four plots for one module into `dir` and returns their
// paths: loss_curves.svg (train and test loss, total and cross-entropy),
// memory_loss.svg, accuracy_curves.svg (train, test, network-only,
// memory-path) and memory_usage.svg (share of the test samples the memory
// answered, and memory fill n/M), over epochs.
absl::StatusOr<std::vector<std::string>> WriteMemoryPlots(const std::string& dir,
                                                          const MemoryRun& run);

// metrics.csv and metrics.json: one row/object per epoch, every figure of
// DualPathEpochMetrics, plus the path times in the JSON.
absl::Status WriteMemoryMetrics(const std::string& dir, const MemoryRun& run);

}  // namespace mnemo

#endif  // MNEMO_TOOLS_MEMORY_REPORT_H_
