#ifndef MNEMO_TOOLS_PATHS_H_
#define MNEMO_TOOLS_PATHS_H_

#include <string>

#include "absl/status/statusor.h"

namespace mnemo {

// A path the user typed, made absolute against the directory they ran the
// tool from: under `bazel run` the process starts in its runfiles, and
// $BUILD_WORKING_DIRECTORY says where the user was.
std::string UserPath(const std::string& path);

// An input file the user named: found where they ran the tool, else in the
// tool's runfiles (where the repository's configs/ are under `bazel run`).
// The error lists both places.
absl::StatusOr<std::string> FindInputFile(const std::string& path);

// Whether the two paths name one existing file (an input given as the
// output too, by another name).
bool SameFile(const std::string& a, const std::string& b);

}  // namespace mnemo

#endif  // MNEMO_TOOLS_PATHS_H_
