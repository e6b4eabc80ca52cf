#ifndef MNEMO_CACHING_BENCH_MEMO_MEMO_CACHE_H_
#define MNEMO_CACHING_BENCH_MEMO_MEMO_CACHE_H_

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <typeinfo>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"

namespace mnemo::bench {

// The type of a cached value, so that a key cached as one type is never
// handed out as another. Two tags are equal when their std::type_info are:
// plugins are built with hidden visibility, so one type can have a tag at a
// different address in each shared object, while libstdc++ compares type_info
// by mangled name (and anonymous-namespace types by address, as it must).
struct TypeTag {
  const char* name;  // demangled, for messages: "std::vector<float, std::allocator<float> >"
  const std::type_info* info;

  friend bool operator==(const TypeTag& a, const TypeTag& b) {
    return a.info == b.info || *a.info == *b.info;
  }
  friend bool operator!=(const TypeTag& a, const TypeTag& b) { return !(a == b); }
};

namespace internal {
// Lives until the process ends, as the tags that point at it.
const char* DemangledTypeName(const std::type_info& info);
}  // namespace internal

template <typename T>
const TypeTag& TypeTagOf() {
  static const TypeTag tag{internal::DemangledTypeName(typeid(T)), &typeid(T)};
  return tag;
}

struct MemoStats {
  int64_t entries = 0;             // values cached now
  int64_t bytes = 0;               // sum of their reported sizes
  int64_t loads = 0;               // loader calls that succeeded (first loads and reloads)
  int64_t load_failures = 0;       // loader calls that returned an error (nothing cached)
  int64_t hits = 0;                // Gets answered without calling the loader (incl. waiting
                                   // for another thread's load)
  int64_t waits = 0;               // Gets that waited for another thread's load (whatever it gave)
  int64_t evictions = 0;           // entries removed by Evict / EvictByValue / Clear
  int64_t capacity_evictions = 0;  // entries removed to keep within the byte capacity
  int64_t evicted_in_use = 0;      // evicted entries whose value was still referenced elsewhere
  int64_t reloads = 0;             // loads of a key that had been loaded before and evicted
  double load_seconds = 0;         // wall time spent in loaders (failed calls too)
  double reload_seconds = 0;       // the part of it spent reloading: the cost of evicting too early
  std::map<std::string, int64_t> reloads_by_key;
};

// Values that are expensive to load (models, data sets), loaded once on
// first use, shared by whoever asks for them by key, and evicted explicitly
// (or to stay within a byte capacity). Typed access is Memo<T> (memo.h);
// this is its type-erased store. Thread-safe.
//
// The cache holds one reference to each value: evicting drops it, and a
// value still used elsewhere lives on until its last user lets go
// (`evicted_in_use` counts those evictions, whose memory is not freed yet).
// Values are released outside the lock, so a slow destructor does not stall
// other threads and may even call back into the cache.
//
// Keys evicted once are remembered (a set of strings, one per distinct key),
// so that loading one again counts as a reload: the cost of evicting before
// the value's last use.
class MemoCache {
 public:
  // What a loader returns: the value (not null) and its size in bytes (>= 0)
  // for the statistics and the capacity.
  struct Loaded {
    std::shared_ptr<void> value;
    int64_t bytes = 0;
  };

  // The process's cache, with no capacity bound until SetCapacity. Never
  // destroyed, so values cached in it may outlive main's static objects.
  static MemoCache& Global();

  // `capacity_bytes` 0 means no bound; a negative one is taken as 0.
  explicit MemoCache(int64_t capacity_bytes = 0);
  // No call may be in progress, including a load.
  ~MemoCache();
  MemoCache(const MemoCache&) = delete;
  MemoCache& operator=(const MemoCache&) = delete;

  // Applies at once: least recently used entries are evicted until within
  // the bound, the most recently used one excepted. 0 means no bound.
  void SetCapacity(int64_t capacity_bytes);
  int64_t capacity() const;

  // The value cached under `key`, loaded by `load` when it is not cached.
  //
  // Call-once: the first caller for `key` runs `load` without holding the
  // cache's lock (other keys load in parallel, and cached keys answer);
  // callers for the same key meanwhile wait for it and share its result,
  // value or error. An error is not cached: the next call loads again. A
  // loaded value is made the most recently used entry, as is a cached one
  // on a hit; then, when the capacity is exceeded, least recently used
  // entries other than it are evicted until within it (a value larger than
  // the capacity stays, alone). Entries being loaded are never evicted.
  //
  // `type` names the value's type (TypeTagOf<T>(); the cache keeps its
  // address): asking for a key cached, or being loaded, as another type is an
  // InvalidArgument error naming both (nothing is counted). A loader returning a null value or
  // negative bytes fails the load with InvalidArgument. `load` must not call into this cache for
  // the same key (it would wait for itself).
  absl::StatusOr<std::shared_ptr<void>> GetOrLoad(const std::string& key, const TypeTag& type,
                                                  absl::FunctionRef<absl::StatusOr<Loaded>()> load);

  // Drops the entry of `key`; false when there is none. A key being loaded
  // counts as cached: its load still completes for its caller and waiters,
  // but the value is not kept (and then counts as an eviction, in use, and
  // its next load as a reload), so that a teardown racing a load, or a
  // Clear, leaves nothing behind.
  bool Evict(const std::string& key);
  // Drops the entry whose value is the object at `value` (as GetOrLoad
  // returned it); false when there is none. Entries being loaded have no
  // value yet and are not found.
  bool EvictByValue(const void* value);
  // The key whose value is the object at `value` (the most recently used
  // one if several keys share the object). A scan: entries are few and big.
  std::optional<std::string> KeyOfValue(const void* value) const;
  // Whether a value is cached under `key` (a key being loaded is not yet).
  bool Contains(const std::string& key) const;
  // Evicts everything, loads in progress included (as Evict does).
  void Clear();

  MemoStats stats() const;
  // Counters to zero; the entries, their bytes and the memory of which keys
  // were evicted (for detecting reloads) stay.
  void ResetStats();

 private:
  struct Entry {
    std::string key;
    const TypeTag* type;
    std::shared_ptr<void> value;
    int64_t bytes;
  };
  using Recency = std::list<Entry>;  // most recently used first
  struct Flight;                     // a load in progress, and its waiters

  // Unlinks `entry` and returns its value, to be released once unlocked.
  std::shared_ptr<void> RemoveLocked(Recency::iterator entry);
  // Evicts least recently used entries, never the most recent, until within
  // the capacity; their values are appended to `released`.
  void ShrinkToCapacityLocked(std::vector<std::shared_ptr<void>>* released);

  // std::mutex rather than absl::Mutex: the system's Abseil is not built
  // with ThreadSanitizer, which would then not see the locking. Every member
  // below is guarded by it.
  mutable std::mutex mu_;
  int64_t capacity_;
  Recency recency_;
  absl::flat_hash_map<std::string, Recency::iterator> index_;
  absl::flat_hash_map<std::string, std::shared_ptr<Flight>> loading_;
  absl::flat_hash_set<std::string> evicted_keys_;
  int64_t bytes_ = 0;
  MemoStats counters_;  // entries and bytes unused: they are recency_ and bytes_
};

}  // namespace mnemo::bench

#endif  // MNEMO_CACHING_BENCH_MEMO_MEMO_CACHE_H_
