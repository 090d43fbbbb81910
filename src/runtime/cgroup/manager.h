#pragma once
// Cgroup managers: put a container's processes into a cgroup and apply its resource limits.
//
// Two implementations behind one interface: cgroup v1 (one hierarchy per controller,
// including the hybrid layout where /sys/fs/cgroup/unified is a cgroup2 mount holding no
// controllers we use) and cgroup v2 (one unified hierarchy). Both work on a root directory
// given at construction, so unit tests run them against a fake cgroupfs tree in a temp dir.
// The limits to write are planned by the pure per-controller functions of planner.h.
//
// A Manager is cheap and stateless besides its paths: each runtime command opens one for
// the container's cgroup path (recorded in the container state) and drops it.
// Not thread-safe.

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "runtime/spec.h"

namespace berth::runtime::cgroup {

enum class Version { kV1, kV2 };

class Manager {
 public:
  virtual ~Manager() = default;

  virtual Version version() const = 0;
  // The cgroup path relative to the hierarchy roots, e.g. "/berth/web".
  virtual const std::string& path() const = 0;

  // Creates the cgroup directories (and missing parents). On v1 it copies cpuset.cpus and
  // cpuset.mems down from the parent, which would otherwise leave them empty and refuse
  // tasks; on v2 it enables the needed controllers in the parents' cgroup.subtree_control.
  // Creating an existing cgroup is not an error.
  virtual Status create() = 0;
  // Writes the limits. A limit the host cannot apply (a missing interface file) is an error
  // naming the file, except blkio weight, which only warns (many kernels lack it).
  // `warnings` receives human-readable notes about skipped settings.
  virtual Status apply(const Resources& resources, std::vector<std::string>* warnings) = 0;
  // Moves a process into the cgroup (every hierarchy on v1).
  virtual Status addProcess(pid_t pid) = 0;
  // The processes now in the cgroup (from cgroup.procs; on v1 from the first hierarchy).
  virtual Result<std::vector<pid_t>> pids() const = 0;
  // True when the kernel's OOM killer has killed a process in this cgroup
  // (v1: memory.oom_control "oom_kill N", v2: memory.events "oom_kill N", N > 0).
  virtual Result<bool> oomKilled() const = 0;
  // Freezes or thaws every process (v1 freezer.state, v2 cgroup.freeze).
  virtual Status freeze(bool frozen) = 0;
  // Removes the cgroup directories. A missing cgroup is not an error. Retries briefly on
  // EBUSY, which the kernel returns while the last task is still exiting.
  virtual Status destroy() = 0;
  // For the container's /sys/fs/cgroup: (hierarchy name → host directory of this cgroup).
  // v1: {"memory" → "/sys/fs/cgroup/memory/berth/web", …}; v2: {"" → "/sys/fs/cgroup/berth/web"}.
  virtual std::map<std::string, std::string> hostDirs() const = 0;
};

// Where each v1 hierarchy is mounted: "memory" → "/sys/fs/cgroup/memory",
// "cpu,cpuacct" → "/sys/fs/cgroup/cpu,cpuacct", "name=systemd" → "/sys/fs/cgroup/systemd".
using V1Hierarchies = std::map<std::string, std::string>;

std::unique_ptr<Manager> newV1Manager(V1Hierarchies hierarchies, std::string path);
std::unique_ptr<Manager> newV2Manager(std::string mount_root, std::string path);

// Reads /proc/self/mountinfo (and statfs of /sys/fs/cgroup) to pick v1 or v2 for this host
// and opens a manager for `path`. With cgroup v1, a layout handed down in kV1LayoutEnv is
// used instead of mountinfo when every mount point in it is still a cgroup v1 mount.
Result<std::unique_ptr<Manager>> openHostManager(const std::string& path);

// berthd reads the v1 layout once and hands it to the monitors and runtimes it starts in
// this environment variable: mountinfo lists every container's overlay mount (with its
// long options), so reading it made each start slower as containers accumulated. The
// container's own process gets the spec's environment, never this one.
inline constexpr char kV1LayoutEnv[] = "BERTH_CGROUP_V1_LAYOUT";

// "controllers=mountpoint" entries joined by ';' ("cpu=/sys/fs/cgroup/cpu;name=systemd=
// /sys/fs/cgroup/systemd"); empty when a mount point holds a ';' (such a layout is not
// handed down). parseV1Layout returns nothing for anything it cannot read back exactly.
std::string formatV1Layout(const V1Hierarchies& hierarchies);
std::optional<V1Hierarchies> parseV1Layout(std::string_view text);

// Sets kV1LayoutEnv from this host's mountinfo when /sys/fs/cgroup is cgroup v1, and
// removes it otherwise. setenv: call before any other thread starts.
Status exportHostLayout();

// The cgroup path a container gets from linux.cgroupsPath: an absolute path is used as is,
// a relative one is put under "/", and an empty one becomes "/berth/<id>". A
// systemd-style "slice:prefix:name" value is rejected (systemd cgroups are not supported).
Result<std::string> resolvePath(const std::string& cgroups_path, const std::string& id);

}  // namespace berth::runtime::cgroup
