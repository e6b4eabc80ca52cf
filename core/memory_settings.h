#ifndef MNEMO_MEMORY_MODULES_COMMON_SETTINGS_H_
#define MNEMO_MEMORY_MODULES_COMMON_SETTINGS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config.pb.h"
#include "core/field_problem.h"

namespace mnemo::memory {

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
struct MemorySettings {
  int capacity = 0;
  float confidence_threshold = 0.85f;
  float similarity_threshold = 0.9f;
  float temperature = 0.1f;
  float memory_loss_weight = 0.4f;
  int top_k = 1;
  IndexSettings index;
};

// Every problem at once, each named by its field ("memory_module.temperature"): capacity must be >
// 0, temperature > 0, confidence_threshold in [0, 1], memory_loss_weight >= 0, top_k in [1,
// capacity], all finite. similarity_threshold is free: above 1 every example is novel, at -1 or
// below none is. index ("memory_module.index.nprobe"): type one of IndexSettings::kTypes, no field
// the type does not read, ivf_flat's nprobe at most nlist and its 39 x nlist items within the
// capacity (an index that could never be trained), hnsw's hnsw_m at least 2.
std::vector<FieldProblem> CheckMemorySettings(const config::MemoryModule& config);

// The settings, defaults resolved, or every problem of CheckMemorySettings in
// one InvalidArgument.
absl::StatusOr<MemorySettings> ResolveMemorySettings(const config::MemoryModule& config);

}  // namespace mnemo::memory

#endif  // MNEMO_MEMORY_MODULES_COMMON_SETTINGS_H_
