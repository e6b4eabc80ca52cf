#include "tools/command_line.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace mnemo {

std::string ShellQuote(const std::string& arg) {
  static constexpr char kPlain[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%";
  if (!arg.empty() && arg.find_first_not_of(kPlain) == std::string::npos) return arg;
  std::string quoted = "'";
  for (char c : arg) {
    if (c == '\'') {
      quoted += "'\\''";  // close, an escaped quote, reopen
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

std::string RerunCommand(const std::vector<std::string>& argv, const std::string& bazel_target,
                         const std::string& flag) {
  std::vector<std::string> words;
  bool has_flag = false;
  for (size_t i = 1; i < argv.size(); ++i) {
    if (argv[i] == flag) has_flag = true;
    words.push_back(ShellQuote(argv[i]));
  }
  if (!has_flag) words.push_back(ShellQuote(flag));
  const std::string args = absl::StrJoin(words, " ");
  // Set by `bazel run` only.
  if (std::getenv("BUILD_WORKSPACE_DIRECTORY") != nullptr) {
    return absl::StrCat("./bazelw run ", bazel_target, " -- ", args);
  }
  return absl::StrCat(ShellQuote(argv.empty() ? bazel_target : argv[0]), " ", args);
}

}  // namespace mnemo
