// Linked into tests that load training configs or data as the tools do:
// registers the tools' data formats (tools/data) before main() runs, as
// every tool's RunTool does before it reads a config.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tools/data/formats.h"

namespace {

const bool registered = [] {
  if (absl::Status status = mnemo::RegisterDataFormats(); !status.ok()) {
    std::fprintf(stderr, "%s\n", std::string(status.message()).c_str());
    std::abort();
  }
  return true;
}();

}  // namespace
