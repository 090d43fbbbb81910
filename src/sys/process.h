#pragma once
// Facts about host processes from /proc, and small process-control helpers.

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace berth::sys {

struct ProcStat {
  char state = '?';                   // R, S, D, Z, T, …
  unsigned long long start_time = 0;  // clock ticks since boot: tells a reused PID apart
};

// nullopt when the process does not exist.
std::optional<ProcStat> procStat(pid_t pid);

// Forks and execs `argv` with `env`, feeds `stdin_data` to its stdin, and waits for it at
// most `timeout_sec` seconds (0: no limit), killing it on timeout. Returns its exit status
// as from waitpid. Used for OCI hooks.
Result<int> runProgram(const std::string& path, const std::vector<std::string>& argv,
                       const std::vector<std::string>& env, const std::string& stdin_data,
                       int timeout_sec);

// Starts `path` with `argv` (argv[0] included) and this process's environment; its
// stdin, stdout and stderr are `in`, `out`, `err` (-1: /dev/null) and it inherits no other
// descriptor. Returns the child's pid: reap it with waitChild.
Result<pid_t> spawn(const std::string& path, const std::vector<std::string>& argv, int in, int out,
                    int err);

// Waits for a child, retrying on EINTR. Returns the raw status.
Result<int> waitChild(pid_t pid);

// Closes every descriptor >= 3 except [3, 3 + preserve) and those in `keep`. A container
// process must not inherit the runtime caller's descriptors (a shim's control socket, a
// pipe whose reader waits for end-of-file).
Status closeInheritedFds(int preserve, const std::vector<int>& keep);
// Marks every descriptor >= 3 + preserve close-on-exec and clears that flag on
// [3, 3 + preserve), which the caller asked to pass to the program (--preserve-fds).
Status cloexecFrom(int preserve);

// Exit code the way a shell reports it: the code, or 128+signal.
int exitCodeOf(int wait_status);

}  // namespace berth::sys
