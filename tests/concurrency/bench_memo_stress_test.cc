// The benchmark memo cache (caching/bench_memo) under many threads, beyond
// the stress in tests/caching/bench_memo_test.cc (which this folder's test
// suite runs as well): loads that take a while and sometimes fail, so that
// evictions, Clear, capacity changes and waiters meet loads in flight; one
// key asked for as two types; values read by their holders after the cache
// let them go. Afterwards the statistics must add up with what the threads
// saw, no key may ever have been loading twice at once, and every value
// loaded must be destroyed exactly once, when its last holder lets go. Run
// under ThreadSanitizer and AddressSanitizer too.
//
// Threads hand results over through std::atomic or join() only (the system's
// Abseil is not built with ThreadSanitizer).

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "caching/bench_memo/memo.h"
#include "caching/bench_memo/memo_cache.h"

namespace mnemo::bench {
namespace {

constexpr int kKeys = 6;
constexpr int kFailingKey = 5;  // its loader fails every other call
constexpr int kThreads = 6;
constexpr int kOperations = 1500;
constexpr int64_t kBytes = 100;

// Values count their lives, and check they are read only while alive.
std::atomic<int64_t> g_constructed{0};
std::atomic<int64_t> g_destroyed{0};

constexpr uint64_t kAlive = 0x600DF00DCAFEF00Dull;

struct Value {
  explicit Value(int key) : key(key) { g_constructed.fetch_add(1); }
  ~Value() {
    canary = 0;
    g_destroyed.fetch_add(1);
  }
  Value(const Value&) = delete;
  Value& operator=(const Value&) = delete;

  int key;
  uint64_t canary = kAlive;
};

// Another type asked for under key 0's key: a type mismatch, one way or the
// other, whenever both are around.
struct Other {
  explicit Other(int tag) : tag(tag) { g_constructed.fetch_add(1); }
  ~Other() { g_destroyed.fetch_add(1); }
  int tag;
};

struct Loaders {
  std::array<std::atomic<int>, kKeys> calls{};      // every loader call
  std::array<std::atomic<int>, kKeys> failures{};   // calls that returned an error
  std::array<std::atomic<int>, kKeys> in_flight{};  // loads of the key running now
  std::array<std::atomic<int>, kKeys> most_in_flight{};
  std::atomic<int> other_calls{0};

  // Marks a load of `k` running for a little while, as a model's would.
  void Run(int k) {
    const int now = in_flight[k].fetch_add(1) + 1;
    int most = most_in_flight[k].load();
    while (now > most && !most_in_flight[k].compare_exchange_weak(most, now)) {
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
    in_flight[k].fetch_sub(1);
  }
};

std::string KeyName(int k) { return "stress/key" + std::to_string(k); }

struct Seen {
  int64_t ok_gets = 0;  // Gets that returned a value (either type)
  int64_t error_gets = 0;
  int64_t mismatches = 0;  // InvalidArgument: the key is held or loading as the other type
  int64_t wrong = 0;       // a value of another key, a dead value, an impossible figure
};

TEST(BenchMemoStressTest, LoadsInFlightMeetEvictionsAndTheCountsAddUp) {
  const int64_t constructed_before = g_constructed.load();
  const int64_t destroyed_before = g_destroyed.load();
  Loaders loaders;
  std::vector<Seen> seen(kThreads);
  {
    MemoCache cache(3 * kBytes);
    std::vector<Memo<Value>> memos;
    for (int k = 0; k < kKeys; ++k) {
      memos.emplace_back(
          KeyName(k),
          [k, &loaders]() -> absl::StatusOr<std::unique_ptr<Value>> {
            const int call = loaders.calls[k].fetch_add(1);
            loaders.Run(k);
            if (k == kFailingKey && call % 2 == 0) {
              loaders.failures[k].fetch_add(1);
              return absl::UnavailableError("the disk is busy");
            }
            return std::make_unique<Value>(k);
          },
          [](const Value&) { return kBytes; }, &cache);
    }
    const Memo<Other> other(
        KeyName(0),
        [&loaders]() -> absl::StatusOr<std::unique_ptr<Other>> {
          loaders.other_calls.fetch_add(1);
          loaders.Run(0);
          return std::make_unique<Other>(42);
        },
        [](const Other&) { return kBytes; }, &cache);

    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        Seen& mine = seen[t];
        std::mt19937 rng(77 + t);
        std::vector<std::shared_ptr<Value>> held;  // values kept past their eviction
        for (int op = 0; op < kOperations; ++op) {
          const int k = static_cast<int>(rng() % kKeys);
          const int choice = static_cast<int>(rng() % 1000);
          if (choice < 500) {
            absl::StatusOr<std::shared_ptr<Value>> value = memos[k].Get();
            if (value.ok()) {
              ++mine.ok_gets;
              if ((*value)->key != k || (*value)->canary != kAlive) ++mine.wrong;
              if (held.size() < 4) held.push_back(*std::move(value));
            } else {
              ++mine.error_gets;
              if (value.status().code() == absl::StatusCode::kInvalidArgument) {
                ++mine.mismatches;
                if (k != 0) ++mine.wrong;
              } else if (k != kFailingKey ||
                         value.status().code() != absl::StatusCode::kUnavailable) {
                ++mine.wrong;
              }
            }
          } else if (choice < 540) {
            absl::StatusOr<std::shared_ptr<Other>> value = other.Get();
            if (value.ok()) {
              ++mine.ok_gets;
              if ((*value)->tag != 42) ++mine.wrong;
            } else {
              ++mine.error_gets;
              if (value.status().code() != absl::StatusCode::kInvalidArgument) ++mine.wrong;
              ++mine.mismatches;
            }
          } else if (choice < 680) {
            Evict(memos[k]);
          } else if (choice < 740) {
            if (!held.empty()) EvictByValue(*held.back(), cache);
          } else if (choice < 760) {
            cache.Clear();
          } else if (choice < 790) {
            // Between one and four values: evicts at once when it shrinks.
            cache.SetCapacity(kBytes * (1 + static_cast<int64_t>(rng() % 4)));
          } else if (choice < 900) {
            // Values held after the cache dropped them are still whole.
            for (const std::shared_ptr<Value>& value : held) {
              if (value->canary != kAlive || value->key < 0 || value->key >= kKeys) ++mine.wrong;
            }
            if (rng() % 2 == 0) held.clear();
          } else {
            const MemoStats stats = cache.stats();
            if (stats.bytes != stats.entries * kBytes) ++mine.wrong;
            if (stats.entries > kKeys) ++mine.wrong;
            if (stats.evicted_in_use > stats.evictions + stats.capacity_evictions) ++mine.wrong;
            if (!held.empty()) {
              const std::optional<std::string> key = cache.KeyOfValue(held.back().get());
              if (key.has_value() && *key != KeyName(held.back()->key)) ++mine.wrong;
            }
            cache.Contains(KeyName(k));
          }
        }
      });
    }
    for (std::thread& thread : threads) thread.join();

