#include "tools/bench/records.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/testing/test_files.h"

namespace mnemo::bench {
namespace {

using ::testing::HasSubstr;

uint64_t Bits(double x) {
  uint64_t bits;
  std::memcpy(&bits, &x, sizeof(bits));
  return bits;
}

// Fails for every field of `message` (and of the messages it holds) left at
// its default, so that a field added to records.proto without a place in the
// round trip below is noticed.
void ExpectEveryFieldSet(const google::protobuf::Message& message) {
  const google::protobuf::Descriptor* descriptor = message.GetDescriptor();
  const google::protobuf::Reflection* reflection = message.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = descriptor->field(i);
    if (field->is_repeated()) {
      EXPECT_GT(reflection->FieldSize(message, field), 0) << field->full_name();
      if (field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
        for (int j = 0; j < reflection->FieldSize(message, field); ++j) {
          const google::protobuf::Message& element =
              reflection->GetRepeatedMessage(message, field, j);
          // Map entries: their value only (a message of ours, or a scalar).
          if (field->is_map()) {
            const google::protobuf::FieldDescriptor* value =
                element.GetDescriptor()->FindFieldByName("value");
            if (value->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
              ExpectEveryFieldSet(element.GetReflection()->GetMessage(element, value));
            }
          } else {
            ExpectEveryFieldSet(element);
          }
        }
      }
    } else {
      EXPECT_TRUE(reflection->HasField(message, field)) << field->full_name();
      if (field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
        ExpectEveryFieldSet(reflection->GetMessage(message, field));
      }
    }
  }
}

Value MakeValue(double value, Value::Better better, const std::string& unit) {
  Value v;
  v.set_value(value);
  v.set_better(better);
  v.set_unit(unit);
  return v;
}

// A run with every field set, an error record, and awkward doubles.
RunFile FullRun() {
  RunFile run;
  run.set_format_version(kRunFileFormatVersion);
  Context& context = *run.mutable_context();
  context.set_git_revision("1a61a89-dirty");
  context.set_date("2024-05-01T12:34:56Z");
  context.set_host("bench-host");
  context.set_cpu_model("Intel(R) Xeon(R) CPU @ 2.00GHz");
  context.set_cores(8);
  context.set_compiler("gcc 12.2.0");
  (*context.mutable_libraries())["eigen"] = "3.4.0";
  (*context.mutable_libraries())["onednn"] = "2.6.3 (N/A)";
  context.set_command_line("bench --out='a b'");
  context.set_os("Linux 6.1.0 x86_64");
  context.set_build("optimized avx2");

  Record& record = *run.add_records();
  record.set_name("accuracy/model:small/data:fashion_test");
  (*record.mutable_params())["model"] = "small";
  (*record.mutable_params())["data"] = "fashion_test";
  (*record.mutable_values())["accuracy"] = MakeValue(0.1, Value::HIGHER, "ratio");
  (*record.mutable_values())["loss"] = MakeValue(1e-9, Value::LOWER, "nats");
  (*record.mutable_values())["third"] = MakeValue(1.0 / 3, Value::HIGHER, "1");
  record.set_real_time_seconds(0.1 + 0.2);
  record.set_cpu_time_seconds(std::numeric_limits<double>::denorm_min());
  record.set_iterations(int64_t{1} << 40);
  record.set_rss_before_bytes(123456789012);
  record.set_peak_rss_bytes(std::numeric_limits<int64_t>::max());
  MemoRecord& memo = *record.mutable_memo();
  memo.set_entries(3);
  memo.set_bytes(4096);
  memo.set_loads(5);
  memo.set_load_failures(1);
  memo.set_hits(7);
  memo.set_evictions(2);
  memo.set_capacity_evictions(1);
  memo.set_evicted_in_use(1);
  memo.set_reloads(2);
  memo.set_load_seconds(1.5e-3);
  memo.set_reload_seconds(std::numeric_limits<double>::max());
  (*memo.mutable_reloads_by_key())["model:small"] = 2;
  record.set_error("");

  Record& failed = *run.add_records();
  failed.set_name("accuracy/model:large/data:fashion_test");
  (*failed.mutable_params())["model"] = "large";
  failed.set_error("out of memory: \"large\"\nafter 3 iterations");
  return run;
}

TEST(RunFileTest, RoundTripsExactlyThroughJson) {
  const std::string dir = TestDir();
  const RunFile run = FullRun();
  // The first record, the error aside, fills every field of the schema.
  RunFile every_field = run;
  every_field.mutable_records()->DeleteSubrange(1, 1);
  every_field.mutable_records(0)->set_error("set here only to check coverage");
  ExpectEveryFieldSet(every_field);

  ASSERT_TRUE(WriteRunFile(run, dir + "/run.json", dir + "/run.csv").ok());
  const absl::StatusOr<RunFile> back = ReadRunFile(dir + "/run.json");
  ASSERT_TRUE(back.ok()) << back.status();
  std::string difference;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&difference);
  EXPECT_TRUE(differencer.Compare(run, *back)) << difference;

