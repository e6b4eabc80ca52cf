// The benchmark memos (caching/bench_memo): one load per key however many
// threads ask, loads of different keys in parallel, errors shared and not
// cached, reloads counted, eviction by key and by value, the byte capacity
// in least-recently-used order, values in use outliving their eviction, type
// checks, and a multi-threaded stress against the statistics' invariants.
//
// Threads hand results over through std::atomic or join() only: the system's
// Abseil is not built with ThreadSanitizer, which would not see an
// absl::Notification order anything.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "caching/bench_memo/memo.h"
#include "caching/bench_memo/memo_cache.h"

namespace mnemo::bench {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

// How long a handshake may take before the test fails instead of hanging.
const absl::Duration kHang = absl::Seconds(10);

struct Blob {
  int id = 0;
};

using BlobOr = absl::StatusOr<std::unique_ptr<Blob>>;

std::unique_ptr<Blob> NewBlob(int id) { return std::make_unique<Blob>(Blob{id}); }

// A memo of Blob `id`, 100 bytes, in `cache`.
Memo<Blob> Fixed(const std::string& key, int id, MemoCache& cache, int64_t bytes = 100) {
  return Memo<Blob>(
      key, [id]() -> BlobOr { return NewBlob(id); }, [bytes](const Blob&) { return bytes; },
      &cache);
}

// The id of the Blob a Get returned, or -1 for an error.
int IdOf(const absl::StatusOr<std::shared_ptr<Blob>>& got) { return got.ok() ? (*got)->id : -1; }

TEST(MemoCacheTest, ConcurrentGetsOfOneKeyLoadItOnce) {
  MemoCache cache;
  std::atomic<int> calls{0};
  const Memo<Blob> memo(
      "model",
      [&calls]() -> BlobOr {
        calls.fetch_add(1);
        // Long enough that the other threads arrive while it loads.
        absl::SleepFor(absl::Milliseconds(20));
        return NewBlob(7);
      },
      [](const Blob&) { return int64_t{100}; }, &cache);

  constexpr int kThreads = 8;
  absl::Notification start;
  std::vector<const Blob*> got(kThreads, nullptr);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.WaitForNotification();
      absl::StatusOr<std::shared_ptr<Blob>> value = memo.Get();
      if (value.ok()) got[i] = value->get();
    });
  }
  start.Notify();
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(calls.load(), 1);
  ASSERT_NE(got[0], nullptr);
  EXPECT_EQ(got[0]->id, 7);
  for (int i = 1; i < kThreads; ++i) EXPECT_EQ(got[i], got[0]) << "thread " << i;
  const MemoStats stats = cache.stats();
  EXPECT_EQ(stats.loads, 1);
  EXPECT_EQ(stats.hits, kThreads - 1);
  EXPECT_EQ(stats.entries, 1);
  EXPECT_EQ(stats.bytes, 100);
  EXPECT_EQ(stats.load_failures, 0);
}

TEST(MemoCacheTest, OtherKeysLoadAndAnswerWhileOneLoads) {
  MemoCache cache;
  const Memo<Blob> cached = Fixed("cached", 3, cache);
  ASSERT_EQ(IdOf(cached.Get()), 3);

  absl::Notification a_started;
  absl::Notification b_loaded;
  const Memo<Blob> a(
      "a",
      [&]() -> BlobOr {
        a_started.Notify();
        // Only another thread's load of b can let this one finish: were the
        // cache locked during a load, b would wait for a and a time out.
        if (!b_loaded.WaitForNotificationWithTimeout(kHang)) {
          return absl::DeadlineExceededError("b did not load while a was loading");
        }
        return NewBlob(1);
      },
      nullptr, &cache);
  const Memo<Blob> b(
      "b",
      [&]() -> BlobOr {
        b_loaded.Notify();
        return NewBlob(2);
      },
      nullptr, &cache);

  std::atomic<int> a_id{0};
  std::thread loader([&] { a_id.store(IdOf(a.Get())); });
  const bool started = a_started.WaitForNotificationWithTimeout(kHang);
  EXPECT_TRUE(started);
  if (started) {
    EXPECT_EQ(IdOf(cached.Get()), 3);
    EXPECT_EQ(IdOf(b.Get()), 2);
  }
  loader.join();

  EXPECT_EQ(a_id.load(), 1);
  EXPECT_EQ(cache.stats().loads, 3);
  EXPECT_EQ(cache.stats().hits, 1);
}

