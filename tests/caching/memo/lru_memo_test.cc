// LruMemo: exact results, least-recently-used eviction within a byte bound,
// statistics, invalidation, collisions that never return a wrong row, and
// concurrent use.

#include "caching/memo/lru_memo.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/tensors.h"

namespace mnemo::caching::memo {
namespace {

using ::mnemo::testing::SameBits;

constexpr int kIn = 6;
constexpr int kOut = 3;
const Signature kSignature{1, 2};
const Signature kOtherSignature{1, 3};

using Row = std::vector<float>;

// Input row `i` (distinct for every i) and the output a memoized function
// would give for it.
Row Input(int i) {
  Row row(kIn);
  for (int k = 0; k < kIn; ++k) row[k] = static_cast<float>(i) + 0.125f * k;
  return row;
}
Row Output(const Row& input) {
  Row out(kOut);
  for (int k = 0; k < kOut; ++k) out[k] = std::sin(input[0] * (k + 1)) + input[kIn - 1];
  return out;
}

// Whether `i` is stored (a Lookup, so it also refreshes the entry).
bool Holds(LruMemo& memo, int i, const Signature& signature = kSignature) {
  Row out(kOut);
  return memo.Lookup(signature, Input(i), absl::MakeSpan(out));
}

size_t Entry() { return LruMemo::EntryBytes(kIn, kOut); }

TEST(LruMemoTest, AHitReturnsTheStoredRowBitForBit) {
  LruMemo memo(1 << 20);
  // Values whose bits a careless copy or comparison would lose.
  const Row input = {0.0f, -0.0f, std::numeric_limits<float>::denorm_min(),
                     std::numeric_limits<float>::quiet_NaN(), -1e30f, 1.0f / 3.0f};
  const Row output = {std::numeric_limits<float>::quiet_NaN(), -0.0f,
                      std::numeric_limits<float>::infinity()};
  ASSERT_TRUE(memo.Insert(kSignature, input, output));

  Row got(kOut, 7.0f);
  ASSERT_TRUE(memo.Lookup(kSignature, input, absl::MakeSpan(got)));
  EXPECT_TRUE(SameBits(got, output));

  Row positive_zero = input;
  positive_zero[1] = 0.0f;  // == -0.0f as a float, but other bits: another input
  Row untouched(kOut, 7.0f);
  EXPECT_FALSE(memo.Lookup(kSignature, positive_zero, absl::MakeSpan(untouched)));
  EXPECT_FALSE(memo.Lookup(kOtherSignature, input, absl::MakeSpan(untouched)));
  EXPECT_TRUE(SameBits(untouched, Row(kOut, 7.0f))) << "a miss must not write the output";

  const MemoStats stats = memo.stats();
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.misses, 2u);
  EXPECT_EQ(stats.entries, 1u);
  EXPECT_EQ(stats.bytes, Entry());
  EXPECT_EQ(stats.capacity_bytes, 1u << 20);
  EXPECT_EQ(stats.evictions, 0u);
}

TEST(LruMemoTest, EntryBytesCountTheRowsAndABookkeepingEstimate) {
  EXPECT_GT(Entry(), (kIn + kOut) * sizeof(float));
  EXPECT_LT(Entry(), (kIn + kOut) * sizeof(float) + 512);
  EXPECT_EQ(LruMemo::EntryBytes(784, 256) - LruMemo::EntryBytes(0, 0), 1040 * sizeof(float));
  EXPECT_EQ(LruMemo::EntryBytes(0, 0), 146u);  // as the header's comment says
}

TEST(LruMemoTest, EvictsTheLeastRecentlyUsedAndALookupRefreshes) {
  LruMemo memo(3 * Entry());  // room for exactly three
  for (int i : {0, 1, 2}) ASSERT_TRUE(memo.Insert(kSignature, Input(i), Output(Input(i))));
  EXPECT_EQ(memo.stats().entries, 3u);

  ASSERT_TRUE(Holds(memo, 0));  // recency now, oldest first: 1, 2, 0
  ASSERT_TRUE(memo.Insert(kSignature, Input(3), Output(Input(3))));  // evicts 1
  EXPECT_EQ(memo.stats().evictions, 1u);
  ASSERT_TRUE(memo.Insert(kSignature, Input(4), Output(Input(4))));  // evicts 2
  EXPECT_EQ(memo.stats().evictions, 2u);
  // Recency: 0, 3, 4. Checking 1 and 2 only misses (no refresh).
  EXPECT_FALSE(Holds(memo, 1));
  EXPECT_FALSE(Holds(memo, 2));
  ASSERT_TRUE(Holds(memo, 3));  // 0, 4, 3
  ASSERT_TRUE(memo.Insert(kSignature, Input(5), Output(Input(5))));  // evicts 0
  EXPECT_FALSE(Holds(memo, 0));
  EXPECT_TRUE(Holds(memo, 4));
  EXPECT_TRUE(Holds(memo, 3));
  EXPECT_TRUE(Holds(memo, 5));
  EXPECT_EQ(memo.stats().entries, 3u);
  EXPECT_EQ(memo.stats().evictions, 3u);
}

TEST(LruMemoTest, ReinsertingRefreshesInsteadOfDuplicating) {
  LruMemo memo(2 * Entry());
  ASSERT_TRUE(memo.Insert(kSignature, Input(0), Output(Input(0))));
  ASSERT_TRUE(memo.Insert(kSignature, Input(1), Output(Input(1))));
  ASSERT_TRUE(memo.Insert(kSignature, Input(0), Output(Input(0))));  // 0 is newest now
  EXPECT_EQ(memo.stats().entries, 2u);
  EXPECT_EQ(memo.stats().bytes, 2 * Entry());
  ASSERT_TRUE(memo.Insert(kSignature, Input(2), Output(Input(2))));  // evicts 1
  EXPECT_TRUE(Holds(memo, 0));
  EXPECT_FALSE(Holds(memo, 1));
}

TEST(LruMemoTest, NeverHoldsMoreThanItsCapacity) {
  const size_t capacity = 10 * LruMemo::EntryBytes(40, 10);
  LruMemo memo(capacity);
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    // Entries of varied sizes, so that several may go for one.
    const int in = 1 + static_cast<int>(rng() % 40);
    const int out = 1 + static_cast<int>(rng() % 10);
    Row input(in, static_cast<float>(i)), output(out, static_cast<float>(-i));
    ASSERT_TRUE(memo.Insert(kSignature, input, output));
    const MemoStats stats = memo.stats();
    ASSERT_LE(stats.bytes, capacity);
    ASSERT_GE(stats.entries, 1u);
  }
  EXPECT_GT(memo.stats().evictions, 1000u);
}

