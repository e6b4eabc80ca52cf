#ifndef MNEMO_CORE_OPTIONS_CHECK_H_
#define MNEMO_CORE_OPTIONS_CHECK_H_

#include <string>

#include <google/protobuf/any.pb.h>

#include "absl/strings/str_cat.h"

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

}  // namespace mnemo

#endif  // MNEMO_CORE_OPTIONS_CHECK_H_
