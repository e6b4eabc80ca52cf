#include "caching/bench_memo/memo_cache.h"

#include <cxxabi.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/stopwatch.h"

namespace mnemo::bench {

namespace internal {

const char* DemangledTypeName(const std::type_info& info) {
  int status = 0;
  // Kept for the rest of the process: the tag that asked is a static.
  char* demangled = abi::__cxa_demangle(info.name(), nullptr, nullptr, &status);
  if (status == 0 && demangled != nullptr) return demangled;
  std::free(demangled);
  return info.name();
}

}  // namespace internal

struct MemoCache::Flight {
  explicit Flight(const TypeTag* type) : type(type) {}

  const TypeTag* type;
  std::condition_variable done_cv;  // waits on mu_
  bool done = false;
  // Evicted while loading: the result goes to the callers, not into the cache.
  bool discard = false;
  absl::Status status;  // the load's error, when it failed; copied per waiter (Unshared)
  std::shared_ptr<void> value;
};

namespace {

absl::Status TypeMismatch(const std::string& key, const TypeTag& cached, const TypeTag& asked) {
  return absl::InvalidArgumentError(
      absl::StrCat("memo '", key, "' holds a ", cached.name, ", asked for as a ", asked.name));
}

// A copy of `status` that shares no representation with it. A failed load's
// error goes to several threads; the system's Abseil counts references to a
// status without ThreadSanitizer seeing it, so each thread gets its own.
absl::Status Unshared(const absl::Status& status) {
  absl::Status copy(status.code(), status.message());
  status.ForEachPayload([&copy](absl::string_view type_url, const absl::Cord& payload) {
    copy.SetPayload(type_url, absl::Cord(std::string(payload)));
  });
  return copy;
}

}  // namespace

MemoCache& MemoCache::Global() {
  static MemoCache* const cache = new MemoCache();
  return *cache;
}

MemoCache::MemoCache(int64_t capacity_bytes) : capacity_(std::max<int64_t>(0, capacity_bytes)) {}

MemoCache::~MemoCache() = default;

void MemoCache::SetCapacity(int64_t capacity_bytes) {
  std::vector<std::shared_ptr<void>> released;  // after the lock: destructors may be slow
  std::lock_guard<std::mutex> lock(mu_);
  capacity_ = std::max<int64_t>(0, capacity_bytes);
  ShrinkToCapacityLocked(&released);
}

int64_t MemoCache::capacity() const {
  std::lock_guard<std::mutex> lock(mu_);
  return capacity_;
}

absl::StatusOr<std::shared_ptr<void>> MemoCache::GetOrLoad(
    const std::string& key, const TypeTag& type, absl::FunctionRef<absl::StatusOr<Loaded>()> load) {
  std::shared_ptr<Flight> flight;
  bool reload = false;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (auto it = index_.find(key); it != index_.end()) {
      const Entry& entry = *it->second;
      if (*entry.type != type) return TypeMismatch(key, *entry.type, type);
      recency_.splice(recency_.begin(), recency_, it->second);
      ++counters_.hits;
      return entry.value;
    }
    if (auto it = loading_.find(key); it != loading_.end()) {
      // Held by us too, so it outlives its removal from loading_.
      const std::shared_ptr<Flight> other = it->second;
      if (*other->type != type) return TypeMismatch(key, *other->type, type);
      ++counters_.waits;
      other->done_cv.wait(lock, [&other] { return other->done; });
      if (!other->status.ok()) return Unshared(other->status);
      ++counters_.hits;
      return other->value;
    }
    flight = std::make_shared<Flight>(&type);
    loading_.emplace(key, flight);
    reload = evicted_keys_.contains(key);
  }

  const Stopwatch stopwatch;
  absl::StatusOr<Loaded> loaded = load();
  const double seconds = stopwatch.ElapsedSeconds();
  if (loaded.ok() && loaded->value == nullptr) {
    loaded = absl::InvalidArgumentError(
        absl::StrCat("the loader of memo '", key, "' returned a null value"));
  } else if (loaded.ok() && loaded->bytes < 0) {
    loaded = absl::InvalidArgumentError(
        absl::StrCat("the loader of memo '", key, "' reported ", loaded->bytes, " bytes"));
  }

