#pragma once
// Starting the OCI runtime from the monitor, in two steps so that the child, not the
// long-lived monitor, pays for building the command line: the monitor's stack pages stay
// resident for its whole life, a child's are gone with its exec.
//
//   pid_t pid = forkWithStdio(stdio);
//   if (pid == 0) { …build argv…; execOrReport(argv, "runtime.log"); }

#include <sys/types.h>

namespace berth::monitor {

// Forks. In the child: stdio[0..2] become descriptors 0, 1 and 2, the signal mask is
// emptied and the signals the monitor ignores get their default dispositions back (a
// container must not inherit an ignored SIGPIPE); every other descriptor is expected to
// be close-on-exec. Returns 0 in the child, the child's pid in the parent, -1 with errno
// when fork fails.
pid_t forkWithStdio(const int stdio[3]);

// Execs argv[0] (an absolute path). If that fails, appends the reason as a JSON error line
// to error_log (relative to the working directory) and exits 127.
[[noreturn]] void execOrReport(const char* const* argv, const char* error_log);

}  // namespace berth::monitor
