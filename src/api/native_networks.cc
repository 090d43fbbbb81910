// The native API's networks (native_api.md, "Networks").

#include "api/native_util.h"
#include "common/strings.h"

namespace berth::api {

using engine::Engine;
using engine::Network;
using nlohmann::json;

namespace {

json networkJson(Engine& e, const Network& n) {
  json j = engine::toJson(n);
  j.erase("version");
  j["dns"] = n.driver == "bridge" && n.name != "bridge" ? e.networks().dnsAddress(n) : "";
  json containers = json::object();
  for (const auto& [id, a] : e.networks().attached(n.id)) {
    const auto& ep = a.second;
    containers[id] = {{"name", a.first},
                      {"ip", ep.ip},
                      {"prefix_len", ep.prefix_len},
                      {"mac", ep.mac},
                      {"aliases", ep.aliases}};
  }
  j["containers"] = containers;
  return j;
}

template <typename T>
Status field(const json& body, const char* key, T& out) {
  if (!body.contains(key) || body[key].is_null()) return okStatus();
  try {
    out = body[key].get<T>();
  } catch (const json::exception&) {
    return invalidArgument(std::string("field ") + quote(key) + ": wrong type");
  }
  return okStatus();
}

}  // namespace

void addNetworks(Router& r, Engine& e) {
  r.add("POST", "/v1/networks", handle([&e](Request& req, Response& res) -> Status {
          json body = BERTH_TRY(req.readJson());
          if (!body.is_object()) return invalidArgument("the body must be a JSON object");
          engine::NetworkCreate c;
          BERTH_RETURN_IF_ERROR(field(body, "name", c.name));
          BERTH_RETURN_IF_ERROR(field(body, "driver", c.driver));
          BERTH_RETURN_IF_ERROR(field(body, "subnet", c.subnet));
          BERTH_RETURN_IF_ERROR(field(body, "gateway", c.gateway));
          BERTH_RETURN_IF_ERROR(field(body, "ip_range", c.ip_range));
          BERTH_RETURN_IF_ERROR(field(body, "internal", c.internal));
          BERTH_RETURN_IF_ERROR(field(body, "options", c.options));
          BERTH_RETURN_IF_ERROR(field(body, "labels", c.labels));
          auto n = BERTH_TRY(e.networkCreate(c));
          res.json(201, {{"id", n.id}});
          return okStatus();
        }));
  r.add("GET", "/v1/networks", handle([&e](Request& req, Response& res) -> Status {
          auto f = filters(req);
          json out = json::array();
          for (const auto& n : e.networks().list()) {
            bool ok = true;
            for (const auto& [k, v] : f) {
              if (k == "name")
                ok &= n.name.find(v) != std::string::npos;
              else if (k == "driver")
                ok &= n.driver == v;
              else if (k == "id")
                ok &= n.id.rfind(v, 0) == 0;
              else if (k == "label")
                ok &= labelsMatch(n.labels, v);
              else if (k == "type")
                ok &= (v == "builtin") == n.builtin();
              else
                return invalidArgument("invalid filter " + quote(k) +
                                       " (use name, driver, id, label or type)");
            }
            if (ok) out.push_back(networkJson(e, n));
          }
          res.json(200, out);
          return okStatus();
        }));
  r.add("POST", "/v1/networks/prune", handle([&e](Request&, Response& res) -> Status {
          res.json(200, {{"deleted", BERTH_TRY(e.networkPrune())}});
          return okStatus();
        }));
  r.add("GET", "/v1/networks/{id}", handle([&e](Request& req, Response& res) -> Status {
          res.json(200, networkJson(e, BERTH_TRY(e.networks().find(req.params["id"]))));
          return okStatus();
        }));
  r.add("DELETE", "/v1/networks/{id}", handle([&e](Request& req, Response& res) -> Status {
          BERTH_RETURN_IF_ERROR(e.networkRemove(req.params["id"]));
          res.send(204, "text/plain", "");
          return okStatus();
        }));
  r.add("POST", "/v1/networks/{id}/connect", handle([&e](Request& req, Response& res) -> Status {
          json body = BERTH_TRY(req.readJson());
          if (!body.is_object()) return invalidArgument("the body must be a JSON object");
          std::string container;
          engine::EndpointConfig cfg;
          BERTH_RETURN_IF_ERROR(field(body, "container", container));
          BERTH_RETURN_IF_ERROR(field(body, "aliases", cfg.aliases));
          BERTH_RETURN_IF_ERROR(field(body, "ip", cfg.ip));
          BERTH_RETURN_IF_ERROR(field(body, "mac", cfg.mac));
          if (container.empty()) return invalidArgument("field 'container': required");
          BERTH_RETURN_IF_ERROR(e.networkConnect(req.params["id"], container, cfg));
          res.send(200, "text/plain", "");
          return okStatus();
        }));
  r.add("POST", "/v1/networks/{id}/disconnect", handle([&e](Request& req, Response& res) -> Status {
          json body = BERTH_TRY(req.readJson());
          if (!body.is_object()) return invalidArgument("the body must be a JSON object");
          std::string container;
          bool force = false;
          BERTH_RETURN_IF_ERROR(field(body, "container", container));
          BERTH_RETURN_IF_ERROR(field(body, "force", force));
          if (container.empty()) return invalidArgument("field 'container': required");
          BERTH_RETURN_IF_ERROR(e.networkDisconnect(req.params["id"], container, force));
          res.send(200, "text/plain", "");
          return okStatus();
        }));
}

}  // namespace berth::api
