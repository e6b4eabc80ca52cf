#ifndef MNEMO_TOOLS_COMMAND_LINE_H_
#define MNEMO_TOOLS_COMMAND_LINE_H_

#include <string>
#include <vector>

namespace mnemo {

// `arg` as one shell word: as it is when it needs no quoting, else in single
// quotes.
std::string ShellQuote(const std::string& arg);

// The command that runs a tool again as `argv` (main's) ran it, with `flag`
// appended unless it is there already: through `./bazelw run <bazel_target>
// --` when `bazel run` started the tool (its argv[0] lies in the runfiles),
// else the binary as it was run. For messages that tell the user what to
// type next.
std::string RerunCommand(const std::vector<std::string>& argv, const std::string& bazel_target,
                         const std::string& flag);

}  // namespace mnemo

#endif  // MNEMO_TOOLS_COMMAND_LINE_H_
