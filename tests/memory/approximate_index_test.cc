// FAISS's approximate indexes over a memory's keys (memory_modules/common/
// approximate_index.h) and the search that chooses between them and exact
// search (key_search.h), against brute force in double.
#include "memory_modules/common/approximate_index.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/FaissAssert.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <new>
#include <vector>

#include "core/backend.h"
#include "memory_modules/common/faiss_call.h"
#include "memory_modules/common/key_search.h"
#include "tests/memory/index_data.h"

namespace mnemo::memory {
namespace {

using testing::BruteTopK;
using testing::Clustered;
using testing::Recall;
using testing::Row;

constexpr int kDim = 32;

IndexSettings Ivf(int nlist, int nprobe) {
  IndexSettings s;
  s.type = "ivf_flat";
  s.nlist = nlist;
  s.nprobe = nprobe;
  return s;
}

IndexSettings Hnsw(int m, int ef_search) {
  IndexSettings s;
  s.type = "hnsw";
  s.hnsw_m = m;
  s.ef_search = ef_search;
  return s;
}

std::unique_ptr<ApproximateIndex> Built(const IndexSettings& settings, const Tensor& keys) {
  absl::StatusOr<std::unique_ptr<ApproximateIndex>> index =
      ApproximateIndex::Create(settings, kDim);
  EXPECT_TRUE(index.ok()) << index.status();
  if (!index.ok()) return nullptr;
  absl::Status built = (*index)->Build(keys);
  EXPECT_TRUE(built.ok()) << built;
  return *std::move(index);
}

// nprobe = nlist visits every list: every key is scored, so the top-k is
// exact search's, scores the cosines.
TEST(ApproximateIndexTest, IvfVisitingEveryListIsExactSearch) {
  const Tensor keys = Clustered(1, 400, kDim, 10, 0.8f, 2);
  const Tensor queries = Clustered(1, 30, kDim, 10, 0.8f, 3);
  std::unique_ptr<ApproximateIndex> index = Built(Ivf(8, 8), keys);
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->size(), 400);
  TopK top;
  ASSERT_TRUE(index->Search(queries, 10, &top).ok());
  ASSERT_EQ(top.rows, 30);
  ASSERT_EQ(top.k, 10);
  const std::vector<std::vector<int>> truth = BruteTopK(queries, keys, 10);
  for (int r = 0; r < 30; ++r) {
    EXPECT_EQ(Row(top, r), truth[r]) << "query " << r;
    for (int j = 0; j < 10; ++j) {
      const int m = top.index[r * 10 + j];
      EXPECT_NEAR(top.score[r * 10 + j], queries.row(r).dot(keys.row(m)), 1e-5f);
    }
  }
}

// On 2,000 keys in 40 clusters and 200 queries: recall@10 against brute
// force. Measured (FAISS 1.7.3): ivf_flat nlist 16 nprobe 4 0.99, hnsw M 16
// efSearch 64 1.0; the bounds leave room for FAISS's k-means and graph
// construction, which depend on the thread count.
TEST(ApproximateIndexTest, RecallOnClusteredKeys) {
  const Tensor keys = Clustered(7, 2000, kDim, 40, 1.0f, 8);
  const Tensor queries = Clustered(7, 200, kDim, 40, 1.0f, 9);
  const std::vector<std::vector<int>> truth = BruteTopK(queries, keys, 10);
  for (const auto& [settings, bound] :
       std::vector<std::pair<IndexSettings, double>>{{Ivf(16, 4), 0.9}, {Hnsw(16, 64), 0.95}}) {
    SCOPED_TRACE(settings.type);
    std::unique_ptr<ApproximateIndex> index = Built(settings, keys);
    ASSERT_NE(index, nullptr);
    TopK top;
    ASSERT_TRUE(index->Search(queries, 10, &top).ok());
    EXPECT_GE(Recall(top, truth), bound);
    // Fewer than k items found would show as -1.
    EXPECT_THAT(top.index, ::testing::Each(::testing::Ge(0)));
  }
}

TEST(ApproximateIndexTest, RefusesWhatItCannotBuild) {
  EXPECT_FALSE(ApproximateIndex::Create(IndexSettings(), kDim).ok());  // "exact"
  EXPECT_FALSE(ApproximateIndex::Create(Hnsw(8, 16), 0).ok());
  absl::StatusOr<std::unique_ptr<ApproximateIndex>> index =
      ApproximateIndex::Create(Ivf(8, 8), kDim);
  ASSERT_TRUE(index.ok());
  EXPECT_EQ((*index)->MinItems(), 8 * 39);
  absl::Status too_few = (*index)->Build(Clustered(1, 311, kDim, 4, 0.5f, 2));
  EXPECT_EQ(too_few.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(too_few.message()), ::testing::HasSubstr("at least 312 keys"));
  // Nothing built: a search finds nothing, and says so by k = 0.
  TopK top;
  ASSERT_TRUE((*index)->Search(Clustered(1, 2, kDim, 4, 0.5f, 3), 5, &top).ok());
  EXPECT_EQ(top.k, 0);
}

TEST(FaissCallTest, ExceptionsBecomeStatuses) {
  EXPECT_TRUE(FaissCall("add", [] {}).ok());
  absl::Status s = FaissCall("add", [] { FAISS_THROW_MSG("broken"); });
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("FAISS add: "));
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("broken"));
  s = FaissCall("train", [] { throw std::bad_alloc(); });
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  s = FaissCall("search", [] { throw 3; });
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
}

