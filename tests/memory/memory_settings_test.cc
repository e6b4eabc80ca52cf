// The memory settings of a config: defaults for unset fields, every problem
// reported at once.
#include "core/memory_settings.h"

#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mnemo::memory {
namespace {

TEST(MemorySettingsTest, UnsetFieldsTakeTheDocumentedDefaults) {
  config::MemoryModule config;
  config.set_capacity(10000);
  absl::StatusOr<MemorySettings> settings = ResolveMemorySettings(config);
  ASSERT_TRUE(settings.ok()) << settings.status();
  EXPECT_EQ(settings->capacity, 10000);
  EXPECT_FLOAT_EQ(settings->confidence_threshold, 0.85f);
  EXPECT_FLOAT_EQ(settings->similarity_threshold, 0.9f);
  EXPECT_FLOAT_EQ(settings->temperature, 0.1f);
  EXPECT_FLOAT_EQ(settings->memory_loss_weight, 0.4f);
  EXPECT_EQ(settings->top_k, 1);
  EXPECT_EQ(settings->vote, VoteRule::kSimilarity);
  EXPECT_EQ(settings->scan_precision, ScanPrecision::kFp32);
  EXPECT_EQ(settings->index.type, "exact");
}

TEST(MemorySettingsTest, SetFieldsAreKept) {
  config::MemoryModule config;
  config.set_capacity(5);
  config.set_confidence_threshold(0.5f);
  config.set_similarity_threshold(0.7f);
  config.set_temperature(0.2f);
  config.set_memory_loss_weight(1.5f);
  config.set_top_k(3);
  config.set_vote("margin");
  absl::StatusOr<MemorySettings> settings = ResolveMemorySettings(config);
  ASSERT_TRUE(settings.ok()) << settings.status();
  EXPECT_FLOAT_EQ(settings->confidence_threshold, 0.5f);
  EXPECT_FLOAT_EQ(settings->similarity_threshold, 0.7f);
  EXPECT_FLOAT_EQ(settings->temperature, 0.2f);
  EXPECT_FLOAT_EQ(settings->memory_loss_weight, 1.5f);
  EXPECT_EQ(settings->top_k, 3);
  EXPECT_EQ(settings->vote, VoteRule::kMargin);
}

TEST(MemorySettingsTest, EveryProblemAtOnce) {
  config::MemoryModule config;  // capacity unset
  config.set_temperature(-1.0f);
  config.set_top_k(-2);
  config.set_confidence_threshold(1.5f);
  config.set_memory_loss_weight(-0.1f);
  config.set_vote("majority");
  absl::StatusOr<MemorySettings> settings = ResolveMemorySettings(config);
  ASSERT_FALSE(settings.ok());
  const std::string message(settings.status().message());
  for (const char* field :
       {"capacity", "temperature", "top_k", "confidence_threshold", "memory_loss_weight",
        "memory_module.vote must be \"similarity\" (the default) or "
        "\"margin\", not \"majority\""}) {
    EXPECT_NE(message.find(field), std::string::npos) << field << " in: " << message;
  }
}

TEST(MemorySettingsTest, ScanPrecisionByName) {
  config::MemoryModule config;
  config.set_capacity(5);
  for (ScanPrecision precision : {ScanPrecision::kFp32, ScanPrecision::kInt8}) {
    config.set_scan_precision(ScanPrecisionName(precision));
    absl::StatusOr<MemorySettings> settings = ResolveMemorySettings(config);
    ASSERT_TRUE(settings.ok()) << settings.status();
    EXPECT_EQ(settings->scan_precision, precision);
  }
  EXPECT_STREQ(ScanPrecisionName(ScanPrecision::kInt8), "int8");
}

TEST(MemorySettingsTest, UnknownScanPrecisionNamesTheFieldAndTheKnownOnes) {
  config::MemoryModule config;
  config.set_capacity(5);
  config.set_scan_precision("bf16");
  const std::vector<FieldProblem> problems = CheckMemorySettings(config);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].field, "memory_module.scan_precision");
  for (const char* part : {"memory_module.scan_precision", "\"fp32\"", "\"int8\"", "bf16"}) {
    EXPECT_NE(problems[0].message.find(part), std::string::npos)
        << part << " in " << problems[0].message;
  }
  EXPECT_FALSE(ResolveMemorySettings(config).ok());
}

TEST(MemoryClassesTest, ZeroIsTheHeadsMoreIsKeptFewerIsRefusedNamingTheField) {
  MemorySettings settings;
  EXPECT_EQ(*MemoryClasses(settings, 8), 8);
  settings.num_classes = 10;
  EXPECT_EQ(*MemoryClasses(settings, 8), 10);
  EXPECT_EQ(*MemoryClasses(settings, 10), 10);
  absl::StatusOr<int> fewer = MemoryClasses(settings, 11);
  ASSERT_FALSE(fewer.ok());
  EXPECT_EQ(fewer.status().message(),
            "memory_module.num_classes must be 0 (the head's outputs) or at least the head's 11 "
            "outputs (the memory holds every class the head answers), not 10");
}

