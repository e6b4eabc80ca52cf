// LruMemo (caching/memo/lru_memo.h) and the named memos under many threads:
// lookups, inserts, refreshes, refusals, invalidation and clearing all at
// once, on rows of several widths whose hashes collide in long chains. After
// the stress, the counters must add up with what the threads saw, and a scan
// of every row that could be stored must find exactly the entries and bytes
// the memo reports, each with its own signature's output. Run under
// ThreadSanitizer too (./bazelw test --config=tsan //tests/concurrency/...).

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "caching/memo/lru_memo.h"
#include "caching/memo/named_memos.h"
#include "tests/testing/tensors.h"

namespace mnemo::caching::memo {
namespace {

using ::mnemo::testing::SameBits;

using Row = std::vector<float>;

constexpr int kSignatures = 3;
constexpr int kRows = 240;  // per signature; the capacity holds about an eighth of all

const Signature& SignatureOf(int s) {
  static const Signature kAll[kSignatures] = {{7, 1}, {7, 2}, {8, 1}};
  return kAll[s];
}

// Row `i`'s input: 3 to 5 floats, so that entries differ in size and chains
// mix widths.
Row Input(int i) {
  Row row(3 + i % 3);
  for (size_t k = 0; k < row.size(); ++k) row[k] = static_cast<float>(i) + 0.25f * k;
  return row;
}

// What signature `s`'s function gives for row `i`: 1 or 2 floats, different
// for every signature, so a hit under the wrong signature shows.
Row Output(int s, int i) {
  Row out(1 + i % 2);
  for (size_t k = 0; k < out.size(); ++k) {
    out[k] = std::sin(static_cast<float>(i) * (k + 1)) + 100.0f * s;
  }
  return out;
}

size_t BytesOf(int i) { return LruMemo::EntryBytes(Input(i).size(), Output(0, i).size()); }

// Eight distinct hashes for 720 rows: every chain is long, and holds rows of
// every width and signature.
uint64_t CollidingHash(absl::Span<const float> row) { return LruMemo::DefaultRowHash(row) & 7; }

// What one thread saw.
struct Seen {
  uint64_t lookups = 0;
  uint64_t hits = 0;
  uint64_t inserts = 0;  // Insert calls that returned true
  uint64_t refused = 0;  // Insert calls that returned false
  uint64_t dropped = 0;  // summed DropSignature results
  uint64_t wrong = 0;    // hits with another row's or signature's output, broken figures
};

// Looks every row of every signature up in `memo` (one thread, after the
// stress) and checks that what it finds is exactly what stats() reports.
void ExpectScanMatchesStats(LruMemo& memo) {
  const MemoStats before = memo.stats();
  size_t found = 0;
  size_t bytes = 0;
  for (int s = 0; s < kSignatures; ++s) {
    for (int i = 0; i < kRows; ++i) {
      const Row expected = Output(s, i);
      Row out(expected.size());
      if (memo.Lookup(SignatureOf(s), Input(i), absl::MakeSpan(out))) {
        ++found;
        bytes += BytesOf(i);
        EXPECT_TRUE(SameBits(out, expected)) << "signature " << s << ", row " << i;
      }
    }
  }
  EXPECT_EQ(found, before.entries);
  EXPECT_EQ(bytes, before.bytes);
  EXPECT_LE(before.bytes, before.capacity_bytes);
  const MemoStats after = memo.stats();
  EXPECT_EQ(after.hits - before.hits, found);
  EXPECT_EQ(after.misses - before.misses, kSignatures * kRows - found);
}

// One random operation on `memo`; Clear only when `may_clear`.
void RandomOperation(LruMemo& memo, std::mt19937& rng, bool may_clear, Seen* seen) {
  const int s = static_cast<int>(rng() % kSignatures);
  const int i = static_cast<int>(rng() % kRows);
  const int choice = static_cast<int>(rng() % 1000);
  const Row input = Input(i);
  if (choice < 520) {
    const Row expected = Output(s, i);
    Row out(expected.size());
    ++seen->lookups;
    // The hash computed outside the lock, as the memo strategy does.
    if (memo.Lookup(SignatureOf(s), memo.Hash(input), input, absl::MakeSpan(out))) {
      ++seen->hits;
      if (!SameBits(out, expected)) ++seen->wrong;
    }
  } else if (choice < 560) {
    // An output of the wrong width is a miss, never a partial copy.
    Row out(Output(s, i).size() + 1, -1.0f);
    ++seen->lookups;
    if (memo.Lookup(SignatureOf(s), input, absl::MakeSpan(out))) {
      ++seen->hits;
      ++seen->wrong;
    }
  } else if (choice < 900) {
    if (memo.Insert(SignatureOf(s), input, Output(s, i))) {
      ++seen->inserts;
    } else {
      ++seen->wrong;  // every regular row fits
    }
  } else if (choice < 920) {
    // Larger than the whole capacity: refused, nothing evicted for it.
    const Row huge(memo.capacity_bytes() / sizeof(float), 1.0f);
    if (memo.Insert(SignatureOf(s), huge, Output(s, i))) {
      ++seen->wrong;
    } else {
      ++seen->refused;
    }
  } else if (choice < 923) {
    // Rare, as a frozen layer's update is: entries pile up and get evicted.
    seen->dropped += memo.DropSignature(SignatureOf(s));
  } else if (choice < 926 && may_clear) {
    memo.Clear();
  } else {
    // Readers see a consistent state at every moment.
    const MemoStats stats = memo.stats();
    if (stats.bytes > stats.capacity_bytes) ++seen->wrong;
    if (stats.bytes < stats.entries * BytesOf(0) || stats.bytes > stats.entries * BytesOf(5)) {
      ++seen->wrong;  // every entry is between the smallest and the largest row's size
    }
  }
}

constexpr int kThreads = 8;
constexpr int kOperations = 6000;

size_t Capacity() {
  size_t all = 0;
  for (int i = 0; i < kRows; ++i) all += BytesOf(i);
  return all * kSignatures / 8;
}

TEST(LruMemoStressTest, CountersAndContentsAgreeAfterConcurrentUse) {
  LruMemo memo(Capacity(), &CollidingHash);
  std::vector<Seen> seen(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&memo, &seen, t] {
      std::mt19937 rng(2024 + t);
      for (int op = 0; op < kOperations; ++op) RandomOperation(memo, rng, false, &seen[t]);
    });
  }
  for (std::thread& thread : threads) thread.join();

