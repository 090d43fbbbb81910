#pragma once
// The Docker Engine API (v1.41, negotiated down to v1.12 as dockerd does) over the engine,
// served on the same socket as the native API: requests under /v1.NN/ or without a version
// prefix are Docker's, requests under /v1/ are the native API's. See docker_util.h.

#include "api/http.h"
#include "engine/engine.h"

namespace berth::api {

void addDockerRoutes(Router& router, engine::Engine& engine);

// The server's prepare step: strips a Docker version prefix (/v1.41/containers/json →
// /containers/json; a version above 1.41 or below 1.12 is answered 400 as dockerd does)
// and sets the headers dockerd puts on every response (Api-Version, Ostype, Server).
bool dockerPrepare(Request& req, Response& res);

}  // namespace berth::api