  const Record& record = back->records(0);
  EXPECT_EQ(Bits(record.values().at("accuracy").value()), Bits(0.1));
  EXPECT_EQ(Bits(record.values().at("loss").value()), Bits(1e-9));
  EXPECT_EQ(Bits(record.values().at("third").value()), Bits(1.0 / 3));
  EXPECT_EQ(Bits(record.real_time_seconds()), Bits(0.1 + 0.2));
  EXPECT_EQ(Bits(record.cpu_time_seconds()), Bits(std::numeric_limits<double>::denorm_min()));
  EXPECT_EQ(Bits(record.memo().reload_seconds()), Bits(std::numeric_limits<double>::max()));
  EXPECT_EQ(record.peak_rss_bytes(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(back->records(1).error(), "out of memory: \"large\"\nafter 3 iterations");
  EXPECT_TRUE(back->records(1).values().empty());
}

TEST(RunFileTest, NonFiniteDoublesRoundTrip) {
  const std::string dir = TestDir();
  RunFile run;
  Record& record = *run.add_records();
  record.set_name("odd");
  (*record.mutable_values())["nan"].set_value(std::nan(""));
  (*record.mutable_values())["inf"].set_value(-std::numeric_limits<double>::infinity());
  (*record.mutable_values())["negative_zero"].set_value(-0.0);
  ASSERT_TRUE(WriteRunFile(run, dir + "/run.json", dir + "/run.csv").ok());
  const absl::StatusOr<RunFile> back = ReadRunFile(dir + "/run.json");
  ASSERT_TRUE(back.ok()) << back.status();
  const auto& values = back->records(0).values();
  EXPECT_TRUE(std::isnan(values.at("nan").value()));
  EXPECT_EQ(values.at("inf").value(), -std::numeric_limits<double>::infinity());
  // Protobuf 3.21 writes -0.0 as -0 and reads that back as the integer 0.
  EXPECT_EQ(values.at("negative_zero").value(), 0.0);
}

TEST(RunFileTest, JsonIsDeterministicWithSortedKeysAndFieldNames) {
  RunFile run;
  run.set_format_version(kRunFileFormatVersion);
  Record& record = *run.add_records();
  record.set_name("r");
  for (const char* key : {"zeta", "alpha", "mu", "beta", "omega", "gamma"}) {
    (*record.mutable_params())[key] = "x";
  }
  const absl::StatusOr<std::string> json = RunFileToJson(run);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_LT(json->find("\"alpha\""), json->find("\"beta\""));
  EXPECT_LT(json->find("\"beta\""), json->find("\"gamma\""));
  EXPECT_LT(json->find("\"omega\""), json->find("\"zeta\""));
  // Proto field names, and every field even when zero.
  EXPECT_THAT(*json, HasSubstr("\"format_version\": 1"));
  EXPECT_THAT(*json, HasSubstr("\"real_time_seconds\": 0"));
  EXPECT_THAT(*json, HasSubstr("\"error\": \"\""));
  EXPECT_EQ(json->back(), '\n');
}

TEST(RunFileTest, WriteStampsTheFormatVersion) {
  const std::string dir = TestDir();
  RunFile run = FullRun();
  run.clear_format_version();
  ASSERT_TRUE(WriteRunFile(run, dir + "/run.json", dir + "/run.csv").ok());
  const absl::StatusOr<RunFile> back = ReadRunFile(dir + "/run.json");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->format_version(), kRunFileFormatVersion);
}

TEST(RunFileTest, WriteRefusesAnotherFormatVersionAndDuplicateNames) {
  const std::string dir = TestDir();
  RunFile future = FullRun();
  future.set_format_version(kRunFileFormatVersion + 1);
  const absl::Status version = WriteRunFile(future, dir + "/a.json", dir + "/a.csv");
  EXPECT_EQ(version.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(version.message()), HasSubstr("format_version"));

  RunFile twice = FullRun();
  *twice.add_records() = twice.records(0);
  const absl::Status duplicate = WriteRunFile(twice, dir + "/b.json", dir + "/b.csv");
  EXPECT_EQ(duplicate.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(duplicate.message()),
              HasSubstr("accuracy/model:small/data:fashion_test"));
  // Refused before anything was written.
  EXPECT_EQ(ReadBytes(dir + "/a.json"), "");
  EXPECT_EQ(ReadBytes(dir + "/b.json"), "");
}

TEST(RunFileTest, WriteErrorsNameThePath) {
  const std::string dir = TestDir();
  const std::string json_path = dir + "/no/such/dir/run.json";
  const absl::Status status = WriteRunFile(FullRun(), json_path, dir + "/run.csv");
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr(json_path));
}