  std::vector<std::shared_ptr<void>> released;  // after the lock: destructors may be slow
  absl::StatusOr<std::shared_ptr<void>> result;
  {
    std::lock_guard<std::mutex> lock(mu_);
    loading_.erase(key);
    counters_.load_seconds += seconds;
    if (!loaded.ok()) {
      ++counters_.load_failures;
      flight->status = Unshared(loaded.status());
      result = loaded.status();
    } else {
      ++counters_.loads;
      if (reload) {
        ++counters_.reloads;
        ++counters_.reloads_by_key[key];
        counters_.reload_seconds += seconds;
      }
      flight->value = loaded->value;
      if (flight->discard) {
        // Its callers hold it, so it is in use as it leaves.
        ++counters_.evictions;
        ++counters_.evicted_in_use;
        evicted_keys_.insert(key);
      } else {
        recency_.push_front(Entry{key, &type, loaded->value, loaded->bytes});
        index_.emplace(key, recency_.begin());
        bytes_ += loaded->bytes;
        ShrinkToCapacityLocked(&released);
      }
      result = std::move(loaded->value);
    }
    flight->done = true;
  }
  flight->done_cv.notify_all();
  return result;
}

bool MemoCache::Evict(const std::string& key) {
  std::shared_ptr<void> released;  // after the lock: the destructor may be slow
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = index_.find(key); it != index_.end()) {
    released = RemoveLocked(it->second);
    ++counters_.evictions;
    return true;
  }
  if (auto it = loading_.find(key); it != loading_.end()) {
    it->second->discard = true;  // counted when the load succeeds
    return true;
  }
  return false;
}

bool MemoCache::EvictByValue(const void* value) {
  std::shared_ptr<void> released;  // after the lock: the destructor may be slow
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = recency_.begin(); it != recency_.end(); ++it) {
    if (it->value.get() == value) {
      released = RemoveLocked(it);
      ++counters_.evictions;
      return true;
    }
  }
  return false;
}

std::optional<std::string> MemoCache::KeyOfValue(const void* value) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const Entry& entry : recency_) {
    if (entry.value.get() == value) return entry.key;
  }
  return std::nullopt;
}

bool MemoCache::Contains(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  return index_.contains(key);
}

void MemoCache::Clear() {
  std::vector<std::shared_ptr<void>> released;  // after the lock: destructors may be slow
  std::lock_guard<std::mutex> lock(mu_);
  while (!recency_.empty()) {
    released.push_back(RemoveLocked(recency_.begin()));
    ++counters_.evictions;
  }
  for (auto& [key, flight] : loading_) flight->discard = true;
}

MemoStats MemoCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  MemoStats stats = counters_;
  stats.entries = static_cast<int64_t>(recency_.size());
  stats.bytes = bytes_;
  return stats;
}

void MemoCache::ResetStats() {
  std::lock_guard<std::mutex> lock(mu_);
  counters_ = MemoStats();
}

std::shared_ptr<void> MemoCache::RemoveLocked(Recency::iterator entry) {
  // The cache's own reference is one; any other is a user's.
  if (entry->value.use_count() > 1) ++counters_.evicted_in_use;
  evicted_keys_.insert(entry->key);
  bytes_ -= entry->bytes;
  std::shared_ptr<void> value = std::move(entry->value);
  index_.erase(entry->key);
  recency_.erase(entry);
  return value;
}

void MemoCache::ShrinkToCapacityLocked(std::vector<std::shared_ptr<void>>* released) {
  while (capacity_ > 0 && bytes_ > capacity_ && recency_.size() > 1) {
    released->push_back(RemoveLocked(std::prev(recency_.end())));
    ++counters_.capacity_evictions;
  }
}

}  // namespace mnemo::bench
