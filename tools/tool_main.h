#ifndef MNEMO_TOOLS_TOOL_MAIN_H_
#define MNEMO_TOOLS_TOOL_MAIN_H_

#include "absl/status/status.h"

namespace mnemo {

// The main() of a command-line tool: sets the usage text, parses Abseil
// flags, registers the data formats (tools/data), runs `run`, and on error prints "<name>:
// <message>" and returns 1.
int RunTool(int argc, char** argv, const char* name, const char* usage,
            absl::Status (*run)());

}  // namespace mnemo

#endif  // MNEMO_TOOLS_TOOL_MAIN_H_