TEST(RunFileTest, CsvHasTheColumnsAndQuotes) {
  const std::string dir = TestDir();
  RunFile run;
  Record& first = *run.add_records();
  first.set_name("accuracy/model:small");
  (*first.mutable_params())["model"] = "small";
  (*first.mutable_params())["data"] = "fashion \"test\", v2";
  (*first.mutable_values())["accuracy"] = MakeValue(0.875, Value::HIGHER, "");
  (*first.mutable_values())["loss"] = MakeValue(0.25, Value::LOWER, "");
  first.set_real_time_seconds(0.5);
  first.set_cpu_time_seconds(0.25);
  first.set_iterations(10);
  first.set_rss_before_bytes(1000);
  first.set_peak_rss_bytes(2000);
  MemoRecord& memo = *first.mutable_memo();
  memo.set_loads(1);
  memo.set_hits(2);
  memo.set_evictions(3);
  memo.set_reloads(4);
  memo.set_bytes(5);
  Record& second = *run.add_records();
  second.set_name("speed/batch:1");
  (*second.mutable_params())["batch"] = "1";
  (*second.mutable_values())["samples_per_second"] = MakeValue(0.1, Value::HIGHER, "1/s");
  second.set_real_time_seconds(1e-9);
  second.set_iterations(3);
  Record& failed = *run.add_records();
  failed.set_name("broken");
  failed.set_error("failed: line one\nline two");

  ASSERT_TRUE(WriteRunFile(run, dir + "/run.json", dir + "/run.csv").ok());
  EXPECT_EQ(ReadBytes(dir + "/run.csv"),
            "name,param:batch,param:data,param:model,value:accuracy,value:loss,"
            "value:samples_per_second,real_time_seconds,cpu_time_seconds,iterations,"
            "rss_before_bytes,peak_rss_bytes,memo_loads,memo_hits,memo_evictions,"
            "memo_reloads,memo_bytes,error\n"
            "accuracy/model:small,,\"fashion \"\"test\"\", v2\",small,0.875,0.25,,0.5,0.25,10,"
            "1000,2000,1,2,3,4,5,\n"
            "speed/batch:1,1,,,,,0.1,1e-09,0,3,0,0,,,,,,\n"
            "broken,,,,,,,0,0,0,0,0,,,,,,\"failed: line one\nline two\"\n");
}

TEST(ReadRunFileTest, MissingFile) {
  const std::string path = TestDir() + "/missing.json";
  const absl::StatusOr<RunFile> run = ReadRunFile(path);
  ASSERT_FALSE(run.ok());
  EXPECT_THAT(std::string(run.status().message()), HasSubstr(path));
}

TEST(ReadRunFileTest, BadJson) {
  const std::string path = TestDir() + "/bad.json";
  WriteFile(path, "{\"format_version\": 1, \"records\": [");
  const absl::StatusOr<RunFile> run = ReadRunFile(path);
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(run.status().message()), HasSubstr(path));
}

TEST(ReadRunFileTest, UnknownField) {
  const std::string path = TestDir() + "/unknown.json";
  WriteFile(path, "{\"format_version\": 1, \"records\": [{\"name\": \"a\", \"real_tim\": 1}]}");
  const absl::StatusOr<RunFile> run = ReadRunFile(path);
  ASSERT_FALSE(run.ok());
  EXPECT_THAT(std::string(run.status().message()), HasSubstr(path));
  EXPECT_THAT(std::string(run.status().message()), HasSubstr("real_tim"));
}

TEST(ReadRunFileTest, UnknownFormatVersion) {
  const std::string dir = TestDir();
  WriteFile(dir + "/future.json", "{\"format_version\": 2}");
  const absl::StatusOr<RunFile> future = ReadRunFile(dir + "/future.json");
  ASSERT_FALSE(future.ok());
  EXPECT_THAT(std::string(future.status().message()), HasSubstr(dir + "/future.json"));
  EXPECT_THAT(std::string(future.status().message()), HasSubstr("format_version 2"));

  WriteFile(dir + "/none.json", "{\"records\": []}");
  const absl::StatusOr<RunFile> none = ReadRunFile(dir + "/none.json");
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(std::string(none.status().message()), HasSubstr(dir + "/none.json"));
  EXPECT_THAT(std::string(none.status().message()), HasSubstr("format_version"));
}

TEST(ReadRunFileTest, DuplicateNames) {
  const std::string path = TestDir() + "/twice.json";
  WriteFile(path, "{\"format_version\": 1, \"records\": [{\"name\": \"a\"}, {\"name\": \"a\"}]}");
  const absl::StatusOr<RunFile> run = ReadRunFile(path);
  ASSERT_FALSE(run.ok());
  EXPECT_THAT(std::string(run.status().message()), HasSubstr(path));
  EXPECT_THAT(std::string(run.status().message()), HasSubstr("\"a\""));
}

}  // namespace
}  // namespace mnemo::bench
