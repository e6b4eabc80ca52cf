#include "plugins/onednn/layer_support.h"

#include <cstdio>
#include <string>

#include "core/backend.h"
#include "plugins/onednn/runtime.h"

namespace mnemo::onednn {

int LayerThreads(const LayerArgs& args) {
  return args.backend != nullptr ? args.backend->threads() : CoreCount();
}

void ReportFallback(const Layer& layer, const char* pass, const absl::Status& status,
                    bool* reported) {
  GetCounters().fallbacks.fetch_add(1, std::memory_order_relaxed);
  if (*reported) return;
  *reported = true;
  std::fprintf(stderr,
               "mnemo onednn: %s \"%s\": %s failed (%s); computing it with the Eigen reference "
               "instead (reported once per layer)\n",
               layer.type(), layer.name().c_str(), pass, std::string(status.message()).c_str());
}

}  // namespace mnemo::onednn
