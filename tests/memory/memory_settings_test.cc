// The memory settings of a config: defaults for unset fields, every problem
// reported at once.
#include "core/memory_settings.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace mnemo::memory
