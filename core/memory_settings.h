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
// memory_module.index resolved: how Retrieve finds a query's nearest items.
// "exact" compares the query with every item (one GEMM); "ivf_flat" and
// "hnsw" are FAISS's approximate indexes over the items' unit keys
// (memory_modules/common/approximate_index.h). A field the chosen type does
// not read keeps its default here and must be unset in the config.
struct IndexSettings {
  std::string type = "exact";
  // ivf_flat: k-means lists, and the lists a query visits. The index is
  // trained only once the memory holds kIvfItemsPerList x nlist items (FAISS's
  // own floor for k-means: fewer points per centroid give centroids that
  // split the data badly); until then Retrieve searches exactly.
  int nlist = 1024;
  int nprobe = 32;
  // hnsw: neighbours per node (M), and the candidate lists of search and of
  // construction.
  int hnsw_m = 32;
  int ef_search = 64;
  int ef_construction = 40;

  static constexpr int kIvfItemsPerList = 39;
  // The index types, in the order the messages list them.
  static constexpr const char* kTypes[] = {"exact", "ivf_flat", "hnsw"};
};

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
  IndexSettings index;
};

// Every problem at once, each named by its field ("memory_module.temperature"): capacity must be >
// 0, temperature > 0, confidence_threshold in [0, 1], memory_loss_weight >= 0, top_k in [1,
// capacity], all finite, scan_precision "fp32", "int8" or unset. similarity_threshold is free:
// above 1 every example is novel, at -1 or below none is.
// capacity], all finite. similarity_threshold is free: above 1 every example is novel, at -1 or
// below none is. index ("memory_module.index.nprobe"): type one of IndexSettings::kTypes, no field
// the type does not read, ivf_flat's nprobe at most nlist and its 39 x nlist items within the
// capacity (an index that could never be trained), hnsw's hnsw_m at least 2.
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
