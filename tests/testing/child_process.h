#ifndef MNEMO_TESTS_TESTING_CHILD_PROCESS_H_
#define MNEMO_TESTS_TESTING_CHILD_PROCESS_H_

// Runs a piece of a test in a child process that the kernel restricts, so
// that a failure the code must survive is a real one: system calls that fail
// with a chosen errno (a seccomp filter: a disk that cannot fsync, a rename
// that is refused), or root without its capabilities (file permissions then
// hold for it as for anyone). The test itself is not restricted.

#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace mnemo::testing {

struct ChildLimits {
  std::vector<int> failing_syscalls;  // SYS_fsync, SYS_rename, ...: each fails with `error`
  int error = EIO;
  bool drop_capabilities = false;  // clear the effective set (root obeys permissions)
};

namespace child_process_internal {

inline bool FailSyscalls(const std::vector<int>& syscalls, int error) {
  std::vector<sock_filter> program = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
  };
  for (int nr : syscalls) {
    program.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(nr), 0, 1));
    program.push_back(BPF_STMT(
        BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (static_cast<unsigned>(error) & SECCOMP_RET_DATA)));
  }
  program.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  sock_fprog filter = {static_cast<unsigned short>(program.size()), program.data()};
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &filter) == 0;
}

inline bool DropCapabilities() {
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  data[0].effective = data[1].effective = 0;
  return syscall(SYS_capset, &header, data) == 0;
}

}  // namespace child_process_internal

// What `body` returned in a child process restricted by `limits`; "child: ..."
// when the restriction could not be set up or the child did not exit.
inline std::string RunInChild(const ChildLimits& limits, const std::function<std::string()>& body) {
  int fds[2];
  if (pipe(fds) != 0) return "child: no pipe";
  const pid_t pid = fork();
  if (pid < 0) return "child: no fork";
  if (pid == 0) {
    close(fds[0]);
    std::string result;
    if (limits.drop_capabilities && !child_process_internal::DropCapabilities()) {
      result = "child: cannot drop capabilities";
    } else if (!limits.failing_syscalls.empty() &&
               !child_process_internal::FailSyscalls(limits.failing_syscalls, limits.error)) {
      result = "child: cannot install the seccomp filter";
    } else {
      result = body();
    }
    for (size_t done = 0; done < result.size();) {
      const ssize_t n = write(fds[1], result.data() + done, result.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    _exit(0);  // no destructors, no atexit handlers of the test's process
  }
  close(fds[1]);
  std::string result;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof(buffer))) > 0) result.append(buffer, n);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status)) return absl::StrCat("child: ended by signal ", WTERMSIG(status));
  return result;
}

}  // namespace mnemo::testing

#endif  // MNEMO_TESTS_TESTING_CHILD_PROCESS_H_
