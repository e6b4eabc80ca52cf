#include "tools/strategy_stats.h"

#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/format_bytes.h"

namespace mnemo {

std::string FormatCacheStats(const CacheStats& stats) {
  std::string line = absl::StrCat(
      "cache  held ", FormatBytes(static_cast<double>(stats.bytes_held)), ", peak ",
      FormatBytes(static_cast<double>(stats.peak_bytes_held)), ", recomputed ",
      stats.recomputed_forwards);
  const char* separator = " | ";
  for (const auto& [name, value] : stats.counters) {
    std::string shown;
    if (absl::EndsWith(name, "bytes")) {
      shown = FormatBytes(value);
    } else if (value == std::floor(value) && std::abs(value) < 1e15) {
      shown = absl::StrFormat("%.0f", value);
    } else {
      shown = absl::StrFormat("%.4g", value);
    }
    absl::StrAppend(&line, separator, name, " ", shown);
    separator = ", ";
  }
  return line;
}

}  // namespace mnemo