TEST(MemoCacheTest, AnErrorIsSharedByItsWaitersAndNotCached) {
  MemoCache cache;
  absl::Notification started;
  absl::Notification release;
  std::atomic<int> first_calls{0};
  const Memo<Blob> first(
      "model",
      [&]() -> BlobOr {
        first_calls.fetch_add(1);
        started.Notify();
        release.WaitForNotificationWithTimeout(kHang);
        return absl::UnavailableError("disk gone");
      },
      nullptr, &cache);
  // The waiters ask through another memo of the same key: its loader runs
  // only for a thread that arrives after the first load has failed.
  std::atomic<int> late_calls{0};
  const Memo<Blob> waiter(
      "model",
      [&]() -> BlobOr {
        late_calls.fetch_add(1);
        return absl::UnavailableError("late");
      },
      nullptr, &cache);

  std::atomic<absl::StatusCode> first_code{absl::StatusCode::kOk};
  std::thread loader([&] { first_code.store(first.Get().status().code()); });
  if (!started.WaitForNotificationWithTimeout(kHang)) {
    release.Notify();
    loader.join();
    FAIL() << "the first load never started";
  }

  constexpr int kWaiters = 4;
  std::atomic<int> shared{0};  // got "disk gone" without a load of their own
  std::atomic<int> other{0};   // got anything else
  std::vector<std::thread> waiters;
  for (int i = 0; i < kWaiters; ++i) {
    waiters.emplace_back([&] {
      const absl::Status status = waiter.Get().status();
      const bool disk_gone =
          status.code() == absl::StatusCode::kUnavailable && status.message() == "disk gone";
      (disk_gone ? shared : other).fetch_add(1);
    });
  }
  // Every waiter is blocked on the first load (the cache counts it under its
  // lock before it waits) before that load is let fail.
  const absl::Time deadline = absl::Now() + kHang;
  while (cache.stats().waits < kWaiters && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_EQ(cache.stats().waits, kWaiters) << "the waiters never reached the cache";
  release.Notify();
  loader.join();
  for (std::thread& thread : waiters) thread.join();

  EXPECT_EQ(first_code.load(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(first_calls.load(), 1);
  // All of them share the failed load: none loads by itself.
  EXPECT_EQ(shared.load(), kWaiters);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(late_calls.load(), 0);
  EXPECT_FALSE(cache.Contains("model"));
  MemoStats stats = cache.stats();
  EXPECT_EQ(stats.load_failures, 1);
  EXPECT_EQ(stats.loads, 0);
  EXPECT_EQ(stats.hits, 0);
  EXPECT_EQ(stats.entries, 0);

  // Not cached: the next Get loads again.
  const Memo<Blob> good = Fixed("model", 5, cache);
  EXPECT_EQ(IdOf(good.Get()), 5);
  stats = cache.stats();
  EXPECT_EQ(stats.loads, 1);
  EXPECT_EQ(stats.reloads, 0) << "a failed load is no load to count a reload against";
  EXPECT_TRUE(cache.Contains("model"));
}

TEST(MemoCacheTest, ALoadAfterAnEvictionIsAReload) {
  MemoCache cache;
  int calls = 0;
  const Memo<Blob> memo(
      "embeddings",
      [&calls]() -> BlobOr {
        ++calls;
        absl::SleepFor(absl::Milliseconds(2));
        return NewBlob(calls);
      },
      [](const Blob&) { return int64_t{100}; }, &cache);
  const Memo<Blob> once = Fixed("once", 9, cache);

  EXPECT_EQ(IdOf(memo.Get()), 1);
  EXPECT_EQ(IdOf(memo.Get()), 1);
  EXPECT_EQ(IdOf(once.Get()), 9);
  EXPECT_TRUE(Evict(memo));
  EXPECT_FALSE(Evict(memo));
  EXPECT_EQ(IdOf(memo.Get()), 2) << "evicted, so loaded again";

  MemoStats stats = cache.stats();
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(stats.loads, 3);
  EXPECT_EQ(stats.hits, 1);
  EXPECT_EQ(stats.evictions, 1);
  EXPECT_EQ(stats.evicted_in_use, 0);
  EXPECT_EQ(stats.reloads, 1);
  EXPECT_THAT(stats.reloads_by_key, ElementsAre(Pair("embeddings", 1)));
  EXPECT_GT(stats.reload_seconds, 0);
  EXPECT_GE(stats.load_seconds, stats.reload_seconds);
  EXPECT_EQ(stats.entries, 2);
  EXPECT_EQ(stats.bytes, 200);

  // Counters restart; the entries, and which keys were evicted, stay.
  cache.ResetStats();
  stats = cache.stats();
  EXPECT_EQ(stats.loads, 0);
  EXPECT_EQ(stats.hits, 0);
  EXPECT_EQ(stats.reloads, 0);
  EXPECT_TRUE(stats.reloads_by_key.empty());
  EXPECT_EQ(stats.load_seconds, 0);
  EXPECT_EQ(stats.entries, 2);
  EXPECT_EQ(stats.bytes, 200);
  EXPECT_TRUE(Evict(memo));
  EXPECT_EQ(IdOf(memo.Get()), 3);
  EXPECT_EQ(cache.stats().reloads, 1);
}

TEST(MemoCacheTest, EvictByKeyOrValueAndClear) {
  MemoCache cache;
  const Memo<Blob> a = Fixed("a", 1, cache);
  const Memo<Blob> b = Fixed("b", 2, cache);
  absl::StatusOr<std::shared_ptr<Blob>> a_value = a.Get();
  ASSERT_TRUE(a_value.ok());
  ASSERT_EQ(IdOf(b.Get()), 2);

  EXPECT_EQ(cache.KeyOfValue(a_value->get()), std::optional<std::string>("a"));
  const Blob stranger{1};
  EXPECT_EQ(cache.KeyOfValue(&stranger), std::nullopt);
  EXPECT_FALSE(EvictByValue(stranger, cache)) << "an equal value elsewhere is not the entry";

  EXPECT_TRUE(EvictByValue(**a_value, cache));
  EXPECT_FALSE(cache.Contains("a"));
  EXPECT_TRUE(cache.Contains("b"));
  EXPECT_EQ(cache.KeyOfValue(a_value->get()), std::nullopt);
  EXPECT_FALSE(EvictByValue(**a_value, cache));
  EXPECT_EQ(cache.stats().evicted_in_use, 1) << "a_value still holds it";

  EXPECT_FALSE(cache.Evict("nothing"));
  EXPECT_TRUE(cache.Evict("b"));
  EXPECT_EQ(cache.stats().entries, 0);
  EXPECT_EQ(cache.stats().bytes, 0);

  ASSERT_EQ(IdOf(a.Get()), 1);
  ASSERT_EQ(IdOf(b.Get()), 2);
  cache.Clear();
  MemoStats stats = cache.stats();
  EXPECT_FALSE(cache.Contains("a"));
  EXPECT_FALSE(cache.Contains("b"));
  EXPECT_EQ(stats.entries, 0);
  EXPECT_EQ(stats.bytes, 0);
  EXPECT_EQ(stats.evictions, 4);
  EXPECT_EQ(stats.reloads, 2);
  cache.Clear();
  EXPECT_EQ(cache.stats().evictions, 4);
}

TEST(MemoCacheTest, CopiesShareTheEntryAndTheGlobalCacheIsTheDefault) {
  MemoCache& global = MemoCache::Global();
  EXPECT_EQ(&global, &MemoCache::Global());
  int calls = 0;
  const Memo<Blob> memo(
      "bench_memo_test/global", [&calls]() -> BlobOr { return NewBlob(++calls); }, nullptr);
  const Memo<Blob> copy = memo;
  EXPECT_EQ(&copy.cache(), &global);
  EXPECT_EQ(copy.key(), "bench_memo_test/global");

  absl::StatusOr<std::shared_ptr<Blob>> from_memo = memo.Get();
  absl::StatusOr<std::shared_ptr<Blob>> from_copy = copy.Get();
  ASSERT_TRUE(from_memo.ok());
  ASSERT_TRUE(from_copy.ok());
  EXPECT_EQ(from_memo->get(), from_copy->get());
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(global.Contains("bench_memo_test/global"));
  EXPECT_TRUE(EvictByValue(**from_copy));  // the global cache by default
  EXPECT_FALSE(Evict(memo));
}

TEST(MemoCacheTest, TheCapacityEvictsTheLeastRecentlyUsed) {
  MemoCache cache(250);
  EXPECT_EQ(cache.capacity(), 250);
  const Memo<Blob> a = Fixed("a", 1, cache);
  const Memo<Blob> b = Fixed("b", 2, cache);
  const Memo<Blob> c = Fixed("c", 3, cache);
  const Memo<Blob> big = Fixed("big", 4, cache, /*bytes=*/1000);

  for (const Memo<Blob>* memo : {&a, &b, &a, &c}) {
    EXPECT_GT(IdOf(memo->Get()), 0);
    EXPECT_LE(cache.stats().bytes, 250) << "after " << memo->key();
  }
  // a was loaded first but used after b: b goes.
  EXPECT_TRUE(cache.Contains("a"));
  EXPECT_FALSE(cache.Contains("b"));
  EXPECT_TRUE(cache.Contains("c"));
  MemoStats stats = cache.stats();
  EXPECT_EQ(stats.capacity_evictions, 1);
  EXPECT_EQ(stats.evictions, 0);
  EXPECT_EQ(stats.entries, 2);
  EXPECT_EQ(stats.bytes, 200);

  // Larger than the whole capacity: it stays, alone.
  EXPECT_EQ(IdOf(big.Get()), 4);
  EXPECT_TRUE(cache.Contains("big"));
  stats = cache.stats();
  EXPECT_EQ(stats.entries, 1);
  EXPECT_EQ(stats.bytes, 1000);
  EXPECT_EQ(stats.capacity_evictions, 3);
  // Until something else is used.
  EXPECT_EQ(IdOf(a.Get()), 1);
  EXPECT_FALSE(cache.Contains("big"));
  EXPECT_EQ(cache.stats().bytes, 100);

  // A smaller capacity applies at once.
  EXPECT_EQ(IdOf(b.Get()), 2);
  EXPECT_EQ(IdOf(a.Get()), 1);
  cache.SetCapacity(150);
  EXPECT_EQ(cache.capacity(), 150);
  EXPECT_TRUE(cache.Contains("a"));
  EXPECT_FALSE(cache.Contains("b"));
  EXPECT_EQ(cache.stats().bytes, 100);

  // 0: no bound.
  cache.SetCapacity(0);
  for (const Memo<Blob>* memo : {&b, &c, &big}) EXPECT_GT(IdOf(memo->Get()), 0);
  EXPECT_EQ(cache.stats().entries, 4);
  EXPECT_EQ(cache.stats().bytes, 1300);
}

// Sets a flag when destroyed. Neither copyable nor movable: the loader's
// unique_ptr is what lets a memo hold it.
class Tracked {
 public:
  explicit Tracked(std::atomic<bool>* destroyed) : destroyed_(destroyed) {}
  Tracked(const Tracked&) = delete;
  Tracked& operator=(const Tracked&) = delete;
  ~Tracked() { destroyed_->store(true); }

 private:
  std::atomic<bool>* destroyed_;
};

Memo<Tracked> TrackedMemo(const std::string& key, std::atomic<bool>* destroyed, MemoCache& cache) {
  return Memo<Tracked>(
      key,
      [destroyed]() -> absl::StatusOr<std::unique_ptr<Tracked>> {
        return std::make_unique<Tracked>(destroyed);
      },
      [](const Tracked&) { return int64_t{100}; }, &cache);
}

TEST(MemoCacheTest, AValueInUseOutlivesItsEviction) {
  MemoCache cache(150);
  std::atomic<bool> held_destroyed{false};
  std::atomic<bool> dropped_destroyed{false};
  std::atomic<bool> pushed_destroyed{false};
  const Memo<Tracked> held_memo = TrackedMemo("held", &held_destroyed, cache);
  const Memo<Tracked> dropped_memo = TrackedMemo("dropped", &dropped_destroyed, cache);
  const Memo<Tracked> pushed_memo = TrackedMemo("pushed", &pushed_destroyed, cache);

  absl::StatusOr<std::shared_ptr<Tracked>> held = held_memo.Get();
  ASSERT_TRUE(held.ok());
  EXPECT_TRUE(Evict(held_memo));
  EXPECT_FALSE(held_destroyed.load()) << "evicted while in use";
  EXPECT_EQ(cache.stats().evicted_in_use, 1);
  held->reset();
  EXPECT_TRUE(held_destroyed.load()) << "its last user let go";

  ASSERT_TRUE(dropped_memo.Get().ok());
  EXPECT_FALSE(dropped_destroyed.load()) << "the cache holds it";
  EXPECT_TRUE(Evict(dropped_memo));
  EXPECT_TRUE(dropped_destroyed.load()) << "nobody else held it";
  EXPECT_EQ(cache.stats().evicted_in_use, 1);

  // Evicted for the capacity while in use.
  absl::StatusOr<std::shared_ptr<Tracked>> pushed = pushed_memo.Get();
  ASSERT_TRUE(pushed.ok());
  ASSERT_TRUE(dropped_memo.Get().ok());
  EXPECT_FALSE(cache.Contains("pushed"));
  EXPECT_FALSE(pushed_destroyed.load());
  EXPECT_EQ(cache.stats().capacity_evictions, 1);
  EXPECT_EQ(cache.stats().evicted_in_use, 2);
  pushed->reset();
  EXPECT_TRUE(pushed_destroyed.load());
}

TEST(MemoCacheTest, EvictingAKeyWhileItLoadsHandsTheValueOverWithoutKeepingIt) {
  MemoCache cache;
  absl::Notification started;
  absl::Notification release;
  int calls = 0;  // the loader runs in `loader`, then (after join) in this thread
  const Memo<Blob> memo(
      "model",
      [&]() -> BlobOr {
        ++calls;
        if (calls == 1) {
          started.Notify();
          release.WaitForNotificationWithTimeout(kHang);
        }
        return NewBlob(calls);
      },
      [](const Blob&) { return int64_t{100}; }, &cache);

  std::atomic<int> loaded_id{0};
  std::thread loader([&] { loaded_id.store(IdOf(memo.Get())); });
  const bool loading = started.WaitForNotificationWithTimeout(kHang);
  EXPECT_TRUE(loading);
  EXPECT_FALSE(cache.Contains("model")) << "not cached until loaded";
  EXPECT_EQ(Evict(memo), loading) << "a key being loaded counts as cached";
  release.Notify();
  loader.join();

  EXPECT_EQ(loaded_id.load(), 1) << "its caller still gets the value";
  EXPECT_FALSE(cache.Contains("model"));
  MemoStats stats = cache.stats();
  EXPECT_EQ(stats.loads, 1);
  EXPECT_EQ(stats.evictions, 1);
  EXPECT_EQ(stats.evicted_in_use, 1);
  EXPECT_EQ(stats.entries, 0);
  EXPECT_EQ(stats.bytes, 0);
  EXPECT_EQ(IdOf(memo.Get()), 2);
  EXPECT_EQ(cache.stats().reloads, 1);
}

struct Apples {
  int count = 0;
};
struct Oranges {
  int count = 0;
};

TEST(MemoCacheTest, AKeyHasOneTypeAndTheErrorNamesBoth) {
  EXPECT_TRUE(TypeTagOf<int>() == TypeTagOf<int>());
  EXPECT_TRUE(TypeTagOf<int>() != TypeTagOf<long>());
  EXPECT_THAT(TypeTagOf<std::vector<int>>().name, HasSubstr("std::vector<int"));

  MemoCache cache;
  const Memo<Apples> apples(
      "fruit",
      []() -> absl::StatusOr<std::unique_ptr<Apples>> { return std::make_unique<Apples>(); },
      nullptr, &cache);
  const Memo<Oranges> oranges(
      "fruit",
      []() -> absl::StatusOr<std::unique_ptr<Oranges>> { return std::make_unique<Oranges>(); },
      nullptr, &cache);
  ASSERT_TRUE(apples.Get().ok());
  const absl::Status mismatch = oranges.Get().status();
  EXPECT_EQ(mismatch.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(mismatch.message(), HasSubstr("'fruit'"));
  EXPECT_THAT(mismatch.message(), HasSubstr("mnemo::bench::(anonymous namespace)::Apples"));
  EXPECT_THAT(mismatch.message(), HasSubstr("mnemo::bench::(anonymous namespace)::Oranges"));
  EXPECT_TRUE(apples.Get().ok()) << "the cached value is untouched";
  EXPECT_EQ(cache.stats().loads, 1);
  EXPECT_EQ(cache.stats().hits, 1);

  // While the key loads as Apples, Oranges are refused at once, not after
  // waiting for the load.
  absl::Notification started;
  absl::Notification release;
  std::atomic<bool> finished{false};
  const Memo<Apples> slow_apples(
      "basket",
      [&]() -> absl::StatusOr<std::unique_ptr<Apples>> {
        started.Notify();
        release.WaitForNotificationWithTimeout(kHang);
        finished.store(true);
        return std::make_unique<Apples>();
      },
      nullptr, &cache);
  const Memo<Oranges> basket_oranges(
      "basket",
      []() -> absl::StatusOr<std::unique_ptr<Oranges>> { return std::make_unique<Oranges>(); },
      nullptr, &cache);
  std::atomic<bool> slow_ok{false};
  std::thread loader([&] { slow_ok.store(slow_apples.Get().ok()); });
  if (started.WaitForNotificationWithTimeout(kHang)) {
    EXPECT_EQ(basket_oranges.Get().status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_FALSE(finished.load()) << "the mismatch waited for the load";
  } else {
    ADD_FAILURE() << "the load never started";
  }
  release.Notify();
  loader.join();
  EXPECT_TRUE(slow_ok.load());
}

TEST(MemoCacheTest, ABadLoaderFailsTheLoad) {
  MemoCache cache;
  const Memo<Blob> null_value(
      "null", []() -> BlobOr { return std::unique_ptr<Blob>(); }, nullptr, &cache);
  EXPECT_EQ(null_value.Get().status().code(), absl::StatusCode::kInvalidArgument);
  const Memo<Blob> no_loader("none", nullptr, nullptr, &cache);
  EXPECT_EQ(no_loader.Get().status().code(), absl::StatusCode::kInvalidArgument);
  const absl::StatusOr<std::shared_ptr<void>> negative =
      cache.GetOrLoad("negative", TypeTagOf<Blob>(), []() -> absl::StatusOr<MemoCache::Loaded> {
        return MemoCache::Loaded{std::make_shared<Blob>(), -1};
      });
  EXPECT_EQ(negative.status().code(), absl::StatusCode::kInvalidArgument);

  const MemoStats stats = cache.stats();
  EXPECT_EQ(stats.load_failures, 3);
  EXPECT_EQ(stats.loads, 0);
  EXPECT_EQ(stats.entries, 0);
}

TEST(MemoCacheTest, StressKeepsTheInvariants) {
  constexpr int kKeys = 5;
  constexpr int kThreads = 6;
  constexpr int kOps = 3000;
  constexpr int64_t kBytes = 100;
  MemoCache cache(250);  // two of the five values

  struct Value {
    int key = 0;
  };
  std::array<std::atomic<int>, kKeys> calls{};
  std::vector<Memo<Value>> memos;
  for (int k = 0; k < kKeys; ++k) {
    memos.emplace_back(
        "key" + std::to_string(k),
        [k, &calls]() -> absl::StatusOr<std::unique_ptr<Value>> {
          calls[k].fetch_add(1);
          return std::make_unique<Value>(Value{k});
        },
        [](const Value&) { return kBytes; }, &cache);
  }

  std::atomic<int64_t> gets{0};
  std::atomic<int64_t> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(1234 + t);
      std::shared_ptr<Value> held;  // the last value got, for EvictByValue
      for (int op = 0; op < kOps; ++op) {
        const int k = static_cast<int>(rng() % kKeys);
        const int choice = static_cast<int>(rng() % 100);
        if (choice < 60) {
          absl::StatusOr<std::shared_ptr<Value>> value = memos[k].Get();
          if (!value.ok() || (*value)->key != k) {
            wrong.fetch_add(1);
          } else {
            gets.fetch_add(1);
            held = *std::move(value);
          }
        } else if (choice < 75) {
          Evict(memos[k]);
        } else if (choice < 87) {
          if (held != nullptr) EvictByValue(*held, cache);
          held.reset();
        } else if (choice < 97) {
          // Readers, checked against what holds at every moment.
          if (held != nullptr) {
            const std::optional<std::string> key = cache.KeyOfValue(held.get());
            if (key.has_value() && *key != memos[held->key].key()) wrong.fetch_add(1);
          }
          cache.Contains(memos[k].key());
          const MemoStats stats = cache.stats();
          if (stats.bytes != stats.entries * kBytes || stats.bytes > 250) wrong.fetch_add(1);
        } else {
          cache.Clear();
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(wrong.load(), 0);
  const MemoStats stats = cache.stats();
  int64_t cached = 0;
  int64_t loaded_keys = 0;
  int64_t loader_calls = 0;
  for (int k = 0; k < kKeys; ++k) {
    cached += cache.Contains(memos[k].key());
    loaded_keys += calls[k].load() > 0;
    loader_calls += calls[k].load();
  }
  EXPECT_EQ(stats.entries, cached);
  EXPECT_EQ(stats.bytes, cached * kBytes);
  EXPECT_LE(stats.entries, kKeys);
  EXPECT_LE(stats.bytes, 250);
  EXPECT_EQ(stats.loads, loader_calls);
  EXPECT_EQ(stats.load_failures, 0);
  EXPECT_EQ(stats.hits + stats.loads, gets.load()) << "every Get is a hit or a load";
  EXPECT_EQ(stats.loads, stats.evictions + stats.capacity_evictions + stats.entries)
      << "every value loaded is cached or was evicted, once";
  EXPECT_EQ(stats.loads - stats.reloads, loaded_keys) << "one first load per key";
  int64_t reloads_by_key = 0;
  for (const auto& [key, reloads] : stats.reloads_by_key) reloads_by_key += reloads;
  EXPECT_EQ(reloads_by_key, stats.reloads);
  EXPECT_GT(stats.reloads, 0);
  EXPECT_GT(stats.capacity_evictions, 0);
}

}  // namespace
}  // namespace mnemo::bench