  Seen total;
  for (const Seen& s : seen) {
    total.lookups += s.lookups;
    total.hits += s.hits;
    total.inserts += s.inserts;
    total.refused += s.refused;
    total.dropped += s.dropped;
    total.wrong += s.wrong;
  }
  EXPECT_EQ(total.wrong, 0u);
  const MemoStats stats = memo.stats();
  EXPECT_EQ(stats.hits, total.hits);
  EXPECT_EQ(stats.hits + stats.misses, total.lookups);
  EXPECT_EQ(stats.refused, total.refused);
  EXPECT_EQ(stats.dropped, total.dropped);
  // Every successful insert made an entry that is still there, was evicted,
  // was dropped, or was replaced by a refresh (counted by none of them).
  EXPECT_LE(stats.entries + stats.evictions + stats.dropped, total.inserts);
  EXPECT_EQ(stats.capacity_bytes, Capacity());
  // The stress did what it is for.
  EXPECT_GT(stats.hits, 0u);
  EXPECT_GT(stats.evictions, 0u);
  EXPECT_GT(stats.dropped, 0u);
  EXPECT_GT(stats.refused, 0u);

  ExpectScanMatchesStats(memo);
  // Dropping every signature empties the memo.
  size_t dropped = 0;
  const size_t entries = memo.stats().entries;
  for (int s = 0; s < kSignatures; ++s) dropped += memo.DropSignature(SignatureOf(s));
  EXPECT_EQ(dropped, entries);
  EXPECT_EQ(memo.stats().entries, 0u);
  EXPECT_EQ(memo.stats().bytes, 0u);
}

