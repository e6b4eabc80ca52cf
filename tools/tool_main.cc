#include "tools/tool_main.h"

#include <cstdio>
#include <string>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "tools/data/formats.h"

namespace mnemo {

int RunTool(int argc, char** argv, const char* name, const char* usage,
            absl::Status (*run)()) {
  absl::SetProgramUsageMessage(usage);
  absl::ParseCommandLine(argc, argv);
  // Before any config is read: its `data` section names one of them.
  if (absl::Status status = RegisterDataFormats(); !status.ok()) {
    std::fprintf(stderr, "%s: %s\n", name, std::string(status.message()).c_str());
    return 1;
  }
  if (absl::Status status = run(); !status.ok()) {
    std::fprintf(stderr, "%s: %s\n", name, std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace mnemo
