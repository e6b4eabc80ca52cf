#ifndef MNEMO_MEMORY_MODULES_COMMON_SETTINGS_H_
#define MNEMO_MEMORY_MODULES_COMMON_SETTINGS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config.pb.h"
#include "core/field_problem.h"

namespace mnemo::memory {

// memory_module.scan_precision: the arithmetic of Retrieve's similarity scan.
// kFp32 is exact search; kInt8 scans int8 copies of the keys and queries and
// scores the best candidates again in fp32
// (memory_modules/common/int8_scan.h).
enum class ScanPrecision { kFp32, kInt8 };

// The config's names of the precisions ("fp32", "int8").
const char* ScanPrecisionName(ScanPrecision precision);

// A config's memory_module settings with the defaults filled in (proto3: a
// zero field is unset). These initializers are the one statement of the
// defaults: config.proto's comments, the loader's messages, the classifier and
// the memory modules all read them from here.
// How a memory's top_k neighbours answer (memory_module.vote; the formulas
// are memory::Vote's, memory_modules/common/vote.h).
enum class VoteRule {
  kSimilarity,  // "similarity": the similarity-weighted vote of the k
  kMargin,      // "margin": the nearest item's class, by its lead over another class's
};

struct MemorySettings {
  int capacity = 0;
  float confidence_threshold = 0.85f;
  float similarity_threshold = 0.9f;
  float temperature = 0.1f;
  float memory_loss_weight = 0.4f;
  int top_k = 1;
  VoteRule vote = VoteRule::kSimilarity;
  ScanPrecision scan_precision = ScanPrecision::kFp32;
  // The classes the memory may hold; 0 = the head's outputs (MemoryClasses
  // resolves it, knowing the head).
  int num_classes = 0;
};

// Every problem at once, each named by its field ("memory_module.temperature"): capacity must be >
// 0, temperature > 0, confidence_threshold in [0, 1], memory_loss_weight >= 0, top_k in [1,
// capacity], all finite, scan_precision "fp32", "int8" or unset. similarity_threshold is free:
// above 1 every example is novel, at -1 or below none is.
std::vector<FieldProblem> CheckMemorySettings(const config::MemoryModule& config);

// The settings, defaults resolved, or every problem of CheckMemorySettings in
// one InvalidArgument.
absl::StatusOr<MemorySettings> ResolveMemorySettings(const config::MemoryModule& config);

// The classes a memory beside a head of `head_classes` outputs holds:
// memory_module.num_classes, or the head's when it is 0 (unset). A count
// below the head's is refused (InvalidArgument naming the field): the memory
// could not hold every class the head answers. More lets it learn classes
// the head has no output for.
absl::StatusOr<int> MemoryClasses(const MemorySettings& settings, int head_classes);

}  // namespace mnemo::memory

#endif  // MNEMO_MEMORY_MODULES_COMMON_SETTINGS_H_