// Clear zeroes the counters, so with it in the mix only the memo's structure
// can be checked: every hit exact, and contents matching the figures.
TEST(LruMemoStressTest, ClearingWhileOthersReadAndWriteLeavesAConsistentMemo) {
  LruMemo memo(Capacity(), &CollidingHash);
  std::vector<Seen> seen(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&memo, &seen, t] {
      std::mt19937 rng(4096 + t);
      for (int op = 0; op < kOperations; ++op) RandomOperation(memo, rng, true, &seen[t]);
    });
  }
  for (std::thread& thread : threads) thread.join();

  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(seen[t].wrong, 0u) << "thread " << t;
  ExpectScanMatchesStats(memo);
  memo.Clear();
  const MemoStats cleared = memo.stats();
  EXPECT_EQ(cleared.entries, 0u);
  EXPECT_EQ(cleared.bytes, 0u);
  EXPECT_EQ(cleared.hits + cleared.misses + cleared.evictions, 0u);
}

// Networks built on several threads at once ask for their memo by name: each
// name is made once, every thread gets that one, and the memo they share
// works for all of them.
TEST(LruMemoStressTest, NamedMemosAreMadeOnceAndShared) {
  constexpr int kNames = 3;
  constexpr size_t kCapacity = 1 << 20;
  const std::string prefix = "lru_memo_stress_test/";
  std::vector<std::vector<LruMemo*>> got(kThreads, std::vector<LruMemo*>(kNames, nullptr));
  std::atomic<int> errors{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        for (int n = 0; n < kNames; ++n) {
          const int name = (n + t + round) % kNames;
          absl::StatusOr<std::shared_ptr<LruMemo>> memo =
              NamedMemo(prefix + std::to_string(name), kCapacity);
          if (!memo.ok() || *memo == nullptr) {
            errors.fetch_add(1);
            continue;
          }
          LruMemo*& first = got[t][name];
          if (first == nullptr) first = memo->get();
          if (first != memo->get()) errors.fetch_add(1);
          // Each thread stores its own rows (round 0 only) under the name's
          // signature, and reads them all back at the end.
          if (round == 0)
            (*memo)->Insert(SignatureOf(name % kSignatures), Input(t),
                            Output(name % kSignatures, t));
          // Another capacity for an existing name is refused, whoever asks.
          if (round == 1 && n == 0) {
            absl::StatusOr<std::shared_ptr<LruMemo>> other =
                NamedMemo(prefix + std::to_string(name), kCapacity + 1);
            if (other.status().code() == absl::StatusCode::kFailedPrecondition) {
              refused.fetch_add(1);
            }
          }
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(refused.load(), kThreads);
  for (int n = 0; n < kNames; ++n) {
    for (int t = 1; t < kThreads; ++t) EXPECT_EQ(got[t][n], got[0][n]) << "name " << n;
    for (int other = 0; other < n; ++other) EXPECT_NE(got[0][n], got[0][other]);
    absl::StatusOr<std::shared_ptr<LruMemo>> memo =
        NamedMemo(prefix + std::to_string(n), kCapacity);
    ASSERT_TRUE(memo.ok()) << memo.status();
    EXPECT_EQ(memo->get(), got[0][n]);
    EXPECT_EQ((*memo)->stats().entries, static_cast<size_t>(kThreads));
    for (int t = 0; t < kThreads; ++t) {
      const Row expected = Output(n % kSignatures, t);
      Row out(expected.size());
      EXPECT_TRUE((*memo)->Lookup(SignatureOf(n % kSignatures), Input(t), absl::MakeSpan(out)));
      EXPECT_TRUE(SameBits(out, expected)) << "name " << n << ", thread " << t;
    }
  }
}

}  // namespace
}  // namespace mnemo::caching::memo