TEST(LruMemoTest, RefusesAnEntryLargerThanTheCapacity) {
  LruMemo memo(2 * Entry());
  ASSERT_TRUE(memo.Insert(kSignature, Input(0), Output(Input(0))));
  const Row huge(1000, 1.0f);
  EXPECT_FALSE(memo.Insert(kSignature, huge, Output(huge)));
  const MemoStats stats = memo.stats();
  EXPECT_EQ(stats.refused, 1u);
  EXPECT_EQ(stats.entries, 1u);  // the others stay
  EXPECT_EQ(stats.evictions, 0u);
  EXPECT_TRUE(Holds(memo, 0));
}

TEST(LruMemoTest, ClearEmptiesItAndZeroesTheCounters) {
  LruMemo memo(1 << 20);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(memo.Insert(kSignature, Input(i), Output(Input(i))));
  ASSERT_TRUE(Holds(memo, 1));
  memo.Clear();
  MemoStats stats = memo.stats();
  EXPECT_EQ(stats.entries, 0u);
  EXPECT_EQ(stats.bytes, 0u);
  EXPECT_EQ(stats.hits, 0u);
  EXPECT_EQ(stats.misses, 0u);
  EXPECT_EQ(stats.capacity_bytes, 1u << 20);
  EXPECT_FALSE(Holds(memo, 1));
  // Still usable.
  ASSERT_TRUE(memo.Insert(kSignature, Input(1), Output(Input(1))));
  EXPECT_TRUE(Holds(memo, 1));
}

TEST(LruMemoTest, DroppingASignatureInvalidatesOnlyItsEntries) {
  LruMemo memo(1 << 20);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(memo.Insert(kSignature, Input(i), Output(Input(i))));
    ASSERT_TRUE(memo.Insert(kOtherSignature, Input(i), Output(Input(i + 100))));
  }
  EXPECT_EQ(memo.DropSignature(kSignature), 4u);
  const MemoStats stats = memo.stats();
  EXPECT_EQ(stats.dropped, 4u);
  EXPECT_EQ(stats.entries, 4u);
  EXPECT_EQ(stats.bytes, 4 * Entry());
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(Holds(memo, i, kSignature));
    Row out(kOut);
    ASSERT_TRUE(memo.Lookup(kOtherSignature, Input(i), absl::MakeSpan(out)));
    EXPECT_TRUE(SameBits(out, Output(Input(i + 100))));
  }
}

