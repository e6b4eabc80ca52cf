#ifndef MNEMO_TOOLS_MEMORY_PROTOCOLS_H_
#define MNEMO_TOOLS_MEMORY_PROTOCOLS_H_

// The protocols of tools/memory_experiment that ask what a memory is for
// (issue 18): classes a network sees a few times, and classes that arrive
// after training. Each runs on one pair of classes at a time; the tool runs
// every pair and reports the median and the worst.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "core/config_loader.h"

namespace mnemo {

struct ClassPair {
  int first = 0;
  int second = 0;
  std::vector<int> classes() const { return {first, second}; }
  std::string Name() const;  // "(0,1)"
};

// "0-1,2-3" -> {(0,1), (2,3)}; errors name `flag`.
absl::StatusOr<std::vector<ClassPair>> ParsePairs(const std::string& text, const std::string& flag);

// A protocol's base experiment: the config file with the tool's flags
// applied, loaded afresh for each run.
using ConfigSource = absl::FunctionRef<absl::StatusOr<std::unique_ptr<LoadedConfig>>()>;

// Rare classes: the training set keeps `examples` samples of each class of
// the pair (data.rare_classes, drawn with the run's seed); the classifier
// trains as the config says and is evaluated on the whole test set.
struct RareClassResult {
  std::string module;  // memory_module.type
  ClassPair pair;
  int examples = 0;
  // Recall on the pair's test samples, each path alone and the dual path.
  double network_recall = 0;
  double memory_recall = 0;
  double dual_recall = 0;
  // Accuracy on the other classes' test samples.
  double network_others = 0;
  double dual_others = 0;
};

// The trained model goes to `model_path` (DualPathClassifier::Save).
absl::StatusOr<RareClassResult> RunRareClasses(ConfigSource config, ClassPair pair, int examples,
                                               const std::string& model_path);

// New classes: the classifier trains without the pair (data.held_out_classes);
// then, for each count in `examples` (starting from the trained memory each
// time), the memory is shown that many training samples of each class of the
// pair (DualPathClassifier::AddExamples: a write, no gradient step), drawn
// as data.rare_classes draws them, and the test set is evaluated.
struct NewClassResult {
  std::string module;
  ClassPair pair;
  int examples = 0;
  // On the pair's test samples, after the examples were written.
  double dual_recall = 0;
  double memory_recall = 0;
  // Accuracy on the other classes' test samples: the head alone, the dual
  // path before any example was written, and after.
  double network_others = 0;
  double dual_others_before = 0;
  double dual_others = 0;
};

// The trained model, before any example was shown, goes to `model_path`.
absl::StatusOr<std::vector<NewClassResult>> RunNewClasses(ConfigSource config, ClassPair pair,
                                                          const std::vector<int>& examples,
                                                          const std::string& model_path);

// Results as CSV (a header, a row per result) and the tool's summary: per
// module and count, the median over the pairs and the worst pair of each
// figure the criteria read.
std::string RareClassesCsv(const std::vector<RareClassResult>& results);
std::string NewClassesCsv(const std::vector<NewClassResult>& results);
std::string SummarizeRareClasses(const std::vector<RareClassResult>& results);
std::string SummarizeNewClasses(const std::vector<NewClassResult>& results);

// The plots: per module, a path's recall on the pair (median over the pairs,
// and the worst pair's) against the examples kept or shown.
std::string RareClassesSvg(const std::vector<RareClassResult>& results);
std::string NewClassesSvg(const std::vector<NewClassResult>& results);

}  // namespace mnemo

#endif  // MNEMO_TOOLS_MEMORY_PROTOCOLS_H_
