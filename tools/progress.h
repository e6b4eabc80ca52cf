#ifndef MNEMO_TOOLS_PROGRESS_H_
#define MNEMO_TOOLS_PROGRESS_H_

#include <cstdio>
#include <optional>
#include <string>

#include "core/stopwatch.h"

namespace mnemo {

// A progress bar on a terminal; plain lines at each quarter otherwise (logs
// and CI should not fill with carriage returns).
class ProgressBar {
 public:
  explicit ProgressBar(std::FILE* out = stderr);

  void Start(std::string label, int total);
  // `done` of `total` finished; `detail` is shown after the bar.
  void Update(int done, const std::string& detail);
  // Clears the bar (terminal) so a summary line can take its place.
  void Finish();

  bool interactive() const { return interactive_; }

 private:
  std::FILE* out_;
  bool interactive_;
  std::string label_;
  int total_ = 0;
  int next_quarter_ = 1;
  Stopwatch since_start_;
  std::optional<Stopwatch> since_draw_;  // none before the first draw
};

}  // namespace mnemo

#endif  // MNEMO_TOOLS_PROGRESS_H_