// Every input hashes alike: each lookup must still find its own row, by the
// stored input, and never another's.
TEST(LruMemoTest, ForcedCollisionsNeverReturnAWrongRow) {
  const auto constant = [](absl::Span<const float>) -> uint64_t { return 42; };
  LruMemo memo(1 << 22, constant);
  constexpr int kStored = 300;
  for (int i = 0; i < kStored; ++i) {
    ASSERT_TRUE(memo.Insert(kSignature, Input(i), Output(Input(i))));
  }
  for (int i = 0; i < kStored; ++i) {
    Row out(kOut);
    ASSERT_TRUE(memo.Lookup(kSignature, Input(i), absl::MakeSpan(out))) << i;
    ASSERT_TRUE(SameBits(out, Output(Input(i)))) << i;
  }
  for (int i = kStored; i < 2 * kStored; ++i) EXPECT_FALSE(Holds(memo, i)) << i;
  // Inputs one bit apart.
  Row b = Input(0);
  uint32_t bits;
  std::memcpy(&bits, &b[3], sizeof(bits));
  bits ^= 1;
  std::memcpy(&b[3], &bits, sizeof(bits));
  Row out(kOut);
  EXPECT_FALSE(memo.Lookup(kSignature, b, absl::MakeSpan(out)));
  EXPECT_EQ(memo.stats().hits, static_cast<uint64_t>(kStored));
}

TEST(LruMemoTest, ForcedCollisionsSurviveEvictionAndInvalidation) {
  const auto constant = [](absl::Span<const float>) -> uint64_t { return 7; };
  LruMemo memo(50 * Entry(), constant);
  std::mt19937 rng(3);
  for (int step = 0; step < 5000; ++step) {
    const int i = static_cast<int>(rng() % 120);
    Row out(kOut);
    if (memo.Lookup(kSignature, Input(i), absl::MakeSpan(out))) {
      ASSERT_TRUE(SameBits(out, Output(Input(i)))) << "wrong row for " << i;
    } else {
      ASSERT_TRUE(memo.Insert(kSignature, Input(i), Output(Input(i))));
    }
    if (step % 1000 == 999) memo.DropSignature(kSignature);
    ASSERT_LE(memo.stats().bytes, 50 * Entry());
  }
  EXPECT_GT(memo.stats().hits, 0u);
  EXPECT_GT(memo.stats().evictions, 0u);
}

// Threads look up and insert a shared set of rows in random order; every hit
// must be exact and the counters must add up.
TEST(LruMemoTest, ManyThreadsAtOnce) {
  constexpr int kThreads = 8;
  constexpr int kSteps = 20000;
  constexpr int kRows = 400;
  const size_t capacity = 150 * Entry();
  // A quarter of the inputs collide, so chains are shared too.
  const auto hash = [](absl::Span<const float> row) -> uint64_t {
    const uint64_t h = LruMemo::DefaultRowHash(row);
    return (h & 3) == 0 ? 0 : h;
  };
  LruMemo memo(capacity, hash);
  std::vector<Row> inputs, outputs;
  for (int i = 0; i < kRows; ++i) {
    inputs.push_back(Input(i));
    outputs.push_back(Output(inputs.back()));
  }
  std::vector<int> wrong(kThreads, 0), lookups(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(100 + t);
      Row out(kOut);
      for (int step = 0; step < kSteps; ++step) {
        const int i = static_cast<int>(rng() % kRows);
        const Signature& signature = (rng() % 8 == 0) ? kOtherSignature : kSignature;
        ++lookups[t];
        if (memo.Lookup(signature, inputs[i], absl::MakeSpan(out))) {
          if (!SameBits(out, outputs[i])) ++wrong[t];
        } else {
          memo.Insert(signature, inputs[i], outputs[i]);
        }
        if (step % 5000 == 4999 && t == 0) memo.DropSignature(kOtherSignature);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  int total_lookups = 0;
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(wrong[t], 0) << "thread " << t;
    total_lookups += lookups[t];
  }
  const MemoStats stats = memo.stats();
  EXPECT_EQ(stats.hits + stats.misses, static_cast<uint64_t>(total_lookups));
  EXPECT_GT(stats.hits, 0u);
  EXPECT_LE(stats.bytes, capacity);
  EXPECT_EQ(stats.bytes, stats.entries * Entry());
}

}  // namespace
}  // namespace mnemo::caching::memo
