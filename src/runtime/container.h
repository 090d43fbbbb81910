#pragma once
// The runtime's verbs over a StateStore, as the berth-runtime command line exposes them
// with runc's contract. Each call is one short-lived operation; nothing is cached.

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/result.h"
#include "runtime/launcher.h"
#include "runtime/state.h"

namespace berth::runtime {

// create → created; the init waits for start.
Result<ContainerState> create(const StateStore& store, const CreateOptions& opts);
// created → running: lets the init exec, then runs poststart hooks.
Status start(const StateStore& store, const std::string& id);
// The state JSON; kNotFound "container 'x' does not exist" for unknown ids.
Result<std::string> state(const StateStore& store, const std::string& id);
Status kill(const StateStore& store, const std::string& id, int signal, bool all);
// Removes a stopped container (or any, with `force`, after SIGKILL): processes, cgroup,
// state; then poststop hooks. With `force`, an unknown id is not an error.
Status remove(const StateStore& store, const std::string& id, bool force);
Status pause(const StateStore& store, const std::string& id);
Status resume(const StateStore& store, const std::string& id);
// Applies new limits to a created, running or paused container's cgroup.
Status update(const StateStore& store, const std::string& id, const Resources& resources);
Result<std::vector<pid_t>> processes(const StateStore& store, const std::string& id);

struct RunOptions {
  CreateOptions create;
  bool detach = false;
  bool keep = false;  // --keep: do not delete after exit
};
// create + start; in the foreground waits, forwards signals, proxies a terminal, reports
// an OOM kill, deletes the container and returns the exit code.
Result<int> run(const StateStore& store, const RunOptions& opts);

// True when the kernel OOM killer killed a process of this container's cgroup.
bool oomKilled(const ContainerState& st);

}  // namespace berth::runtime
