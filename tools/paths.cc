#include "tools/paths.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace mnemo {
namespace {

bool IsReadable(const std::string& path) { return access(path.c_str(), R_OK) == 0; }

std::string CurrentDirectory() {
  char buffer[4096];
  return getcwd(buffer, sizeof(buffer)) ? buffer : ".";
}

}  // namespace

std::string UserPath(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  const char* working = std::getenv("BUILD_WORKING_DIRECTORY");
  return absl::StrCat(working ? working : CurrentDirectory(), "/", path);
}

absl::StatusOr<std::string> FindInputFile(const std::string& path) {
  const std::string user = UserPath(path);
  if (IsReadable(user)) return user;
  if (path.empty() || path[0] == '/') {
    return absl::NotFoundError(absl::StrCat("cannot read ", path));
  }
  const std::string runfiles = absl::StrCat(CurrentDirectory(), "/", path);
  if (IsReadable(runfiles)) return runfiles;
  return absl::NotFoundError(absl::StrCat("cannot read ", path, " (tried ", user,
                                          " and ", runfiles, ")"));
}

bool SameFile(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  return stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

}  // namespace mnemo
