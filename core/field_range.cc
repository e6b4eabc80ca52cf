#include "core/field_range.h"

#include <google/protobuf/any.pb.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/config.pb.h"

namespace mnemo {
namespace {

namespace pb = google::protobuf;

// 16777216 rather than 1.67772e+07.
std::string Number(double value) {
  if (std::isfinite(value) && value == std::floor(value) && std::abs(value) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  return absl::StrCat(value);
}

bool IsNumeric(const pb::FieldDescriptor& field) {
  switch (field.cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32:
    case pb::FieldDescriptor::CPPTYPE_INT64:
    case pb::FieldDescriptor::CPPTYPE_UINT32:
    case pb::FieldDescriptor::CPPTYPE_UINT64:
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      return true;
    default:
      return false;
  }
}

// The value of a numeric field (element `index` of a repeated one), as a
// double: exact for every count below 2^53.
double ValueOf(const pb::Message& message, const pb::FieldDescriptor& field, int index) {
  const pb::Reflection& r = *message.GetReflection();
  const bool repeated = field.is_repeated();
  switch (field.cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32:
      return repeated ? r.GetRepeatedInt32(message, &field, index) : r.GetInt32(message, &field);
    case pb::FieldDescriptor::CPPTYPE_INT64:
      return static_cast<double>(repeated ? r.GetRepeatedInt64(message, &field, index)
                                          : r.GetInt64(message, &field));
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      return repeated ? r.GetRepeatedUInt32(message, &field, index) : r.GetUInt32(message, &field);
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      return static_cast<double>(repeated ? r.GetRepeatedUInt64(message, &field, index)
                                          : r.GetUInt64(message, &field));
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
      return repeated ? r.GetRepeatedFloat(message, &field, index) : r.GetFloat(message, &field);
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      return repeated ? r.GetRepeatedDouble(message, &field, index) : r.GetDouble(message, &field);
    default:  // IsNumeric said it is
      return std::nan("");
  }
}

void Walk(const pb::Message& message, const std::string& prefix,
          std::vector<FieldProblem>* problems) {
  const pb::Descriptor& descriptor = *message.GetDescriptor();
  const pb::Reflection& reflection = *message.GetReflection();
  for (int f = 0; f < descriptor.field_count(); ++f) {
    const pb::FieldDescriptor& field = *descriptor.field(f);
    const std::string name =
        prefix.empty() ? field.name() : absl::StrCat(prefix, ".", field.name());
    const int size = field.is_repeated() ? reflection.FieldSize(message, &field) : 1;
    if (field.cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field.message_type()->full_name() == pb::Any::descriptor()->full_name()) continue;
      for (int i = 0; i < size; ++i) {
        if (field.is_repeated()) {
          Walk(reflection.GetRepeatedMessage(message, &field, i), absl::StrCat(name, "[", i, "]"),
               problems);
        } else if (reflection.HasField(message, &field)) {
          Walk(reflection.GetMessage(message, &field), name, problems);
        }
      }
      continue;
    }
    if (!IsNumeric(field)) continue;
    const std::optional<FieldRange> range = RangeOf(field);
    if (!range) continue;
    // An unset field is checked when its range excludes 0, its unset value.
    if (!field.is_repeated() && !reflection.HasField(message, &field) && range->min <= 0 &&
        range->max >= 0) {
      continue;
    }
    for (int i = 0; i < size; ++i) {
      const std::string path = field.is_repeated() ? absl::StrCat(name, "[", i, "]") : name;
      if (std::optional<std::string> problem = range->Check(path, ValueOf(message, field, i))) {
        problems->push_back({path, *std::move(problem)});
      }
    }
  }
}

}  // namespace

std::optional<std::string> FieldRange::Check(absl::string_view name, double value) const {
  if (value >= min && value <= max) return std::nullopt;
  const std::string why = note.empty() ? "" : absl::StrCat(" (", note, ")");
  std::string wanted;
  if (std::isnan(value)) {
    wanted = absl::StrCat("from ", Number(min), " to ", Number(max));
  } else if (value > max) {
    wanted = absl::StrCat("at most ", Number(max));
  } else if (integer && min == 1) {
    wanted = "> 0";  // a count: "> 0" is how users say it
  } else {
    wanted = absl::StrCat(">= ", Number(min));
  }
  return absl::StrCat(name, " must be ", wanted, why, ", not ", Number(value));
}

std::optional<FieldRange> RangeOf(const pb::FieldDescriptor& field) {
  if (!field.options().HasExtension(config::range)) return std::nullopt;
  const config::Range& range = field.options().GetExtension(config::range);
  const bool integer = field.cpp_type() != pb::FieldDescriptor::CPPTYPE_FLOAT &&
                       field.cpp_type() != pb::FieldDescriptor::CPPTYPE_DOUBLE;
  return FieldRange{range.min(), range.max(), range.note(), integer};
}

std::vector<FieldProblem> CheckRanges(const pb::Message& message, const std::string& prefix) {
  std::vector<FieldProblem> problems;
  Walk(message, prefix, &problems);
  return problems;
}

absl::Status ProblemsStatus(const std::vector<FieldProblem>& problems) {
  if (problems.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(
      problems, "\n", [](std::string* out, const FieldProblem& p) { out->append(p.message); }));
}

absl::Status CheckRangesStatus(const pb::Message& message, const std::string& prefix) {
  return ProblemsStatus(CheckRanges(message, prefix));
}

absl::Status CheckFlagRange(absl::string_view flag, const pb::Descriptor& message,
                            absl::string_view field_name, double value) {
  const pb::FieldDescriptor* field = message.FindFieldByName(std::string(field_name));
  const std::optional<FieldRange> range = field ? RangeOf(*field) : std::nullopt;
  if (!range) {
    return absl::InternalError(
        absl::StrCat(flag, ": ", message.full_name(), ".", field_name, " declares no range"));
  }
  if (std::optional<std::string> problem = range->Check(flag, value)) {
    return absl::InvalidArgumentError(*problem);
  }
  return absl::OkStatus();
}

}  // namespace mnemo
