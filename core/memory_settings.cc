#include "core/memory_settings.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/field_range.h"

namespace mnemo::memory {
namespace {

// The field's value, or `fallback` when it is 0 (unset).
float OrDefault(float value, float fallback) { return value == 0.0f ? fallback : value; }
int OrDefault(int value, int fallback) { return value == 0 ? fallback : value; }

constexpr ScanPrecision kScanPrecisions[] = {ScanPrecision::kFp32, ScanPrecision::kInt8};

// The precision a config names; none for a name that is not one ("" is the
// default).
bool ParseScanPrecision(const std::string& name, ScanPrecision* precision) {
  if (name.empty()) {
    *precision = MemorySettings().scan_precision;
    return true;
  }
  for (ScanPrecision p : kScanPrecisions) {
    if (name == ScanPrecisionName(p)) {
      *precision = p;
      return true;
    }
  }
  return false;
}

MemorySettings Resolved(const config::MemoryModule& config) {
  const MemorySettings defaults;
  MemorySettings settings;
  settings.capacity = config.capacity();
  settings.confidence_threshold =
      OrDefault(config.confidence_threshold(), defaults.confidence_threshold);
  settings.similarity_threshold =
      OrDefault(config.similarity_threshold(), defaults.similarity_threshold);
  settings.temperature = OrDefault(config.temperature(), defaults.temperature);
  settings.memory_loss_weight = OrDefault(config.memory_loss_weight(), defaults.memory_loss_weight);
  settings.top_k = OrDefault(config.top_k(), defaults.top_k);
  if (config.vote() == "margin") settings.vote = VoteRule::kMargin;
  ParseScanPrecision(config.scan_precision(), &settings.scan_precision);  // checked apart
  settings.num_classes = config.num_classes();
  return settings;
}

}  // namespace

const char* ScanPrecisionName(ScanPrecision precision) {
  switch (precision) {
    case ScanPrecision::kFp32:
      return "fp32";
    case ScanPrecision::kInt8:
      return "int8";
  }
  return "?";
}

std::vector<FieldProblem> CheckMemorySettings(const config::MemoryModule& config) {
  const MemorySettings defaults;
  const MemorySettings s = Resolved(config);
  std::vector<FieldProblem> problems = CheckRanges(config, "memory_module");
  auto problem = [&problems](const char* field, std::string message) {
    problems.push_back({absl::StrCat("memory_module.", field),
                        absl::StrCat("memory_module.", field, " ", message)});
  };
  // NaN fails every comparison, so each test is written to be false for it.
  if (!(s.confidence_threshold >= 0 && s.confidence_threshold <= 1)) {
    problem("confidence_threshold",
            absl::StrCat("must be in [0, 1] (a memory's confidence is; unset = ",
                         defaults.confidence_threshold, "), not ", config.confidence_threshold()));
  }
  if (!std::isfinite(s.similarity_threshold)) {
    problem("similarity_threshold",
            absl::StrCat("must be finite (a cosine similarity; unset = ",
                         defaults.similarity_threshold, "), not ", config.similarity_threshold()));
  }
  if (!(s.temperature > 0) || std::isinf(s.temperature)) {
    problem("temperature", absl::StrCat("must be > 0 and finite (unset = ", defaults.temperature,
                                        "), not ", config.temperature()));
  }
  if (!(s.memory_loss_weight >= 0) || std::isinf(s.memory_loss_weight)) {
    problem("memory_loss_weight",
            absl::StrCat("must be >= 0 and finite (unset = ", defaults.memory_loss_weight,
                         "), not ", config.memory_loss_weight()));
  }
  if (!config.vote().empty() && config.vote() != "similarity" && config.vote() != "margin") {
    problem("vote", absl::StrCat("must be \"similarity\" (the default) or \"margin\", not \"",
                                 config.vote(), "\""));
  }
  // Its range is the schema's; the capacity bounds it too.
  if (s.capacity > 0 && s.top_k > s.capacity) {
    problem("top_k", absl::StrCat("must be at most the capacity (", config.capacity(),
                                  "; unset = ", defaults.top_k, "), not ", config.top_k()));
  }
  if (ScanPrecision parsed; !ParseScanPrecision(config.scan_precision(), &parsed)) {
    std::vector<std::string> known;
    for (ScanPrecision p : kScanPrecisions)
      known.push_back(absl::StrCat("\"", ScanPrecisionName(p), "\""));
    problem("scan_precision",
            absl::StrCat("must be one of ", absl::StrJoin(known, ", "), " (unset = \"",
                         ScanPrecisionName(defaults.scan_precision), "\"), not \"",
                         config.scan_precision(), "\""));
  }
  // In the schema's order of the fields, the ranges' among the others'.
  const google::protobuf::Descriptor& fields = *config::MemoryModule::descriptor();
  const auto index = [&fields](const FieldProblem& p) {
    const google::protobuf::FieldDescriptor* field =
        fields.FindFieldByName(p.field.substr(p.field.find('.') + 1));
    return field != nullptr ? field->index() : fields.field_count();
  };
  std::stable_sort(
      problems.begin(), problems.end(),
      [&](const FieldProblem& a, const FieldProblem& b) { return index(a) < index(b); });
  return problems;
}

absl::StatusOr<MemorySettings> ResolveMemorySettings(const config::MemoryModule& config) {
  std::vector<FieldProblem> problems = CheckMemorySettings(config);
  if (!problems.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(
        problems, "; ", [](std::string* out, const FieldProblem& p) { out->append(p.message); }));
  }
  return Resolved(config);
}

absl::StatusOr<int> MemoryClasses(const MemorySettings& settings, int head_classes) {
  if (settings.num_classes == 0) return head_classes;
  if (settings.num_classes < head_classes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "memory_module.num_classes must be 0 (the head's outputs) or at least the head's ",
        head_classes, " outputs (the memory holds every class the head answers), not ",
        settings.num_classes));
  }
  return settings.num_classes;
}

}  // namespace mnemo::memory
