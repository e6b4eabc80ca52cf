#ifndef MNEMO_CORE_IO_READ_FILE_H_
#define MNEMO_CORE_IO_READ_FILE_H_

#include <string>

#include "absl/status/statusor.h"

namespace mnemo {

// The whole contents of `path`. Errors name the path and carry errno's reason.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

}  // namespace mnemo

#endif  // MNEMO_CORE_IO_READ_FILE_H_
