#pragma once
// From an image config and `run` options to an OCI runtime spec (config.json). Pure: the
// user lookup reads the rootfs's /etc/passwd and /etc/group through a callback.

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace berth::engine {

struct RunSpec {
  std::string id;
  std::string hostname;
  std::vector<std::string> command;                    // replaces the image's Cmd when not empty
  std::optional<std::vector<std::string>> entrypoint;  // replaces the image's Entrypoint
  std::vector<std::string> env;  // KEY=VALUE added to (or replacing) the image's
  std::string workdir;           // replaces WorkingDir
  std::string user;              // replaces User: uid[:gid] or name[:group]
  bool tty = false;
  bool host_network = false;
  std::string network_ns;  // a network namespace to join by path ("": a new one)
  std::string rootfs;      // absolute path of the mounted root
};

// Reads a file of the container's root ("/etc/passwd"); nullopt when it does not exist.
using RootfsReader = std::function<std::optional<std::string>(const std::string& path)>;
// The reader of a mounted root on the host: paths resolve inside it (links cannot lead out).
RootfsReader rootfsReader(const std::string& rootfs);

// "uid", "uid:gid", "name", "name:group" → numeric ids, as docker resolves them, looking
// names up in the root's /etc/passwd and /etc/group.
Result<std::pair<uint32_t, uint32_t>> resolveUser(const std::string& user,
                                                  const RootfsReader& read_rootfs);

// The runtime spec for the container. Errors name what is wrong ("user 'web': no such
// user in the image's /etc/passwd"; "no command: the image has no Cmd or Entrypoint").
Result<nlohmann::json> containerSpec(const nlohmann::json& image_config, const RunSpec& run,
                                     const RootfsReader& read_rootfs);

}  // namespace berth::engine