// A refusal thrown inside FAISS itself: k-means of fewer points than lists
// (which Build's own check rules out, so FAISS is called directly).
TEST(FaissCallTest, CatchesFaissOwnThrow) {
  const Tensor keys = Clustered(1, 10, kDim, 2, 0.5f, 2);
  faiss::IndexFlatIP quantizer(kDim);
  faiss::IndexIVFFlat ivf(&quantizer, kDim, 64, faiss::METRIC_INNER_PRODUCT);
  absl::Status s = FaissCall("train", [&] { ivf.train(keys.rows(), keys.data()); });
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal) << s;
}

TopK ExactTopK(const Tensor& queries, const Tensor& keys, int k) {
  Tensor cosines;
  EXPECT_TRUE(CosineSimilarities(*ReferenceBackend(), queries, keys, &cosines).ok());
  TopK top;
  SelectTopK(cosines, k, &top);
  return top;
}

// Exact search while the keys are fewer than ivf_flat's 39 x nlist, the
// index from there on; with nprobe = nlist both answer alike.
TEST(KeySearchTest, IvfSearchesExactlyUntilItCanTrain) {
  absl::StatusOr<std::unique_ptr<KeySearch>> search = KeySearch::Create(Ivf(8, 8), kDim);
  ASSERT_TRUE(search.ok()) << search.status();
  const Tensor keys = Clustered(3, 400, kDim, 10, 0.8f, 4);
  const Tensor queries = Clustered(3, 20, kDim, 10, 0.8f, 5);
  TopK top;
  ASSERT_TRUE((*search)->Find(*ReferenceBackend(), queries, keys.topRows(311), 5, &top).ok());
  EXPECT_FALSE((*search)->approximate());
  EXPECT_EQ(top.index, ExactTopK(queries, keys.topRows(311), 5).index);
  (*search)->Invalidate();
  ASSERT_TRUE((*search)->Find(*ReferenceBackend(), queries, keys, 5, &top).ok());
  EXPECT_TRUE((*search)->approximate());
  EXPECT_EQ(top.index, ExactTopK(queries, keys, 5).index);
}

// After Invalidate the index is rebuilt from the keys as they are now.
TEST(KeySearchTest, RebuildsAfterTheKeysChange) {
  for (const IndexSettings& settings : {Ivf(4, 2), Hnsw(8, 32)}) {
    SCOPED_TRACE(settings.type);
    absl::StatusOr<std::unique_ptr<KeySearch>> search = KeySearch::Create(settings, kDim);
    ASSERT_TRUE(search.ok()) << search.status();
    Tensor keys = Clustered(5, 200, kDim, 8, 0.8f, 6);
    TopK top;
    ASSERT_TRUE((*search)->Find(*ReferenceBackend(), keys.topRows(3), keys, 1, &top).ok());
    ASSERT_TRUE((*search)->approximate());
    EXPECT_EQ(top.index, (std::vector<int>{0, 1, 2}));
    // Three keys replaced by new directions; queried by themselves.
    const Tensor fresh = Clustered(99, 3, kDim, 3, 0.1f, 100);
    for (int i = 0; i < 3; ++i) keys.row(50 + 10 * i) = fresh.row(i);
    (*search)->Invalidate();
    ASSERT_TRUE((*search)->Find(*ReferenceBackend(), fresh, keys, 1, &top).ok());
    EXPECT_EQ(top.index, (std::vector<int>{50, 60, 70}));
    EXPECT_NEAR(top.score[0], 1.0f, 1e-5f);
  }
}

// An ivf_flat query whose nprobe lists hold fewer than k keys is searched
// again exactly: every row holds k real neighbours, exact search's.
TEST(KeySearchTest, RowsTheIndexCannotFillAreSearchedExactly) {
  absl::StatusOr<std::unique_ptr<KeySearch>> search = KeySearch::Create(Ivf(8, 1), kDim);
  ASSERT_TRUE(search.ok()) << search.status();
  const Tensor keys = Clustered(11, 320, kDim, 8, 0.5f, 12);
  const Tensor queries = Clustered(11, 16, kDim, 8, 0.5f, 13);
  // 320 keys in 8 lists: some list holds at most 40 (one list alone never
  // holds 100).
  TopK top;
  ASSERT_TRUE((*search)->Find(*ReferenceBackend(), queries, keys, 100, &top).ok());
  ASSERT_TRUE((*search)->approximate());
  ASSERT_EQ(top.k, 100);
  EXPECT_EQ(top.index, ExactTopK(queries, keys, 100).index);
}

}  // namespace
}  // namespace mnemo::memory
