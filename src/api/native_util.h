#pragma once
// What the native API's handler files share (native_routes.cc, native_networks.cc).

#include <functional>
#include <map>
#include <optional>
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
// A volume list filter: dangling=true|false, name=SUBSTRING, label=K[=V], driver=local.
bool volumeMatches(engine::Engine& e, const engine::Volume& v, const std::string& key,
                   const std::string& value);
// A `label=K` or `label=K=V` filter against labels.
bool labelsMatch(const std::map<std::string, std::string>& labels, const std::string& filter);

// `docker ps`'s status column: "Up 2 minutes (healthy)", "Exited (0) 3 seconds ago".
std::string statusText(const engine::Container& c);
// The entrypoint and command as one line.
std::string commandText(const engine::Container& c);
// Published ports as the native API shows them (host_ip "0.0.0.0" for every address).
nlohmann::json portsJson(const engine::Container& c);
// What an image removal or prune did: [{"untagged": "NAME:TAG"}, {"deleted": "sha256:…"}].
nlohmann::json deletedImagesJson(const std::vector<engine::ImageDeleteItem>& items);

// Unix seconds with an optional fraction ("1700000000.5") → ns; 0 for "".
Result<int64_t> timeArg(const Request& req, const std::string& key);
Result<std::optional<int>> intArg(const Request& req, const std::string& key);

// Connects the client to the monitor stream that `open` returns until the output ends.
// `open` calls `take_over` once nothing the container writes can be missed any more: that
// answers the client (docker's 101; clients wait for it before they start the container)
// and takes the connection over. Errors before it are ordinary error answers; errors after
// it go out as a stream-3 frame.
using MonitorOpener = std::function<Result<sys::Fd>(const engine::Cancelled& gone,
                                                    const std::function<Status()>& take_over)>;
Status hijackAndBridge(Request& req, Response& res, const MonitorOpener& open, bool tty, bool in,
                       bool out, bool err);

// The events stream of GET /events (both APIs): history from ?since= (unix seconds), then
// live events until ?until= or the client goes; one JSON line per event in `shape`.
Status streamEvents(engine::Engine& e, Request& req, Response& res, const engine::EventFilter& f,
                    const std::function<nlohmann::json(const engine::Event&)>& shape);

// GET/POST/DELETE /v1/networks… (native_networks.cc).
void addNetworks(Router& router, engine::Engine& engine);

}  // namespace berth::api
