#pragma once
// What the native API's handler files share (native_routes.cc, native_networks.cc).

#include <map>
#include <string>

#include "api/http.h"
#include "engine/engine.h"

namespace berth::api {

// Runs `body`, answering its error if it fails.
template <typename F>
Handler handle(F body) {
  return [body](Request& req, Response& res) {
    Status s = body(req, res);
    if (!s) res.error(s.error());
  };
}

// The request's `filter=K=V` parameters.
std::multimap<std::string, std::string> filters(const Request& req);
// A `label=K` or `label=K=V` filter against labels.
bool labelsMatch(const std::map<std::string, std::string>& labels, const std::string& filter);

// GET/POST/DELETE /v1/networks… (native_networks.cc).
void addNetworks(Router& router, engine::Engine& engine);

}  // namespace berth::api
