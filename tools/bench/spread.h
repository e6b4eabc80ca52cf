#ifndef MNEMO_TOOLS_BENCH_SPREAD_H_
#define MNEMO_TOOLS_BENCH_SPREAD_H_

// The spread of a figure measured several times, as the benchmarks report
// it: min / median / max over the repetitions (the median of an even count
// is the mean of the middle two).

#include <vector>

namespace mnemo::bench {

struct Spread {
  double min = 0;
  double median = 0;
  double max = 0;
};

// All zeros for no values.
Spread SpreadOf(std::vector<double> values);

}  // namespace mnemo::bench

#endif  // MNEMO_TOOLS_BENCH_SPREAD_H_
