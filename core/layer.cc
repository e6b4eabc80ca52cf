#include "core/layer.h"

#include <atomic>

namespace mnemo {

uint64_t Layer::NextVersion() {
  static std::atomic<uint64_t> counter{1};
  return counter.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace mnemo
