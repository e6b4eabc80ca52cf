#include "tools/tool_main.h"

#include <cstdio>
#include <string>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "core/io/quote.h"
#include "tools/data/formats.h"

namespace mnemo {

int RunTool(int argc, char** argv, const char* name, const char* usage,
            absl::Status (*run)()) {
  absl::SetProgramUsageMessage(usage);
  absl::ParseCommandLine(argc, argv);
  // Before any config is read: its `data` section names one of them.
  absl::Status status = RegisterDataFormats();
  if (status.ok()) status = run();
  if (status.ok()) return 0;
  // Whatever input the message carries (a path, a cell), escaped and
  // shortened; written whole, a NUL in it included.
  const std::string line = absl::StrCat(name, ": ", TerminalSafe(status.message()), "\n");
  std::fwrite(line.data(), 1, line.size(), stderr);
  return 1;
}

}  // namespace mnemo
