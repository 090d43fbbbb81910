#pragma once
// Running an image in the foreground without a daemon (until berthd exists): prepare the
// snapshots, mount the overlay root, write the bundle, run it with the runtime library,
// and remove everything afterwards (the container is always removed, as with --rm).
//
// Layout under <root>/containers/<id>/: config.json, image (the image id, hex),
// rootfs/ (the overlay mount), upper/ and work/ (its writable layer).

#include <string>
#include <vector>

#include "common/result.h"
#include "engine/container_spec.h"

namespace berth::engine {

struct LocalRunOptions {
  std::string root = "/var/lib/berth";              // image store and containers
  std::string runtime_root = "/run/berth/runtime";  // runtime state
  std::string image;
  RunSpec spec;  // id, hostname and rootfs are filled in here
};

// Returns the container's exit code.
Result<int> runImage(const LocalRunOptions& opts);

// Ids (hex) of the images that running containers under `root` use.
std::vector<std::string> imagesInUse(const std::string& root);

}  // namespace berth::engine
