// The cached memory with an approximate index (memory_module.index): its
// answers stay right after Store replaces items, a reloaded memory (whose
// index is rebuilt from the keys) answers as the one saved, and the trainable
// memory refuses an index.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "core/avx512_warning_workaround.h"  // first: see there
#include "memory_modules/cached_memory/cached_memory.h"
#include "memory_modules/trainable_memory/trainable_memory.h"
#include "tests/memory/index_data.h"
#include "tests/testing/tensors.h"

namespace mnemo::memory_modules {
namespace {

using ::mnemo::memory::testing::Clustered;

constexpr int kDim = 16;
constexpr int kClasses = 4;
constexpr int kCapacity = 400;

memory::IndexSettings Index(const std::string& type) {
  memory::IndexSettings index;
  index.type = type;
  index.nlist = 8;  // trained from 312 items
  index.nprobe = 3;
  index.hnsw_m = 8;
  index.ef_search = 32;
  return index;
}

CachedMemory::Settings Settings(const memory::IndexSettings& index) {
  CachedMemory::Settings settings;
  settings.feature_dim = kDim;
  settings.num_classes = kClasses;
  settings.capacity = kCapacity;
  settings.similarity_threshold = 0.9f;
  settings.top_k = 1;
  settings.index = index;
  return settings;
}

// A full memory: 400 items in 20 clusters, the class of item i i % 4.
void Fill(CachedMemory& memory) {
  const Tensor items = Clustered(21, kCapacity, kDim, 20, 0.6f, 22);
  std::vector<int> labels(kCapacity);
  for (int i = 0; i < kCapacity; ++i) labels[i] = i % kClasses;
  ASSERT_TRUE(memory.Store(items, labels).ok());
  ASSERT_EQ(memory.size(), kCapacity);
}

// The slot holding `row` (a unit vector), or -1.
int SlotOf(const CachedMemory& memory, const Tensor& row) {
  const auto keys = memory.stored_keys();
  for (int slot = 0; slot < memory.size(); ++slot) {
    if ((keys.row(slot) - row).norm() < 1e-6f) return slot;
  }
  return -1;
}

class IndexedMemoryTest : public ::testing::TestWithParam<std::string> {};

// Novel examples replace items of a memory whose index was built: queried by
// themselves, they are found where they were stored, with their labels. An
// index not rebuilt would not hold them.
TEST_P(IndexedMemoryTest, AnswersStayRightAfterStoreReplacesItems) {
  CachedMemory memory(Settings(Index(GetParam())));
  Fill(memory);
  const Tensor probe = Clustered(21, 40, kDim, 20, 0.6f, 23);
  ASSERT_TRUE(memory.Retrieve(probe).ok());  // builds the index

  const Tensor novel = Clustered(77, 6, kDim, 6, 0.05f, 78);  // far from the 20 clusters
  const std::vector<int> labels = {3, 2, 1, 0, 3, 2};
  ASSERT_TRUE(memory.Store(novel, labels).ok());
  ASSERT_EQ(memory.size(), kCapacity);
  absl::StatusOr<Retrieval> answer = memory.Retrieve(novel);
  ASSERT_TRUE(answer.ok()) << answer.status();
  for (int i = 0; i < novel.rows(); ++i) {
    const int slot = SlotOf(memory, novel.row(i));
    ASSERT_GE(slot, 0) << "example " << i << " was not stored";
    EXPECT_EQ(answer->slot[i], slot) << i;
    EXPECT_EQ(answer->label[i], labels[i]) << i;
    EXPECT_NEAR(answer->confidence[i], 1.0f, 1e-5f) << i;
  }
}

// The index is not saved: a memory that imports the state builds its own from
// the keys, and answers as the saved one did, and as exact search does.
TEST_P(IndexedMemoryTest, ReloadedMemoryAnswersAlike) {
  CachedMemory saved(Settings(Index(GetParam())));
  Fill(saved);
  // Queries near stored items: each has one clear nearest item.
  Tensor queries = saved.stored_keys().topRows(50);
  mnemo::testing::TestRng rng(5);
  queries += rng.Random(50, kDim, -0.01f, 0.01f);
  absl::StatusOr<Retrieval> before = saved.Retrieve(queries);
  ASSERT_TRUE(before.ok()) << before.status();
  const std::map<std::string, Tensor> state = saved.ExportState();
  EXPECT_THAT(state, ::testing::SizeIs(2));  // keys and labels: nothing of the index

  CachedMemory reloaded(Settings(Index(GetParam())));
  ASSERT_TRUE(reloaded.ImportState(state).ok());
  absl::StatusOr<Retrieval> after = reloaded.Retrieve(queries);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->label, before->label);
  EXPECT_EQ(after->slot, before->slot);
  EXPECT_TRUE(mnemo::testing::SameBits(after->confidence, before->confidence));

  CachedMemory exact(Settings(memory::IndexSettings()));
  ASSERT_TRUE(exact.ImportState(state).ok());
  absl::StatusOr<Retrieval> truth = exact.Retrieve(queries);
  ASSERT_TRUE(truth.ok());
  EXPECT_EQ(after->slot, truth->slot);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(after->slot[i], i);
}

INSTANTIATE_TEST_SUITE_P(Types, IndexedMemoryTest, ::testing::Values("ivf_flat", "hnsw"));

TEST(IndexedMemoryConfigTest, CachedMemoryTakesTheIndexOfItsConfig) {
  config::MemoryModule config;
  config.set_capacity(400);
  config.mutable_index()->set_type("hnsw");
  config.mutable_index()->set_hnsw_m(12);
  absl::StatusOr<std::unique_ptr<MemoryModule>> memory =
      CachedMemory::Create(MemoryModuleArgs{config, kDim, kClasses});
  ASSERT_TRUE(memory.ok()) << memory.status();
  const auto& cached = static_cast<const CachedMemory&>(**memory);
  EXPECT_EQ(cached.settings().index.type, "hnsw");
  EXPECT_EQ(cached.settings().index.hnsw_m, 12);

  config.mutable_index()->set_nprobe(2);  // not hnsw's
  memory = CachedMemory::Create(MemoryModuleArgs{config, kDim, kClasses});
  ASSERT_FALSE(memory.ok());
  EXPECT_THAT(std::string(memory.status().message()),
              ::testing::HasSubstr("memory_module.index.nprobe is not read"));
}

TEST(IndexedMemoryConfigTest, TrainableMemoryRefusesAnIndex) {
  config::MemoryModule config;
  config.set_capacity(400);
  config.mutable_index()->set_type("hnsw");
  absl::StatusOr<std::unique_ptr<MemoryModule>> memory =
      TrainableMemory::Create(MemoryModuleArgs{config, kDim, kClasses}, 5.0f);
  ASSERT_FALSE(memory.ok());
  EXPECT_EQ(memory.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(memory.status().message()),
              ::testing::StartsWith("memory_module.index.type must be \"exact\""));
  config.mutable_index()->set_type("exact");
  EXPECT_TRUE(TrainableMemory::Create(MemoryModuleArgs{config, kDim, kClasses}, 5.0f).ok());
}

}  // namespace
}  // namespace mnemo::memory_modules
