#pragma once
// What berth-runtime remembers about a container between commands.
//
// Layout under --root (default /run/berth-runtime), one directory per container:
//   <root>/<id>/state.json    this file's format, version 1 (below)
//   <root>/<id>/config.json   the bundle's config.json as it was at create time
//   <root>/<id>/exec.fifo     exists from create until start: the init blocks opening it
//
// state.json v1: {"version":1,"id","pid","pidStartTime","bundle","rootfs","created",
//                 "owner","cgroupPath","annotations":{},"paused":bool}
// The status is never stored: it is derived from the process and the fifo each time, so a
// container whose process died while nobody watched still reads "stopped".
// Files are replaced by rename (readers see the old or the new) but never fsynced: the
// root is meant to be a tmpfs, and what it describes (processes, cgroups) does not outlive
// the machine anyway. A flush per file cost 10-15 ms each on a busy ext4, as runc and crun
// know, which do not flush theirs either.

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace berth::runtime {

enum class ContainerStatus { kCreating, kCreated, kRunning, kPaused, kStopped };
const char* statusName(ContainerStatus s);

struct ContainerState {
  std::string id;
  pid_t pid = 0;
  unsigned long long pid_start_time = 0;
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC 3339
  std::string owner;
  std::string cgroup_path;
  std::map<std::string, std::string> annotations;
  bool paused = false;
};

// Rejects ids that could escape the state directory or confuse callers.
Status validateId(const std::string& id);

class StateStore {
 public:
  explicit StateStore(std::string root) : root_(std::move(root)) {}

  const std::string& root() const { return root_; }
  std::string dir(const std::string& id) const { return root_ + "/" + id; }
  std::string fifoPath(const std::string& id) const { return dir(id) + "/exec.fifo"; }
  std::string configPath(const std::string& id) const { return dir(id) + "/config.json"; }
  // Compiled seccomp programs (compileSeccompCached); no container id can hold an '@'.
  std::string seccompCacheDir() const { return root_ + "/@seccomp"; }

  // Makes <root>/<id>; kAlreadyExists if it is there.
  Status reserve(const std::string& id) const;
  Status save(const ContainerState& st) const;
  // kNotFound, with "container 'x' does not exist" (podman matches that text).
  Result<ContainerState> load(const std::string& id) const;
  Status remove(const std::string& id) const;
  Result<std::vector<std::string>> list() const;

 private:
  std::string root_;
};

ContainerStatus currentStatus(const ContainerState& st, const StateStore& store);

// The JSON the OCI runtime spec defines for `state` and that hooks receive on stdin.
std::string stateJson(const ContainerState& st, ContainerStatus status);

}  // namespace berth::runtime
