#pragma once
// What the Docker Engine API's handler files share (docker_*.cc). The Docker API is a
// translation of the engine into the shapes that the docker CLI, docker-py and
// docker-compose read (Docker Engine API v1.41, ../shared/reference/clients.md); the
// engine does the work.

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "api/http.h"
#include "api/native_util.h"
#include "engine/engine.h"

namespace berth::api::docker {

inline constexpr const char* kApiVersion = "1.41";
inline constexpr const char* kMinApiVersion = "1.12";

// `filters={"k":{"v":true}}` (the CLI's map form) or `filters={"k":["v"]}` (docker-py and
// compose) → k → v pairs. kInvalidArgument for anything else.
Result<std::multimap<std::string, std::string>> dockerFilters(const Request& req);
// Rejects filter keys outside `allowed` the way dockerd does ("invalid filter 'x'").
Status onlyFilters(const std::multimap<std::string, std::string>& f,
                   std::initializer_list<const char*> allowed);

// RFC 3339 with nanoseconds; Go's zero time for 0 (what dockerd prints for "never").
std::string timeText(int64_t ns);

// docker's "sha256:<hex>" for an image id kept as hex.
inline std::string imageId(const std::string& hex) {
  return hex.starts_with("sha256:") ? hex : "sha256:" + hex;
}

// The body as a JSON object (an empty body is {}); 400 naming what is wrong.
Result<nlohmann::json> objectBody(Request& req);

// Handler registration for each part (docker_system.cc, docker_containers.cc, …).
void addSystem(Router& r, engine::Engine& e);
void addContainers(Router& r, engine::Engine& e);
void addExec(Router& r, engine::Engine& e);
void addNetworks(Router& r, engine::Engine& e);
void addVolumes(Router& r, engine::Engine& e);
void addImages(Router& r, engine::Engine& e);

}  // namespace berth::api::docker
