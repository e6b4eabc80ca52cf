#ifndef MNEMO_CORE_FIELD_RANGE_H_
#define MNEMO_CORE_FIELD_RANGE_H_

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/field_problem.h"

namespace mnemo {

// The range a numeric field's schema gives it (`[(mnemo.config.range) =
// {...}]`, core/config.proto), and the one check of a value against it.
//
// The message says what was wanted and what was given, in the words a
// user reads: "trainer.batch_size must be > 0, not 0", "model.threads must
// be at most 1024 (0 = one per core), not 100000". A NaN is never in range.
struct FieldRange {
  double min = 0;
  double max = 0;
  std::string note;
  bool integer = true;  // the field holds whole numbers: "> 0" says ">= 1"

  // The problem with `value` for the field called `name` (a field path or a
  // flag, "--threads"); nullopt when it is in range.
  std::optional<std::string> Check(absl::string_view name, double value) const;
};

// The range `field` declares; nullopt when it declares none.
std::optional<FieldRange> RangeOf(const google::protobuf::FieldDescriptor& field);

// Every field of `message` with a range, and of its present sub-messages (not
// an Any's: its plugin checks those, through UnpackOptions), whose value is
// out of it: a set field, and an unset one whose range excludes 0 (a required
// count). Fields are named by their path under `prefix` ("trainer" ->
// "trainer.batch_size", "model.layer[2].units").
std::vector<FieldProblem> CheckRanges(const google::protobuf::Message& message,
                                      const std::string& prefix);

// `problems` as one status: InvalidArgument with their messages, one a line;
// OK when there are none. For an API that takes a message built in code
// rather than a config file.
absl::Status ProblemsStatus(const std::vector<FieldProblem>& problems);

// CheckRanges as one status (ProblemsStatus).
absl::Status CheckRangesStatus(const google::protobuf::Message& message, const std::string& prefix);

// A flag that sets `field_name` of `message`: InvalidArgument naming the flag
// when `value` is outside the field's range (Internal when the field declares
// none: a programming error).
absl::Status CheckFlagRange(absl::string_view flag, const google::protobuf::Descriptor& message,
                            absl::string_view field_name, double value);

}  // namespace mnemo

#endif  // MNEMO_CORE_FIELD_RANGE_H_
