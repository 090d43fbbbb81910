#pragma once
// Creating a container: the runtime side of clone. Validates everything that can be
// validated before a process exists (spec, rootfs, seccomp profile, cgroup), clones the
// init into its namespaces, writes its id maps and cgroup, runs the runtime-side hooks and
// waits until the init is ready. On any failure it removes what it made: the process, the
// cgroup and the state directory.

#include <sys/types.h>

#include <string>

#include "common/result.h"
#include "runtime/spec.h"
#include "runtime/state.h"

namespace berth::runtime {

struct CreateOptions {
  std::string id;
  std::string bundle;          // absolute
  std::string pid_file;        // empty: none
  std::string console_socket;  // path; empty: none
  int console_fd = -1;         // alternatively an already connected socket (foreground run)
  bool wait_for_start = true;  // false for `run`: the init execs as soon as it is ready
  int preserve_fds = 0;        // pass descriptors 3 … 3+N-1 to the container
};

struct Created {
  ContainerState state;
  Spec spec;
};

Result<Created> createContainer(const StateStore& store, const CreateOptions& opts);

// `resources` with allow rules appended for the default devices and `devices`, so that a
// spec whose device rules deny everything still has /dev/null, /dev/pts and its own devices.
Resources withDefaultDeviceRules(const Resources& resources, const std::vector<Device>& devices);

// Writes `pid` to `path` atomically (callers poll for the file).
Status writePidFile(const std::string& path, pid_t pid);

}  // namespace berth::runtime
