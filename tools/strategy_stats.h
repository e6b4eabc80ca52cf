#ifndef MNEMO_TOOLS_STRATEGY_STATS_H_
#define MNEMO_TOOLS_STRATEGY_STATS_H_

#include <cstddef>
#include <string>

#include "core/cache_strategy.h"

namespace mnemo {

// A cache strategy's figures on one line, for the tools:
//   cache  held 2.1 MiB, peak 2.3 MiB, recomputed 0 | hits 120000, misses 70000, ...
// Counters print as the strategy names them; those whose name ends in
// "bytes" print as bytes.
std::string FormatCacheStats(const CacheStats& stats);

}  // namespace mnemo

#endif  // MNEMO_TOOLS_STRATEGY_STATS_H_
