#include "caching/memo/lru_memo.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "caching/memo/hash.h"

namespace mnemo::caching::memo {

// One allocation per entry: the header, then the input and output floats, so
// that a lookup's confirmation reads memory next to the header it just read.
struct LruMemo::Entry {
  Key key;
  size_t input_floats = 0;
  size_t output_floats = 0;
  Entry* newer = nullptr;  // recency list
  Entry* older = nullptr;
  Entry* next_in_chain = nullptr;  // another entry of the same key

  static Entry* New(const Key& key, absl::Span<const float> input,
                    absl::Span<const float> output) {
    static_assert(sizeof(Entry) % alignof(float) == 0, "the floats follow the header");
    void* memory =
        ::operator new(sizeof(Entry) + (input.size() + output.size()) * sizeof(float));
    Entry* entry = new (memory) Entry;
    entry->key = key;
    entry->input_floats = input.size();
    entry->output_floats = output.size();
    std::copy(input.begin(), input.end(), entry->input());
    std::copy(output.begin(), output.end(), entry->output());
    return entry;
  }
  static void Delete(Entry* entry) {
    entry->~Entry();
    ::operator delete(entry);
  }

  float* input() { return reinterpret_cast<float*>(this + 1); }
  const float* input() const { return reinterpret_cast<const float*>(this + 1); }
  float* output() { return input() + input_floats; }
  bool HoldsInput(absl::Span<const float> row) const {
    return row.size() == input_floats &&
           std::memcmp(input(), row.data(), input_floats * sizeof(float)) == 0;
  }
};

namespace {

// glibc's malloc puts a 16-byte header before each block (an entry is one).
constexpr size_t kAllocatorHeaderBytes = 16;

}  // namespace

uint64_t LruMemo::DefaultRowHash(absl::Span<const float> row) {
  return Xxh64(row.data(), row.size() * sizeof(float));
}

size_t LruMemo::EntryBytes(size_t input_floats, size_t output_floats) {
  // A flat_hash_map slot is the key, the pointer and one control byte.
  constexpr size_t kSlotBytes = sizeof(Key) + sizeof(Entry*) + 1;
  return (input_floats + output_floats) * sizeof(float) + sizeof(Entry) + 2 * kSlotBytes +
         kAllocatorHeaderBytes;
}

LruMemo::LruMemo(size_t capacity_bytes, RowHash hash)
    : capacity_bytes_(capacity_bytes), hash_(std::move(hash)) {
  stats_.capacity_bytes = capacity_bytes;
}

LruMemo::~LruMemo() { Clear(); }

bool LruMemo::Lookup(const Signature& signature, uint64_t hash,
                     absl::Span<const float> input, absl::Span<float> output) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry* entry = FindLocked(Key{signature, hash}, input);
  if (entry == nullptr || entry->output_floats != output.size()) {
    ++stats_.misses;
    return false;
  }
  ++stats_.hits;
  std::memcpy(output.data(), entry->output(), output.size() * sizeof(float));
  MakeMostRecentLocked(entry);
  return true;
}

bool LruMemo::Insert(const Signature& signature, uint64_t hash,
                     absl::Span<const float> input, absl::Span<const float> output) {
  const size_t bytes = EntryBytes(input.size(), output.size());
  if (bytes > capacity_bytes_) {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.refused;
    return false;
  }
  const Key key{signature, hash};
  // Allocated and filled outside the lock, so other threads wait only for
  // the table and list updates.
  Entry* fresh = Entry::New(key, input, output);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (Entry* existing = FindLocked(key, input); existing != nullptr) {
      // Already stored (another thread computed it too): refresh it.
      EraseLocked(existing);
    }
    while (stats_.bytes + bytes > capacity_bytes_) {
      EraseLocked(oldest_);
      ++stats_.evictions;
    }
    Entry*& head = chains_[key];  // null for a new key
    fresh->next_in_chain = head;
    head = fresh;
    PushNewestLocked(fresh);
    stats_.bytes += bytes;
    ++stats_.entries;
  }
  return true;
}

size_t LruMemo::DropSignature(const Signature& signature) {
  std::lock_guard<std::mutex> lock(mu_);
  // A walk over every entry: this happens when a frozen layer changes, not
  // per batch.
  size_t dropped = 0;
  for (Entry* entry = oldest_; entry != nullptr;) {
    Entry* next = entry->newer;
    if (entry->key.signature == signature) {
      EraseLocked(entry);
      ++dropped;
    }
    entry = next;
  }
  stats_.dropped += dropped;
  return dropped;
}

void LruMemo::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  for (Entry* entry = newest_; entry != nullptr;) {
    Entry* next = entry->older;
    Entry::Delete(entry);
    entry = next;
  }
  chains_.clear();
  newest_ = oldest_ = nullptr;
  stats_ = MemoStats();
  stats_.capacity_bytes = capacity_bytes_;
}

MemoStats LruMemo::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

LruMemo::Entry* LruMemo::FindLocked(const Key& key, absl::Span<const float> input) const {
  auto it = chains_.find(key);
  if (it == chains_.end()) return nullptr;
  for (Entry* entry = it->second; entry != nullptr; entry = entry->next_in_chain) {
    if (entry->HoldsInput(input)) return entry;
  }
  return nullptr;
}

void LruMemo::MakeMostRecentLocked(Entry* entry) {
  if (entry == newest_) return;
  UnlinkLocked(entry);
  PushNewestLocked(entry);
}

void LruMemo::PushNewestLocked(Entry* entry) {
  entry->older = newest_;
  entry->newer = nullptr;
  if (newest_ != nullptr) newest_->newer = entry;
  newest_ = entry;
  if (oldest_ == nullptr) oldest_ = entry;
}

void LruMemo::UnlinkLocked(Entry* entry) {
  if (entry->newer != nullptr) {
    entry->newer->older = entry->older;
  } else {
    newest_ = entry->older;
  }
  if (entry->older != nullptr) {
    entry->older->newer = entry->newer;
  } else {
    oldest_ = entry->newer;
  }
  entry->newer = entry->older = nullptr;
}

void LruMemo::EraseLocked(Entry* entry) {
  UnlinkLocked(entry);
  auto it = chains_.find(entry->key);
  Entry** link = &it->second;
  while (*link != entry) link = &(*link)->next_in_chain;
  *link = entry->next_in_chain;
  if (it->second == nullptr) chains_.erase(it);
  stats_.bytes -= EntryBytes(entry->input_floats, entry->output_floats);
  --stats_.entries;
  Entry::Delete(entry);
}

}  // namespace mnemo::caching::memo
