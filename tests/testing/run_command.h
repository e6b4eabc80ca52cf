#ifndef MNEMO_TESTS_TESTING_RUN_COMMAND_H_
#define MNEMO_TESTS_TESTING_RUN_COMMAND_H_

// Runs a tool as its own process, for tests of programs end to end.

#include <sys/wait.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/testing/test_files.h"

namespace mnemo::testing {

struct CommandResult {
  int exit_code = -1;  // -1 when the process did not exit by itself
  std::string out;
  std::string err;
};

// Runs `command` (a shell command line) with `stdin_text` as its input; its
// output and errors pass through files in `dir`.
inline CommandResult RunCommand(const std::string& command, const std::string& dir,
                                const std::string& stdin_text = "") {
  const std::string in = dir + "/stdin.txt";
  const std::string out = dir + "/stdout.txt";
  const std::string err = dir + "/stderr.txt";
  WriteFile(in, stdin_text);
  const int status =
      std::system(absl::StrCat(command, " < ", in, " > ", out, " 2> ", err).c_str());
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = ReadBytes(out);
  result.err = ReadBytes(err);
  return result;
}

}  // namespace mnemo::testing

#endif  // MNEMO_TESTS_TESTING_RUN_COMMAND_H_