    Seen total;
    for (const Seen& s : seen) {
      total.ok_gets += s.ok_gets;
      total.error_gets += s.error_gets;
      total.mismatches += s.mismatches;
      total.wrong += s.wrong;
    }
    EXPECT_EQ(total.wrong, 0);
    int64_t calls = loaders.other_calls.load();
    int64_t failures = 0;
    for (int k = 0; k < kKeys; ++k) {
      calls += loaders.calls[k].load();
      failures += loaders.failures[k].load();
      // Call-once: never two loads of one key at the same time.
      EXPECT_EQ(loaders.most_in_flight[k].load(), 1) << KeyName(k);
    }

    cache.SetCapacity(2 * kBytes);
    const MemoStats stats = cache.stats();
    EXPECT_EQ(stats.loads, calls - failures);
    EXPECT_EQ(stats.load_failures, failures);
    EXPECT_EQ(stats.hits + stats.loads, total.ok_gets) << "every value returned is a hit or a load";
    EXPECT_EQ(stats.loads, stats.evictions + stats.capacity_evictions + stats.entries)
        << "every value loaded is cached or was evicted, once";
    EXPECT_LE(stats.entries, 2);
    EXPECT_EQ(stats.bytes, stats.entries * kBytes);
    EXPECT_LE(stats.evicted_in_use, stats.evictions + stats.capacity_evictions);
    int64_t reloads_by_key = 0;
    for (const auto& [key, reloads] : stats.reloads_by_key) reloads_by_key += reloads;
    EXPECT_EQ(reloads_by_key, stats.reloads);
    // The stress did what it is for.
    EXPECT_GT(failures, 0);
    EXPECT_GT(total.mismatches, 0);
    EXPECT_GT(stats.reloads, 0);
    EXPECT_GT(stats.capacity_evictions, 0);
    EXPECT_GT(stats.evicted_in_use, 0);

    // Whatever is still cached is freed with the cache's reference.
    const int64_t live = g_constructed.load() - g_destroyed.load();
    EXPECT_EQ(live - (constructed_before - destroyed_before), stats.entries)
        << "the threads let go of theirs: only the cache holds values";
    cache.Clear();
    EXPECT_EQ(cache.stats().entries, 0);
  }
  // Every value made was destroyed exactly once.
  EXPECT_EQ(g_constructed.load() - constructed_before, g_destroyed.load() - destroyed_before);
}

}  // namespace
}  // namespace mnemo::bench
