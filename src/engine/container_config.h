#pragma once
// What a user asks for when creating a container (the native API's create body, see
// src/api/native_api.md), its JSON form, and its validation. The JSON form is also what
// the engine persists (container_store.h), so field names here are a persisted format:
// add fields with defaults, never rename.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::engine {

struct MountSpec {
  std::string type;    // "bind", "volume" or "tmpfs"
  std::string source;  // host path (bind), volume name (volume; empty: anonymous), unused
  std::string target;  // absolute path in the container
  bool read_only = false;
  int64_t tmpfs_size = 0;  // bytes; 0: the kernel's default
};

struct RestartPolicy {
  std::string name = "no";  // no, on-failure, always, unless-stopped
  int max_retries = 0;      // on-failure only; 0: unlimited
};

struct Healthcheck {
  std::vector<std::string> test;  // ["CMD-SHELL", "cmd"], ["CMD", args…] or ["NONE"]
  int64_t interval_ns = 0;        // 0: 30 s
  int64_t timeout_ns = 0;         // 0: 30 s
  int64_t start_period_ns = 0;
  int retries = 0;  // 0: 3
};

struct ResourceLimits {
  int64_t memory = 0;      // bytes; 0: unlimited
  int64_t nano_cpus = 0;   // 1e9 = one CPU
  int64_t pids_limit = 0;  // 0: unlimited
  std::string cpuset_cpus;
};

struct LogOptions {
  int64_t max_size = 0;  // bytes; 0: no rotation
  int max_files = 1;
};

// How a container joins one network (the create body's `networks` entries).
struct EndpointConfig {
  std::vector<std::string> aliases;
  std::string ip;   // "": one is allocated
  std::string mac;  // "": derived from the address
};

// A published port: `host_port` 0 picks a free one at start; `host_ip` "" is every local
// address.
struct PortBinding {
  int container_port = 0;
  std::string protocol = "tcp";  // tcp or udp
  std::string host_ip;
  int host_port = 0;
};
nlohmann::json toJson(const PortBinding& p);

struct ContainerConfig {
  std::string image;
  std::string name;
  std::vector<std::string> cmd;                        // empty: the image's Cmd
  std::optional<std::vector<std::string>> entrypoint;  // nullopt: the image's
  std::vector<std::string> env;
  std::string workdir;
  std::string user;
  std::string hostname;
  std::map<std::string, std::string> labels;
  bool tty = false;
  bool open_stdin = false;
  bool auto_remove = false;
  bool init = false;
  bool read_only = false;
  bool no_new_privileges = false;
  std::vector<std::string> cap_add;
  std::vector<std::string> cap_drop;
  ResourceLimits resources;
  RestartPolicy restart;
  std::optional<Healthcheck> healthcheck;  // nullopt: the image's HEALTHCHECK, if any
  std::vector<MountSpec> mounts;
  // bridge (the default network), none, host, container:NAME, or a network's name: the
  // first network. `networks` may name more, and carries endpoint settings for any.
  std::string network_mode = "bridge";
  std::map<std::string, EndpointConfig> networks;
  std::vector<PortBinding> ports;
  bool publish_all = false;         // the image's EXPOSEd ports and `expose`, on free ports
  std::vector<std::string> expose;  // "80/tcp"
  std::vector<std::string> links;   // "NAME[:ALIAS]"
  std::vector<std::string> dns;     // nameservers; empty: the network's resolver
  std::string stop_signal;          // empty: the image's STOPSIGNAL or SIGTERM
  int stop_timeout = -1;            // seconds; -1: 10
  LogOptions log;
};

// Parses a create body. Errors are kInvalidArgument and name the field: "field
// 'resources.memory': must be a number of bytes (got "32q")".
Result<ContainerConfig> configFromJson(const nlohmann::json& j);
nlohmann::json toJson(const ContainerConfig& c);
nlohmann::json toJson(const Healthcheck& h);
Result<Healthcheck> healthcheckFromJson(const nlohmann::json& j, const std::string& where);

// Checks values that JSON types cannot: names, paths, signals, policies, limits.
Status validate(const ContainerConfig& c);

// An EXPOSE entry: "80", "80/tcp", "53/udp" → port and protocol.
Result<std::pair<int, std::string>> parseExpose(const std::string& text);

// Container names: [a-zA-Z0-9][a-zA-Z0-9_.-]*, as docker allows.
bool validName(const std::string& name);

}  // namespace berth::engine
