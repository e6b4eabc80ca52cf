#ifndef MNEMO_PLUGINS_ONEDNN_SHAPE_CACHE_H_
#define MNEMO_PLUGINS_ONEDNN_SHAPE_CACHE_H_

#include <algorithm>
#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/status_macros.h"

namespace mnemo::onednn {

// Per-shape state of one operation (a primitive and its memory objects), made
// once per shape and reused: a layer sees a few batch sizes (the training
// batch, the last shorter batch, the evaluation batch), so a handful of
// entries, searched linearly, most recent first. Beyond `capacity` shapes the
// least recently used entry is dropped, so that a caller feeding ever new
// sizes does not grow it without bound.
template <typename Key, typename Entry>
class ShapeCache {
 public:
  explicit ShapeCache(size_t capacity = 8) : capacity_(std::max<size_t>(1, capacity)) {}

  // The entry for `key`; made by `make()` (returning
  // absl::StatusOr<std::unique_ptr<Entry>>) when there is none. A hit
  // allocates nothing.
  template <typename Make>
  absl::StatusOr<Entry*> Get(const Key& key, Make&& make) {
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (entries_[i].first == key) {
        // Move to the front, so the steady state's shape is found first.
        std::rotate(entries_.begin(), entries_.begin() + i, entries_.begin() + i + 1);
        return entries_.front().second.get();
      }
    }
    MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Entry> made, make());
    if (entries_.size() == capacity_) entries_.pop_back();
    entries_.insert(entries_.begin(), {key, std::move(made)});
    return entries_.front().second.get();
  }

  size_t size() const { return entries_.size(); }

 private:
  size_t capacity_;
  std::vector<std::pair<Key, std::unique_ptr<Entry>>> entries_;
};

}  // namespace mnemo::onednn

#endif  // MNEMO_PLUGINS_ONEDNN_SHAPE_CACHE_H_