TEST(MemoryClassesTest, TheFieldIsResolved) {
  config::MemoryModule config;
  config.set_capacity(5);
  config.set_num_classes(12);
  EXPECT_EQ(ResolveMemorySettings(config)->num_classes, 12);
  config.set_num_classes(-1);
  absl::StatusOr<MemorySettings> negative = ResolveMemorySettings(config);
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.status().message().find("memory_module.num_classes"), absl::string_view::npos)
      << negative.status();
}

// memory_module.index: the problems of a config, each message naming its field.
std::vector<std::string> IndexProblems(const std::string& text, int capacity = 100000) {
  config::MemoryModule config;
  config.set_capacity(capacity);
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, config.mutable_index())) << text;
  std::vector<std::string> messages;
  for (const FieldProblem& p : CheckMemorySettings(config)) {
    EXPECT_EQ(p.message.rfind(p.field + " ", 0), 0u) << p.message << " names " << p.field;
    messages.push_back(p.message);
  }
  return messages;
}

TEST(MemorySettingsTest, IndexFieldsAreResolvedForTheirType) {
  config::MemoryModule config;
  config.set_capacity(100000);
  config.mutable_index()->set_type("ivf_flat");
  config.mutable_index()->set_nlist(256);
  absl::StatusOr<MemorySettings> settings = ResolveMemorySettings(config);
  ASSERT_TRUE(settings.ok()) << settings.status();
  EXPECT_EQ(settings->index.type, "ivf_flat");
  EXPECT_EQ(settings->index.nlist, 256);
  EXPECT_EQ(settings->index.nprobe, IndexSettings().nprobe);

  config.mutable_index()->Clear();
  config.mutable_index()->set_type("hnsw");
  config.mutable_index()->set_ef_search(100);
  settings = ResolveMemorySettings(config);
  ASSERT_TRUE(settings.ok()) << settings.status();
  EXPECT_EQ(settings->index.type, "hnsw");
  EXPECT_EQ(settings->index.ef_search, 100);
  EXPECT_EQ(settings->index.hnsw_m, IndexSettings().hnsw_m);
}

TEST(MemorySettingsTest, IndexProblemsNameTheirField) {
  using ::testing::ElementsAre;
  EXPECT_THAT(IndexProblems("type: \"annoy\""),
              ElementsAre("memory_module.index.type must be \"exact\", \"ivf_flat\", \"hnsw\" "
                          "(unset = \"exact\"), not \"annoy\""));
  EXPECT_THAT(IndexProblems("type: \"ivf_flat\" nlist: 16 nprobe: 17"),
              ElementsAre("memory_module.index.nprobe must be at most nlist (16; unset = 32), "
                          "not 17"));
  // A field the type does not read, for each type.
  EXPECT_THAT(IndexProblems("type: \"ivf_flat\" nlist: 16 nprobe: 4 ef_search: 10"),
              ElementsAre("memory_module.index.ef_search is not read by index type \"ivf_flat\" "
                          "(set to 10); remove it or choose the type that reads it"));
  EXPECT_THAT(IndexProblems("type: \"hnsw\" nprobe: 4"),
              ElementsAre("memory_module.index.nprobe is not read by index type \"hnsw\" (set to "
                          "4); remove it or choose the type that reads it"));
  EXPECT_THAT(IndexProblems("hnsw_m: 8"),
              ElementsAre("memory_module.index.hnsw_m is not read by index type \"exact\" (set "
                          "to 8); remove it or choose the type that reads it"));
  EXPECT_THAT(IndexProblems("type: \"hnsw\" hnsw_m: 1"),
              ElementsAre(::testing::StartsWith("memory_module.index.hnsw_m must be >= 2")));
  // 39 x 1024 (the default nlist) items are more than 10000: never trained.
  EXPECT_THAT(IndexProblems("type: \"ivf_flat\"", 10000),
              ElementsAre(::testing::StartsWith(
                  "memory_module.index.nlist must be at most capacity / 39 (256; unset = 1024)")));
  EXPECT_THAT(IndexProblems("type: \"ivf_flat\" nlist: 256", 10000), ElementsAre());
  // Out of the schema's range: CheckRanges's message, named by the path.
  EXPECT_THAT(IndexProblems("type: \"ivf_flat\" nlist: 16 nprobe: -1"),
              ElementsAre(::testing::StartsWith("memory_module.index.nprobe must be")));
}

}  // namespace
}  // namespace mnemo::memory
