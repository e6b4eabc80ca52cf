#ifndef MNEMO_CORE_DUAL_PATH_H_
#define MNEMO_CORE_DUAL_PATH_H_

// The dual path of a model with a memory module (memory_module in the
// config): its network splits after memory_module.features_after into a
// backbone and a head (core/feature_split.h); the backbone's features go to
// the head and to a MemoryModule, and the memory's class is the answer when
// it is confident. The rules here are the ones every server of such a model
// applies, whether it trains it (memory_modules/classifier's
// DualPathClassifier) or only serves it (core/inference/predictor.h): how
// the memory is created, how its answer is checked and routed, which labels
// examples shown to it may have, and how its contents are saved beside the
// network's tensors.

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/backend.h"
#include "core/config_loader.h"
#include "core/memory_module.h"
#include "core/registry.h"
#include "core/tensor.h"

namespace mnemo {

// The prefix of the memory's tensors in a model file ("memory.keys"): they
// belong to no layer.
inline constexpr char kMemoryStatePrefix[] = "memory.";

// The memory module the config's memory_module describes, for features of
// `feature_dim` beside a head of `head_classes` outputs: its settings
// resolved (core/memory_settings.h), num_classes resolved against the head
// (MemoryClasses), created through the registry on `backend` (null: the
// reference backend). Errors carry the config's file:line:column and name
// the field.
absl::StatusOr<std::unique_ptr<MemoryModule>> CreateMemoryModule(
    const LoadedConfig& config, int feature_dim, int head_classes,
    std::shared_ptr<const Backend> backend, const Registries& registries);

// A memory's answer for `rows` queries, checked before it is read: one label
// and one confidence per row, labels below `num_classes` (a plugin's answer
// of the wrong shape would be read out of bounds). `memory_name` starts the
// message (Internal: the module broke its contract).
absl::Status CheckRetrieval(const Retrieval& retrieval, int rows, int num_classes,
                            const std::string& memory_name);

// The routing rule, in one place: the memory answers a row when it has a
// class (label >= 0) and its confidence is strictly above
// `confidence_threshold`; at exactly the threshold the network answers.
inline bool MemoryAnswers(const Retrieval& retrieval, int row, float confidence_threshold) {
  return retrieval.label[row] >= 0 && retrieval.confidence[row] > confidence_threshold;
}

// The dual path's answer for every row (a checked Retrieval and the head's
// labels, one per row): the memory's class where MemoryAnswers, the
// network's elsewhere. `from_memory`, when not empty, gets 1 where the
// memory answered.
void RouteDualPath(const Retrieval& retrieval, absl::Span<const int32_t> network_labels,
                   float confidence_threshold, absl::Span<int32_t> labels,
                   absl::Span<uint8_t> from_memory = {});

// The labels of examples to show a memory of `memory_classes` classes, one
// per row of `rows`: each in [0, memory_classes). Errors name the example,
// the label and memory_module.num_classes.
absl::Status CheckExampleLabels(absl::Span<const int32_t> labels, int64_t rows, int memory_classes);

// The memory's contents as tensors of a model file, "memory.<name>".
std::map<std::string, Tensor> ExportMemoryState(const MemoryModule& memory);
// Loads them back: every tensor must carry the prefix (a name that does not
// belongs to no part of the model); then MemoryModule::ImportState, whose
// refusal says the contents do not fit `memory_name`.
absl::Status ImportMemoryState(const std::map<std::string, Tensor>& state, MemoryModule& memory,
                               const std::string& memory_name);

}  // namespace mnemo

#endif  // MNEMO_CORE_DUAL_PATH_H_
