#pragma once
// The OCI spec of a container from its image config and the user's ContainerConfig: the
// image-level part comes from containerSpec (container_spec.h); this adds what the engine
// decides — mounts (binds, volumes, tmpfs, /etc/hosts), limits, capabilities, read-only
// root, no-new-privileges and the --init reaper. Pure: paths are given, nothing is touched.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "engine/container_config.h"

namespace berth::engine {

struct ResolvedMount {
  MountSpec spec;
  std::string host_path;  // bind source or the volume's data directory; empty for tmpfs
};

struct SpecPaths {
  std::string init;         // the berth-init binary, mounted at /dev/init with --init
  std::string hosts;        // the container's /etc/hosts file
  std::string hostname;     // the container's /etc/hostname file
  std::string resolv_conf;  // the container's /etc/resolv.conf file
};

// Adds the engine's part to `spec` (the output of containerSpec).
Status applyConfig(nlohmann::json& spec, const ContainerConfig& c,
                   const std::vector<ResolvedMount>& mounts, const SpecPaths& paths);

}  // namespace berth::engine
