#pragma once
// The container's filesystem view: OCI mounts, devices, masked and read-only paths.
//
// parseMountOptions is pure (unit-tested); the setup functions run inside the container's
// mount namespace, in the init process, before and after pivot_root.

#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "runtime/spec.h"

namespace berth::runtime {

struct MountOptions {
  unsigned long flags = 0;        // MS_RDONLY, MS_NOSUID, … (MS_BIND|MS_REC for rbind)
  unsigned long propagation = 0;  // MS_PRIVATE, MS_SLAVE|MS_REC, … (0: leave as is)
  std::string data;               // options the filesystem itself parses ("mode=755")
  bool bind() const;
};

// Splits OCI mount options into mount(2) flags, propagation and filesystem data.
MountOptions parseMountOptions(const std::vector<std::string>& options);
// MS_* propagation for linux.rootfsPropagation ("" → 0).
unsigned long propagationFlags(const std::string& name);

struct RootfsContext {
  const Spec* spec = nullptr;
  bool in_user_namespace = false;
  // Host directories of the container's cgroup, keyed by hierarchy ("memory", "" on v2),
  // for mounts of type "cgroup".
  std::map<std::string, std::string> cgroup_dirs;
  bool cgroup_v2 = false;
};

// Before pivot_root: makes the mount tree private/slave, bind-mounts the root onto itself,
// performs every mount of spec.mounts inside the root (targets resolved without escaping
// it), and creates the devices.
Status prepareRootfs(const RootfsContext& ctx);
// After pivot_root: masked paths, read-only paths, read-only root, root propagation.
Status finishRootfs(const Spec& spec);

}  // namespace berth::runtime
