#ifndef MNEMO_CORE_OPTIONS_CHECK_H_
#define MNEMO_CORE_OPTIONS_CHECK_H_

#include <google/protobuf/any.pb.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/field_range.h"

namespace mnemo {

// The full message name an Any holds ("pkg.Msg" of "type.googleapis.com/pkg.Msg").
inline std::string AnyMessageName(const google::protobuf::Any& any) {
  const std::string& url = any.type_url();
  return url.substr(url.rfind('/') + 1);  // npos + 1 == 0: the whole url
}

// Checks the typed `options` given to a registered type against the options
// message the type declared when it was registered (`expected`, "" = none).
// Returns "" when they agree, else the problem. Absent options are left to the
// type's factory, which knows whether it needs them.
inline std::string OptionsProblem(const std::string& kind, const std::string& type,
                                  bool has_options, const google::protobuf::Any& options,
                                  const std::string& expected) {
  if (!has_options) return "";
  const std::string given = AnyMessageName(options);
  if (expected.empty()) {
    return absl::StrCat(kind, " type \"", type, "\" takes no options, but options of type ",
                        given, " were given");
  }
  if (given != expected) {
    return absl::StrCat(kind, " type \"", type, "\" takes options of type ", expected,
                        ", not ", given);
  }
  return "";
}

// The typed options of a registered type, for its factory to read, as
// MediaPipe's cc->Options<T>(). `config` is the type's config message
// (config::Layer, config::CacheStrategy, config::MemoryModule), whose `type`
// names it in messages. Without options: T's defaults, or, when `required`,
// an error that shows how to write them (`example` inside the braces).
// Options of another message type: an error naming both types.
template <typename T, typename Config>
absl::StatusOr<T> UnpackOptions(const Config& config, bool required = false,
                                absl::string_view example = "...") {
  const std::string& expected = T::descriptor()->full_name();
  T options;
  if (!config.has_options()) {
    if (!required) return options;
    return absl::InvalidArgumentError(absl::StrCat(config.type(),
                                                   " needs options { [type.googleapis.com/",
                                                   expected, "] { ", example, " } }"));
  }
  // UnpackTo checks the type name before it parses the bytes.
  if (!config.options().UnpackTo(&options)) {
    return absl::InvalidArgumentError(absl::StrCat(
        config.type(), " needs options of type ", expected, ", not ", config.options().type_url()));
  }
  // Counts the options' schema bounds ([(mnemo.config.range) = {...}]).
  if (absl::Status ranges = CheckRangesStatus(options, "options"); !ranges.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(config.type(), ": ", ranges.message()));
  }
  return options;
}

}  // namespace mnemo

#endif  // MNEMO_CORE_OPTIONS_CHECK_H_
