#ifndef MNEMO_CORE_STOPWATCH_H_
#define MNEMO_CORE_STOPWATCH_H_

#include <chrono>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace mnemo {

// Time elapsed since it was started, on the monotonic clock (absl::Now() is
// the wall clock, which a clock adjustment moves), as an absl::Duration.
// Header-only and Abseil-only, so that libraries outside core may use it too.
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}

  absl::Duration Elapsed() const {
    return absl::FromChrono(std::chrono::steady_clock::now() - start_);
  }
  double ElapsedSeconds() const { return absl::ToDoubleSeconds(Elapsed()); }
  void Restart() { start_ = std::chrono::steady_clock::now(); }
  // Elapsed(), then Restart(): the time of one stage of several in a row.
  absl::Duration Lap() {
    const auto now = std::chrono::steady_clock::now();
    const absl::Duration lap = absl::FromChrono(now - start_);
    start_ = now;
    return lap;
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

}  // namespace mnemo

#endif  // MNEMO_CORE_STOPWATCH_H_
