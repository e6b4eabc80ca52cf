// What data parallelism needs without several ranks: how a batch is shared
// out, the one-process communicator, the registry, and the config's checks.

#include "core/communicator.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "core/config_loader.h"
#include "core/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mnemo {
namespace {

using ::testing::HasSubstr;

TEST(ShareOfRowsTest, EveryRowOnceInRankOrderAndSharesWithinOne) {
  for (int size = 1; size <= 9; ++size) {
    for (int count = 0; count <= 40; ++count) {
      int next = 0;
      for (int rank = 0; rank < size; ++rank) {
        const RowShare share = ShareOfRows(count, rank, size);
        EXPECT_EQ(share.begin, next) << count << " rows, rank " << rank << " of " << size;
        EXPECT_GE(share.rows(), count / size);
        EXPECT_LE(share.rows(), count / size + 1);
        // The larger shares come first.
        EXPECT_EQ(share.rows(), count / size + (rank < count % size ? 1 : 0));
        next = share.end;
      }
      EXPECT_EQ(next, count) << count << " rows over " << size;
    }
  }
}

TEST(LocalCommunicatorTest, IsOneRankWhoseCollectivesCopy) {
  std::unique_ptr<Communicator> local = CreateLocalCommunicator();
  EXPECT_EQ(local->rank(), 0);
  EXPECT_EQ(local->size(), 1);
  std::vector<float> data = {1.5f, -2.0f, 3.25f};
  ASSERT_TRUE(local->AllReduceSum(absl::MakeSpan(data)).ok());
  EXPECT_EQ(data, (std::vector<float>{1.5f, -2.0f, 3.25f}));
  std::vector<float> all(3);
  ASSERT_TRUE(local->AllGather(data, {3}, absl::MakeSpan(all)).ok());
  EXPECT_EQ(all, data);
  ASSERT_TRUE(local->Broadcast(absl::MakeSpan(data), 0).ok());
  EXPECT_FALSE(local->Broadcast(absl::MakeSpan(data), 1).ok());
  // Counts that do not describe the buffers are refused, not copied past.
  EXPECT_FALSE(local->AllGather(data, {2}, absl::MakeSpan(all)).ok());
  std::vector<float> short_out(2);
  EXPECT_FALSE(local->AllToAll(data, {3}, absl::MakeSpan(short_out), {3}).ok());
}

TEST(CommunicatorRegistryTest, CoreHasTheLocalOne) {
  absl::StatusOr<std::unique_ptr<Communicator>> local =
      Registries::Global().communicators.Create("local", {});
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_EQ((*local)->name(), "local");
}

TEST(DistributedConfigTest, AnUnknownCommunicatorIsRefusedAtItsField) {
  ConfigLoader loader;
  const std::string text = R"pb(model {
                                  input_size: 4
                                  layer { type: "Dense" units: 2 }
                                }
                                trainer {
                                  optimizer { type: "sgd" learning_rate: 0.1 }
                                  batch_size: 8
                                  epochs: 1
                                  distributed { communicator: "mpi" }
                                }
  )pb";
  absl::StatusOr<std::unique_ptr<LoadedConfig>> loaded = loader.LoadText(text, "dp.pbtxt");
  ASSERT_FALSE(loaded.ok());
  // Line 9, column 17: the value of `communicator`.
  EXPECT_THAT(loaded.status().message(), HasSubstr("dp.pbtxt:9:"));
  EXPECT_THAT(loaded.status().message(), HasSubstr("unknown communicator type \"mpi\""));
  EXPECT_THAT(loaded.status().message(), HasSubstr("plugins/mpi/libmpi_plugin.so"));
}

}  // namespace
}  // namespace mnemo
