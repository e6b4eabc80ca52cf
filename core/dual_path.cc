#include "core/dual_path.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/memory_settings.h"
#include "core/status_macros.h"

namespace mnemo {

absl::StatusOr<std::unique_ptr<MemoryModule>> CreateMemoryModule(
    const LoadedConfig& config, int feature_dim, int head_classes,
    std::shared_ptr<const Backend> backend, const Registries& registries) {
  const config::MemoryModule& memory_config = config.experiment().memory_module();
  absl::StatusOr<memory::MemorySettings> settings = memory::ResolveMemorySettings(memory_config);
  if (!settings.ok()) {
    return absl::InvalidArgumentError(
        config.Describe("memory_module", std::string(settings.status().message())));
  }
  absl::StatusOr<int> classes = memory::MemoryClasses(*settings, head_classes);
  if (!classes.ok()) {
    return absl::InvalidArgumentError(
        config.Describe("memory_module.num_classes", std::string(classes.status().message())));
  }
  MemoryModuleArgs args{memory_config, feature_dim, *classes, std::move(backend)};
  absl::StatusOr<std::unique_ptr<MemoryModule>> memory =
      registries.memory_modules.Create(memory_config.type(), args);
  if (!memory.ok()) {
    return absl::InvalidArgumentError(config.Describe(
        "memory_module", absl::StrCat(memory_config.type(), ": ", memory.status().message())));
  }
  if ((*memory)->num_classes() != *classes) {
    return absl::InternalError(absl::StrCat(memory_config.type(), " was created for ", *classes,
                                            " classes but holds ", (*memory)->num_classes()));
  }
  return memory;
}

absl::Status CheckRetrieval(const Retrieval& retrieval, int rows, int num_classes,
                            const std::string& memory_name) {
  const size_t n = static_cast<size_t>(rows);
  if (retrieval.label.size() != n || retrieval.confidence.size() != n) {
    return absl::InternalError(
        absl::StrCat(memory_name, "'s Retrieve answered ", retrieval.label.size(), " labels and ",
                     retrieval.confidence.size(), " confidences for ", rows, " queries"));
  }
  for (size_t i = 0; i < n; ++i) {
    if (retrieval.label[i] >= num_classes) {
      return absl::InternalError(absl::StrCat(memory_name, "'s Retrieve answered class ",
                                              retrieval.label[i], " of ", num_classes));
    }
  }
  return absl::OkStatus();
}

void RouteDualPath(const Retrieval& retrieval, absl::Span<const int32_t> network_labels,
                   float confidence_threshold, absl::Span<int32_t> labels,
                   absl::Span<uint8_t> from_memory) {
  for (size_t i = 0; i < network_labels.size(); ++i) {
    const bool memory = MemoryAnswers(retrieval, static_cast<int>(i), confidence_threshold);
    labels[i] = memory ? retrieval.label[i] : network_labels[i];
    if (!from_memory.empty()) from_memory[i] = memory ? 1 : 0;
  }
}

absl::Status CheckExampleLabels(absl::Span<const int32_t> labels, int64_t rows,
                                int memory_classes) {
  if (static_cast<int64_t>(labels.size()) != rows) {
    return absl::InvalidArgumentError(
        absl::StrCat(rows, " examples with ", labels.size(), " labels"));
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= memory_classes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "label ", labels[i], " of example ", i, " is not a class of the memory (", memory_classes,
          " classes, 0 to ", memory_classes - 1, ": memory_module.num_classes)"));
    }
  }
  return absl::OkStatus();
}

std::map<std::string, Tensor> ExportMemoryState(const MemoryModule& memory) {
  std::map<std::string, Tensor> state;
  for (auto& [name, tensor] : memory.ExportState()) {
    state.emplace(absl::StrCat(kMemoryStatePrefix, name), std::move(tensor));
  }
  return state;
}

absl::Status ImportMemoryState(const std::map<std::string, Tensor>& state, MemoryModule& memory,
                               const std::string& memory_name) {
  std::map<std::string, Tensor> memory_state;
  for (const auto& [name, tensor] : state) {
    if (!absl::StartsWith(name, kMemoryStatePrefix)) {
      return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" belongs to no part of a ",
                                                     "dual-path classifier (its state is the ",
                                                     "memory's, \"", kMemoryStatePrefix, "*\")"));
    }
    memory_state.emplace(name.substr(sizeof(kMemoryStatePrefix) - 1), tensor);
  }
  return WithPrefix(memory.ImportState(memory_state),
                    absl::StrCat("the memory's contents do not fit ", memory_name));
}

}  // namespace mnemo
