#pragma once
// A container as the engine knows it: the user's config, the image it came from, and its
// observed state. Persisted as one JSON record per container (container_store.h); the
// format is versioned:
//
//   v1: {"version":1,"id","name","image_id","created_ns","config":{container_config.h},
//        "state":{"status","pid","monitor_pid","monitor_start","exit_code","oom_killed",
//                 "error","started_ns","finished_ns","restart_count","stopped_by_user",
//                 "health":{"status","failing_streak","log":[…]},
//                 "network":{"sandbox","endpoints":[{"network_id","network","ip","prefix_len",
//                            "gateway","mac","aliases","host_if","if_name"}],
//                            "ports":[{container_port,protocol,host_ip,host_port}]}}}
//       ("network" added without a version change: absent means no network state)

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "engine/container_config.h"

namespace berth::engine {

enum class RunState { kCreated, kRunning, kPaused, kRestarting, kExited, kRemoving, kDead };
const char* runStateName(RunState s);
std::optional<RunState> runStateFromName(const std::string& name);

struct HealthResult {
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  int exit_code = 0;
  std::string output;
};

struct Health {
  std::string status;  // "", "starting", "healthy", "unhealthy"
  int failing_streak = 0;
  std::deque<HealthResult> log;  // the last five
};

// The container's place on one network while it runs.
struct Endpoint {
  std::string network_id;
  std::string network;  // its name when attached
  std::string ip;
  int prefix_len = 0;
  std::string gateway;  // "" on networks without one
  std::string mac;
  std::vector<std::string> aliases;
  std::string host_if;  // the host end of a veth ("" for macvlan)
  std::string if_name;  // the interface in the container: eth0, eth1, …
};

struct NetworkState {
  std::string sandbox;  // the network namespace's path (bind mount) while it runs
  std::vector<Endpoint> endpoints;
  std::vector<PortBinding> ports;  // as published (host ports chosen)
};

struct ContainerState {
  RunState status = RunState::kCreated;
  pid_t pid = 0;                         // the init, while running
  pid_t monitor_pid = 0;                 // while running
  unsigned long long monitor_start = 0;  // the monitor's start time (tells a reused pid apart)
  int exit_code = 0;
  bool oom_killed = false;
  std::string error;  // why the last start failed
  int64_t started_ns = 0;
  int64_t finished_ns = 0;
  int restart_count = 0;
  bool stopped_by_user = false;  // stop/kill through the API: no restart (policy permitting)
  Health health;
  NetworkState net;
};

struct Container {
  std::string id;  // 64 hex
  std::string name;
  std::string image_id;  // hex of the image's config digest
  int64_t created_ns = 0;
  ContainerConfig config;
  ContainerState state;

  bool running() const {
    return state.status == RunState::kRunning || state.status == RunState::kPaused;
  }
};

nlohmann::json toJson(const Container& c);
Result<Container> containerFromJson(const nlohmann::json& j);
nlohmann::json toJson(const ContainerState& s);

int64_t nowNs();

}  // namespace berth::engine
