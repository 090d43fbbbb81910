#pragma once
// exec: run one more process in a running container, in all of its namespaces and its
// cgroup, under the container's seccomp profile.

#include <string>

#include "common/result.h"
#include "runtime/spec.h"
#include "runtime/state.h"

namespace berth::runtime {

struct ExecOptions {
  std::string id;
  Process process;
  std::string pid_file;
  std::string console_socket;
  bool detach = false;
  int preserve_fds = 0;
};

// The container's own process (from its config at create time), for `exec ID ARGS…`.
Result<Process> containerProcess(const StateStore& store, const std::string& id);

// Detached: returns 0 once the process runs (its pid in pid_file). Foreground: waits and
// returns its exit code.
Result<int> exec(const StateStore& store, const ExecOptions& opts);

}  // namespace berth::runtime
