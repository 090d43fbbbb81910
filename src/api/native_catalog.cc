// The native API's service catalog (native_api.md, "Service catalog"): answers from the
// catalog's in-memory mirror, blocking queries on its change index, registrations of this
// daemon's node.

#include <chrono>
#include <random>

#include "api/native_routes.h"
#include "api/native_util.h"
#include "common/strings.h"

namespace berth::api {

using nlohmann::json;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds kDefaultWait = std::chrono::minutes(5);
constexpr milliseconds kMaxWait = std::chrono::minutes(10);

// With `index=N` waits until `current()` passes N (or `wait` elapses, or the client goes)
// and returns the index the answer reflects.
Result<store::Revision> blockOn(catalog::Catalog& c, Request& req, Response& res,
                                const std::string& service) {
  if (!req.hasQuery("index")) return service.empty() ? c.index() : c.serviceIndex(service);
  auto after = parseInt(req.queryValue("index"));
  if (!after || *after < 0)
    return invalidArgument("query 'index': " + quote(req.queryValue("index")) +
                           " is not a catalog index (0 or more)");
  milliseconds wait = kDefaultWait;
  if (req.hasQuery("wait")) {
    auto ns = parseDuration(req.queryValue("wait"));
    if (!ns) return ns.error().context("query 'wait': " + quote(req.queryValue("wait")));
    wait = std::min(kMaxWait, milliseconds(*ns / 1'000'000));
  }
  return c.waitChange(service, *after, wait, [&res] { return res.peerClosed(); });
}

void answer(Response& res, int status, store::Revision index, const json& body) {
  res.setHeader("X-Berth-Index", std::to_string(index));
  res.json(status, body);
}

Status listServices(catalog::Catalog& c, Request& req, Response& res) {
  auto index = BERTH_TRY(blockOn(c, req, res, ""));
  json list = json::array();
  for (const auto& s : c.services()) {
    list.push_back(
        {{"name", s.name}, {"tags", s.tags}, {"instances", s.instances}, {"passing", s.passing}});
  }
  answer(res, 200, index, {{"index", index}, {"services", list}});
  return okStatus();
}

Status listInstances(catalog::Catalog& c, Request& req, Response& res) {
  const std::string& name = req.params["name"];
  auto index = BERTH_TRY(blockOn(c, req, res, name));
  json list = json::array();
  for (const auto& in : c.instances(name, req.queryBool("passing"), req.queryValue("tag")))
    list.push_back(catalog::toJson(in));
  answer(res, 200, index, {{"index", index}, {"instances", list}});
  return okStatus();
}

std::string newInstanceId(const std::string& service) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(rng()));
  return service + "-" + std::string(hex, 8);
}

Status registerInstance(catalog::Catalog& c, Request& req, Response& res) {
  const std::string& name = req.params["name"];
  json body = BERTH_TRY(req.readJson());
  if (!body.is_object())
    return invalidArgument("register an instance of " + quote(name) +
                           ": the body must be a JSON object (an instance)");
  if (body.contains("service") && body["service"] != name)
    return invalidArgument("register an instance of " + quote(name) + ": the body names service " +
                           body["service"].dump() + "; leave it out or make it match the path");
  body.erase("node");  // always this daemon's
  body["service"] = name;
  auto in = catalog::instanceFromJson(body);
  if (!in) return in.error().context("register an instance of " + quote(name));
  if (in->id.empty()) in->id = newInstanceId(name);
  auto rev = BERTH_TRY(c.registerInstance(*in, /*persist=*/true));
  answer(res, 201, rev, {{"service", name}, {"id", in->id}, {"index", rev}});
  return okStatus();
}

Status deregisterInstance(catalog::Catalog& c, Request& req, Response& res) {
  auto rev = BERTH_TRY(c.deregister(req.params["name"], req.params["id"]));
  answer(res, 200, rev, {{"index", rev}});
  return okStatus();
}

}  // namespace

void addCatalog(Router& r, catalog::Catalog& c) {
  r.add("GET", "/v1/catalog/services",
        handle([&c](Request& req, Response& res) { return listServices(c, req, res); }));
  r.add("GET", "/v1/catalog/services/{name}",
        handle([&c](Request& req, Response& res) { return listInstances(c, req, res); }));
  r.add("PUT", "/v1/catalog/services/{name}",
        handle([&c](Request& req, Response& res) { return registerInstance(c, req, res); }));
  r.add("DELETE", "/v1/catalog/services/{name}/{id}",
        handle([&c](Request& req, Response& res) { return deregisterInstance(c, req, res); }));
}

}  // namespace berth::api
