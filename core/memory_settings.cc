#include "core/memory_settings.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>
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

IndexSettings ResolvedIndex(const config::MemoryIndex& config) {
  const IndexSettings defaults;
  IndexSettings index;
  index.type = config.type().empty() ? defaults.type : config.type();
  index.nlist = OrDefault(config.nlist(), defaults.nlist);
  index.nprobe = OrDefault(config.nprobe(), defaults.nprobe);
  index.hnsw_m = OrDefault(config.hnsw_m(), defaults.hnsw_m);
  index.ef_search = OrDefault(config.ef_search(), defaults.ef_search);
  index.ef_construction = OrDefault(config.ef_construction(), defaults.ef_construction);
  return index;
}

// The problems of memory_module.index (its ranges are CheckRanges's).
void CheckIndex(const config::MemoryModule& config, std::vector<FieldProblem>* problems) {
  const config::MemoryIndex& c = config.index();
  const IndexSettings defaults;
  const IndexSettings index = ResolvedIndex(c);
  auto problem = [problems](const char* field, std::string message) {
    problems->push_back({absl::StrCat("memory_module.index.", field),
                         absl::StrCat("memory_module.index.", field, " ", message)});
  };
  const bool known = std::find(std::begin(IndexSettings::kTypes), std::end(IndexSettings::kTypes),
                               index.type) != std::end(IndexSettings::kTypes);
  if (!known) {
    problem("type", absl::StrCat("must be \"", absl::StrJoin(IndexSettings::kTypes, "\", \""),
                                 "\" (unset = \"", defaults.type, "\"), not \"", c.type(), "\""));
    return;
  }
  // A field the chosen type does not read is refused: it would change nothing.
  const bool ivf = index.type == "ivf_flat";
  const bool hnsw = index.type == "hnsw";
  auto unread = [&](const char* field, int value, bool read) {
    if (value != 0 && !read) {
      problem(field, absl::StrCat("is not read by index type \"", index.type, "\" (set to ", value,
                                  "); remove it or choose the type that reads it"));
    }
  };
  unread("nlist", c.nlist(), ivf);
  unread("nprobe", c.nprobe(), ivf);
  unread("hnsw_m", c.hnsw_m(), hnsw);
  unread("ef_search", c.ef_search(), hnsw);
  unread("ef_construction", c.ef_construction(), hnsw);
  if (ivf && index.nlist > 0 && index.nprobe > index.nlist) {
    problem("nprobe", absl::StrCat("must be at most nlist (", index.nlist,
                                   "; unset = ", defaults.nprobe, "), not ", index.nprobe));
  }
  const int64_t trained_at = int64_t{IndexSettings::kIvfItemsPerList} * index.nlist;
  if (ivf && config.capacity() > 0 && trained_at > config.capacity()) {
    problem("nlist",
            absl::StrCat("must be at most capacity / ", IndexSettings::kIvfItemsPerList, " (",
                         config.capacity() / IndexSettings::kIvfItemsPerList,
                         "; unset = ", defaults.nlist,
                         "): the index is trained once the "
                         "memory holds ",
                         IndexSettings::kIvfItemsPerList, " items per list, and ", trained_at,
                         " exceed the capacity ", config.capacity(), ", not ", index.nlist));
  }
  if (hnsw && c.hnsw_m() == 1) {
    problem("hnsw_m", absl::StrCat("must be >= 2 (a graph of one neighbour per node has no "
                                   "levels; unset = ",
                                   defaults.hnsw_m, "), not ", c.hnsw_m()));
  }
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
  settings.index = ResolvedIndex(config.index());
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
  CheckIndex(config, &problems);
  if (config.scan_precision() == "int8" && !config.index().type().empty() &&
      config.index().type() != "exact") {
    problem("scan_precision", absl::StrCat("\"int8\" is a way of exact search; memory_module.index "
                                           "\"", config.index().type(),
                                           "\" searches its own way (set one of the two)"));
  }
  // In the schema's order of the fields, the ranges' among the others'
  // (memory_module.index's problems at the index field, in their order).
  const google::protobuf::Descriptor& fields = *config::MemoryModule::descriptor();
  const auto index = [&fields](const FieldProblem& p) {
    const size_t start = p.field.find('.') + 1;
    const google::protobuf::FieldDescriptor* field =
        fields.FindFieldByName(p.field.substr(start, p.field.find('.', start) - start));
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
