#pragma once
// The Docker API's container create body → the engine's ContainerConfig (docker_create.cc).

#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "engine/container_config.h"

namespace berth::api::docker {

// `body` is POST /containers/create's JSON (Config with HostConfig and NetworkingConfig);
// `name` the ?name= parameter. Fields berth does not implement are a 400 naming the field
// unless they carry their default value.
Result<engine::ContainerConfig> createConfig(const nlohmann::json& body, const std::string& name);

}  // namespace berth::api::docker
