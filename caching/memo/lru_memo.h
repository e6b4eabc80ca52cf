#ifndef MNEMO_CACHING_MEMO_LRU_MEMO_H_
#define MNEMO_CACHING_MEMO_LRU_MEMO_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/types/span.h"

namespace mnemo::caching::memo {

// 128 bits naming the function whose results are memoized (for the memo
// strategy: the frozen layers and their parameter values, prefix.h). Entries
// of one signature are never returned for another.
struct Signature {
  uint64_t high = 0;
  uint64_t low = 0;

  friend bool operator==(const Signature& a, const Signature& b) {
    return a.high == b.high && a.low == b.low;
  }
  friend bool operator!=(const Signature& a, const Signature& b) { return !(a == b); }
  template <typename H>
  friend H AbslHashValue(H h, const Signature& s) {
    return H::combine(std::move(h), s.high, s.low);
  }
};

// What functools.lru_cache's cache_info() tells, and a little more.
struct MemoStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t evictions = 0;  // entries removed to make room (least recently used first)
  uint64_t dropped = 0;    // entries removed by DropSignature (invalidated)
  uint64_t refused = 0;    // inserts of an entry larger than the whole capacity
  size_t entries = 0;
  size_t bytes = 0;  // EntryBytes() summed over the entries; never above capacity_bytes
  size_t capacity_bytes = 0;
};

// A memo of float rows, output = f(input), bounded in bytes, evicting the
// least recently used entry first. Safe to call from several threads.
//
// An entry is keyed by the function's Signature and a 64-bit hash of the
// input row, and holds a copy of the input as well as the output: a lookup
// returns a row only when the stored input is bit-for-bit the one asked for,
// so a hash collision costs a comparison, never a wrong result. Entries that
// collide are chained under their key.
//
// Hashing is done by the caller's thread outside the lock (Hash(), then the
// overloads that take the hash), so that threads share the lock only for the
// table walk and one row copy.
class LruMemo {
 public:
  using RowHash = std::function<uint64_t(absl::Span<const float>)>;

  // XXH64 of the row's bytes (hash.h).
  static uint64_t DefaultRowHash(absl::Span<const float> row);

  // What an entry counts against the capacity: its input and output floats,
  // plus an estimate of its bookkeeping (its header, two slots of the hash
  // table, which is at least 7/16 full, and the allocator's header): 4,160
  // bytes of floats and 146 of bookkeeping for a 784-float input and a
  // 256-float output.
  static size_t EntryBytes(size_t input_floats, size_t output_floats);

  // `hash` is replaceable so that tests can force collisions.
  explicit LruMemo(size_t capacity_bytes, RowHash hash = &DefaultRowHash);
  ~LruMemo();
  LruMemo(const LruMemo&) = delete;
  LruMemo& operator=(const LruMemo&) = delete;

  uint64_t Hash(absl::Span<const float> input) const { return hash_(input); }

  // When `input` is stored under `signature`, copies its output into `output`
  // (which must have the stored output's size), marks the entry most
  // recently used and returns true (a hit); else returns false (a miss).
  // `hash` must be Hash(input); a wrong one only turns hits into misses.
  bool Lookup(const Signature& signature, uint64_t hash, absl::Span<const float> input,
              absl::Span<float> output);
  bool Lookup(const Signature& signature, absl::Span<const float> input,
              absl::Span<float> output) {
    return Lookup(signature, Hash(input), input, output);
  }

  // Stores copies of `input` and `output` as the most recently used entry,
  // evicting least recently used entries until it fits. An input already
  // stored under `signature` is refreshed instead (its output replaced).
  // Returns false, storing nothing, when the entry alone exceeds the capacity.
  bool Insert(const Signature& signature, uint64_t hash, absl::Span<const float> input,
              absl::Span<const float> output);
  bool Insert(const Signature& signature, absl::Span<const float> input,
              absl::Span<const float> output) {
    return Insert(signature, Hash(input), input, output);
  }

  // Removes every entry of `signature` (its function changed: they can never
  // be asked for again) and returns how many there were.
  size_t DropSignature(const Signature& signature);

  // Removes every entry and zeroes the counters, as lru_cache's cache_clear().
  void Clear();

  MemoStats stats() const;
  size_t capacity_bytes() const { return capacity_bytes_; }

 private:
  struct Key {
    Signature signature;
    uint64_t hash;
    friend bool operator==(const Key& a, const Key& b) {
      return a.hash == b.hash && a.signature == b.signature;
    }
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.signature, k.hash);
    }
  };
  struct Entry;

  // The *Locked functions are called with mu_ held.
  // The entry of `key` whose input is `input`, or null.
  Entry* FindLocked(const Key& key, absl::Span<const float> input) const;
  void MakeMostRecentLocked(Entry* entry);
  // Links an entry that is in no list as the most recently used.
  void PushNewestLocked(Entry* entry);
  void UnlinkLocked(Entry* entry);
  // Unlinks `entry` from the recency list and its chain, and frees it.
  void EraseLocked(Entry* entry);

  const size_t capacity_bytes_;
  const RowHash hash_;

  // std::mutex rather than absl::Mutex: the system's Abseil is not built
  // with ThreadSanitizer, which would then not see the locking (as in
  // caching/bench_memo). Every member below is guarded by it.
  mutable std::mutex mu_;
  // Key -> first entry of its chain (entries whose inputs share the key).
  absl::flat_hash_map<Key, Entry*> chains_;
  // Recency list: newest_ is the most recently used, oldest_ the next evicted.
  Entry* newest_ = nullptr;
  Entry* oldest_ = nullptr;
  MemoStats stats_;
};

}  // namespace mnemo::caching::memo

#endif  // MNEMO_CACHING_MEMO_LRU_MEMO_H_
