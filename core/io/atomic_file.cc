#include "core/io/atomic_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace mnemo {
namespace {

// Numbers temporary files so that threads of one process writing the same
// path at once do not share a temporary file.
std::atomic<uint64_t> temp_file_counter{0};

// The directory holding `path` ("." for a bare name) and the name within it.
void SplitPath(const std::string& path, std::string* dir, std::string* name) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) {
    *dir = ".";
    *name = path;
  } else {
    *dir = slash == 0 ? "/" : path.substr(0, slash);
    *name = path.substr(slash + 1);
  }
}

int FsyncRetrying(int fd) {
  int result;
  do {
    result = ::fsync(fd);
  } while (result != 0 && errno == EINTR);
  return result;
}

// Writes, syncs and closes `fd`; returns 0 or the errno of the step that
// failed, which `*step` then names.
int WriteSyncClose(int fd, absl::string_view contents, const char** step) {
  const char* data = contents.data();
  size_t left = contents.size();
  while (left > 0) {
    const ssize_t written = ::write(fd, data, left);
    if (written < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      ::close(fd);
      *step = "cannot write";
      return error;
    }
    // A short write is no error: the next call writes the rest or reports
    // the cause (disk full, file size limit).
    data += written;
    left -= static_cast<size_t>(written);
  }
  if (FsyncRetrying(fd) != 0) {
    const int error = errno;
    ::close(fd);
    *step = "cannot fsync";
    return error;
  }
  // Linux releases the descriptor even when close fails: no retry on EINTR.
  if (::close(fd) != 0) {
    *step = "cannot close";
    return errno;
  }
  return 0;
}

// Makes the rename durable. Some file systems cannot fsync a directory and say
// so with EINVAL; the rename is then as durable as they make it.
int SyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  const int error = FsyncRetrying(fd) == 0 ? 0 : errno;
  ::close(fd);
  return error == EINVAL ? 0 : error;
}

}  // namespace

absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents) {
  const std::string context = absl::StrCat("cannot write ", path, ": ");
  std::string dir, name;
  SplitPath(path, &dir, &name);
  if (name.empty() || name == "." || name == "..") {
    return absl::InvalidArgumentError(absl::StrCat(context, "the path names no file"));
  }
  const std::string temp_path =
      absl::StrCat(dir == "/" ? "" : dir, "/.", name, ".tmp.", ::getpid(), ".",
                   temp_file_counter.fetch_add(1));

  // O_EXCL: never write through a leftover of a crashed process with a
  // recycled pid (it might be a symlink planted by someone else).
  const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) {
    return absl::ErrnoToStatus(
        errno, absl::StrCat(context, "cannot create temporary file ", temp_path));
  }
  const char* step = "";
  if (const int error = WriteSyncClose(fd, contents, &step); error != 0) {
    ::unlink(temp_path.c_str());
    return absl::ErrnoToStatus(error, absl::StrCat(context, step, " ", temp_path));
  }
  if (::rename(temp_path.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temp_path.c_str());
    return absl::ErrnoToStatus(
        error, absl::StrCat(context, "cannot rename ", temp_path, " over it"));
  }
  if (const int error = SyncDirectory(dir); error != 0) {
    return absl::ErrnoToStatus(error, absl::StrCat(context, "cannot fsync directory ", dir));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> RemoveStaleTemporaryFiles(const std::string& path) {
  std::string dir, name;
  SplitPath(path, &dir, &name);
  // The names WriteFileAtomically gives: ".<name>.tmp.<pid>.<counter>".
  const std::string prefix = absl::StrCat(".", name, ".tmp.");
  DIR* listing = ::opendir(dir.c_str());
  if (listing == nullptr) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot list directory ", dir));
  }
  int removed = 0;
  absl::Status status;
  while (const struct dirent* entry = ::readdir(listing)) {
    const absl::string_view entry_name = entry->d_name;
    if (!absl::StartsWith(entry_name, prefix)) continue;
    const absl::string_view rest = entry_name.substr(prefix.size());
    int pid = 0;
    if (!absl::SimpleAtoi(rest.substr(0, rest.find('.')), &pid) || pid <= 0) continue;
    // EPERM: the process exists but is someone else's.
    if (::kill(pid, 0) == 0 || errno != ESRCH) continue;
    const std::string stale = absl::StrCat(dir == "/" ? "" : dir, "/", entry_name);
    if (::unlink(stale.c_str()) != 0 && errno != ENOENT) {
      status =
          absl::ErrnoToStatus(errno, absl::StrCat("cannot remove stale temporary file ", stale));
      break;
    }
    ++removed;
  }
  ::closedir(listing);
  if (!status.ok()) return status;
  return removed;
}

absl::Status MakeDirectories(const std::string& dir) {
  if (dir.empty()) {
    return absl::InvalidArgumentError("cannot create a directory with an empty name");
  }
  // Creates each prefix ending before a '/' and then the whole path, so that
  // an error names the first component that could not be made.
  size_t end = dir.find('/', 1);
  while (true) {
    const std::string prefix = dir.substr(0, end);
    // "a//b" and a trailing slash give prefixes already made.
    if (prefix.back() != '/' && ::mkdir(prefix.c_str(), 0777) != 0) {
      const int error = errno;
      const std::string context =
          prefix.size() == dir.size()
              ? absl::StrCat("cannot create directory ", dir)
              : absl::StrCat("cannot create directory ", dir, ": cannot create ", prefix);
      // EACCES and EROFS also come for components that already exist.
      struct stat info;
      if ((error != EEXIST && error != EACCES && error != EROFS) ||
          ::stat(prefix.c_str(), &info) != 0) {
        return absl::ErrnoToStatus(error, context);
      }
      if (!S_ISDIR(info.st_mode)) {
        return absl::FailedPreconditionError(
            absl::StrCat(context, ": it exists and is not a directory"));
      }
    }
    if (end == std::string::npos) break;
    end = dir.find('/', end + 1);
  }
  return absl::OkStatus();
}

}  // namespace mnemo
