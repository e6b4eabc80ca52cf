#ifndef MNEMO_TOOLS_STOP_SIGNALS_H_
#define MNEMO_TOOLS_STOP_SIGNALS_H_

namespace mnemo {

// SIGINT and SIGTERM ask a tool to stop at its next safe point (tools/train:
// after the step under way, with a snapshot) instead of killing it; a second
// one kills it at once, as the signal would have. The handler only records
// the signal (and says so on stderr, with write(2)): the tool polls it.
void InstallStopSignalHandlers();

// The signal that asked to stop, or 0.
int StopSignal();

// "SIGINT", "SIGTERM", or "a signal" for any other.
const char* SignalName(int signal);

}  // namespace mnemo

#endif  // MNEMO_TOOLS_STOP_SIGNALS_H_
