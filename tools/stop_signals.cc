#include "tools/stop_signals.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace mnemo {
namespace {

// Lock-free, so the handler may touch it.
std::atomic<int> stop_signal{0};
static_assert(std::atomic<int>::is_always_lock_free);

void OnStopSignal(int signal) {
  if (stop_signal.exchange(signal) != 0) {
    // The second: do what the signal does by default (terminate).
    ::signal(signal, SIG_DFL);
    ::raise(signal);
    return;
  }
  static const char kMessage[] =
      "\nstopping after the step under way (a snapshot follows); signal again to stop at once\n";
  // Nothing to do if stderr is gone.
  [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
}

}  // namespace

void InstallStopSignalHandlers() {
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_handler = &OnStopSignal;
  sigemptyset(&action.sa_mask);
  // Restart interrupted reads and writes: the run goes on until its next step.
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int StopSignal() { return stop_signal.load(); }

const char* SignalName(int signal) {
  switch (signal) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    default:
      return "a signal";
  }
}

}  // namespace mnemo
