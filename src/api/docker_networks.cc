// The Docker API's networks and volumes.

#include "api/docker_util.h"
#include "common/strings.h"

namespace berth::api::docker {

using engine::Engine;
using engine::Network;
using nlohmann::json;

namespace {

json networkJson(Engine& e, const Network& n) {
  json containers = json::object();
  for (const auto& [id, a] : e.networks().attached(n.id)) {
    const auto& ep = a.second;
    containers[id] = {{"Name", a.first},
                      {"EndpointID", ep.host_if},
                      {"MacAddress", ep.mac},
                      {"IPv4Address", ep.ip + "/" + std::to_string(ep.prefix_len)},
                      {"IPv6Address", ""}};
  }
  json ipam_config = json::array();
  if (!n.subnet.empty()) {
    json c = {{"Subnet", n.subnet}};
    if (!n.gateway.empty()) c["Gateway"] = n.gateway;
    if (!n.ip_range.empty()) c["IPRange"] = n.ip_range;
    ipam_config.push_back(c);
  }
  std::string driver = n.driver == "none" ? "null" : n.driver;
  json options = n.options;
  return {{"Name", n.name},
          {"Id", n.id},
          {"Created", timeText(n.created_ns)},
          {"Scope", "local"},
          {"Driver", driver},
          {"EnableIPv6", false},
          {"IPAM", {{"Driver", "default"}, {"Options", nullptr}, {"Config", ipam_config}}},
          {"Internal", n.internal},
          {"Attachable", false},
          {"Ingress", false},
          {"ConfigFrom", {{"Network", ""}}},
          {"ConfigOnly", false},
          {"Containers", containers},
          {"Options", options},
          {"Labels", n.labels}};
}

bool matchesNetwork(const Network& n, const std::string& key, const std::string& v) {
  if (key == "name") return n.name.find(v) != std::string::npos;
  if (key == "driver") return n.driver == v || (v == "null" && n.driver == "none");
  if (key == "id") return n.id.starts_with(v);
  if (key == "label") return labelsMatch(n.labels, v);
  if (key == "type") return (v == "builtin") == n.builtin();
  if (key == "scope") return v == "local";
  return false;
}

void addNetworkRoutes(Router& r, Engine& e) {
  r.add("GET", "/networks", handle([&e](Request& req, Response& res) -> Status {
          auto f = BERTH_TRY(dockerFilters(req));
          BERTH_RETURN_IF_ERROR(
              onlyFilters(f, {"name", "driver", "id", "label", "type", "scope", "dangling"}));
          json out = json::array();
          for (const auto& n : e.networks().list()) {
            bool ok = true;
            // Values of one key OR, keys AND.
            for (auto it = f.begin(); it != f.end();) {
              auto range = f.equal_range(it->first);
              bool any = false;
              for (auto x = range.first; x != range.second; ++x) {
                if (x->first == "dangling")
                  any |= (x->second == "true" || x->second == "1") ==
                         (!n.builtin() && e.networks().attached(n.id).empty());
                else
                  any |= matchesNetwork(n, x->first, x->second);
              }
              ok &= any;
              it = range.second;
            }
            if (ok) out.push_back(networkJson(e, n));
          }
          res.json(200, out);
          return okStatus();
        }));
  r.add("GET", "/networks/{id}", handle([&e](Request& req, Response& res) -> Status {
          res.json(200, networkJson(e, BERTH_TRY(e.networks().find(req.params["id"]))));
          return okStatus();
        }));
  r.add("POST", "/networks/create", handle([&e](Request& req, Response& res) -> Status {
          json body = BERTH_TRY(objectBody(req));
          engine::NetworkCreate c;
          try {
            c.name = body.value("Name", "");
            c.driver = body.value("Driver", "");
            if (c.driver.empty()) c.driver = "bridge";
            c.internal = body.value("Internal", false);
            if (body.contains("Options") && !body["Options"].is_null())
              c.options = body["Options"].get<std::map<std::string, std::string>>();
            if (body.contains("Labels") && !body["Labels"].is_null())
              c.labels = body["Labels"].get<std::map<std::string, std::string>>();
            if (body.value("EnableIPv6", false))
              return invalidArgument(
                  "network create: IPv6 (EnableIPv6) is not supported by berth yet");
            for (const char* key : {"Ingress", "ConfigOnly"}) {
              if (body.value(key, false))
                return invalidArgument(std::string("network create: field ") + quote(key) +
                                       " is not supported by berth");
            }
            if (body.contains("IPAM") && body["IPAM"].is_object()) {
              const json& ipam = body["IPAM"];
              std::string driver = ipam.value("Driver", "");
              if (!driver.empty() && driver != "default")
                return invalidArgument("network create: IPAM driver " + quote(driver) +
                                       " is not supported (berth has the default one)");
              if (ipam.contains("Config") && ipam["Config"].is_array()) {
                if (ipam["Config"].size() > 1)
                  return invalidArgument("network create: berth takes one subnet per network");
                for (const auto& cfg : ipam["Config"]) {
                  c.subnet = cfg.value("Subnet", "");
                  c.gateway = cfg.value("Gateway", "");
                  c.ip_range = cfg.value("IPRange", "");
                }
              }
            }
          } catch (const json::exception& ex) {
            return invalidArgument(std::string("network create: a field has the wrong type: ") +
                                   ex.what());
          }
          auto n = e.networkCreate(c);
          if (!n && n.error().code() == ErrorCode::kAlreadyExists)
            return conflict("network with name " + c.name + " already exists");
          if (!n) return n.error();
          res.json(201, {{"Id", n->id}, {"Warning", ""}});
          return okStatus();
        }));
  r.add("DELETE", "/networks/{id}", handle([&e](Request& req, Response& res) -> Status {
          BERTH_RETURN_IF_ERROR(e.networkRemove(req.params["id"]));
          res.send(204, "text/plain", "");
          return okStatus();
        }));
  r.add("POST", "/networks/prune", handle([&e](Request& req, Response& res) -> Status {
          auto f = BERTH_TRY(dockerFilters(req));
          BERTH_RETURN_IF_ERROR(onlyFilters(f, {}));
          res.json(200, {{"NetworksDeleted", BERTH_TRY(e.networkPrune())}});
          return okStatus();
        }));
  r.add(
      "POST", "/networks/{id}/connect", handle([&e](Request& req, Response& res) -> Status {
        json body = BERTH_TRY(objectBody(req));
        std::string container = body.value("Container", "");
        if (container.empty()) return invalidArgument("connect: field 'Container' is required");
        engine::EndpointConfig cfg;
        try {
          const json& ep = body.value("EndpointConfig", json::object());
          if (ep.is_object()) {
            if (ep.contains("Aliases") && !ep["Aliases"].is_null())
              cfg.aliases = ep["Aliases"].get<std::vector<std::string>>();
            cfg.mac = ep.value("MacAddress", "");
            if (ep.contains("IPAMConfig") && ep["IPAMConfig"].is_object())
              cfg.ip = ep["IPAMConfig"].value("IPv4Address", "");
          }
        } catch (const json::exception& ex) {
          return invalidArgument(std::string("connect: a field has the wrong type: ") + ex.what());
        }
        BERTH_RETURN_IF_ERROR(e.networkConnect(req.params["id"], container, cfg));
        res.send(200, "text/plain", "");
        return okStatus();
      }));
  r.add("POST", "/networks/{id}/disconnect", handle([&e](Request& req, Response& res) -> Status {
          json body = BERTH_TRY(objectBody(req));
          std::string container = body.value("Container", "");
          if (container.empty())
            return invalidArgument("disconnect: field 'Container' is required");
          BERTH_RETURN_IF_ERROR(
              e.networkDisconnect(req.params["id"], container, body.value("Force", false)));
          res.send(200, "text/plain", "");
          return okStatus();
        }));
}

json volumeJson(const engine::Volume& v) {
  return {{"Name", v.name},
          {"Driver", "local"},
          {"Mountpoint", v.mountpoint},
          {"CreatedAt", timeText(v.created_ns)},
          {"Labels", v.labels},
          {"Scope", "local"},
          {"Options", v.options.empty() ? json(nullptr) : json(v.options)}};
}

void addVolumeRoutes(Router& r, Engine& e) {
  r.add("GET", "/volumes", handle([&e](Request& req, Response& res) -> Status {
          auto f = BERTH_TRY(dockerFilters(req));
          BERTH_RETURN_IF_ERROR(onlyFilters(f, {"dangling", "name", "label", "driver"}));
          json out = json::array();
          for (const auto& v : BERTH_TRY(e.volumeList())) {
            bool ok = true;
            for (const auto& [k, val] : f) ok &= volumeMatches(e, v, k, val);
            if (ok) out.push_back(volumeJson(v));
          }
          res.json(200, {{"Volumes", out}, {"Warnings", nullptr}});
          return okStatus();
        }));
  r.add("POST", "/volumes/create", handle([&e](Request& req, Response& res) -> Status {
          json body = BERTH_TRY(objectBody(req));
          std::map<std::string, std::string> labels, options;
          std::string name, driver;
          try {
            name = body.value("Name", "");
            driver = body.value("Driver", "");
            if (body.contains("Labels") && !body["Labels"].is_null())
              labels = body["Labels"].get<std::map<std::string, std::string>>();
            if (body.contains("DriverOpts") && !body["DriverOpts"].is_null())
              options = body["DriverOpts"].get<std::map<std::string, std::string>>();
          } catch (const json::exception& ex) {
            return invalidArgument(std::string("volume create: a field has the wrong type: ") +
                                   ex.what());
          }
          if (!driver.empty() && driver != "local")
            return invalidArgument("volume create: driver " + quote(driver) +
                                   " is not supported (berth has local volumes)");
          auto v = BERTH_TRY(e.volumeCreate(name, labels, options));
          res.json(201, volumeJson(v));
          return okStatus();
        }));
  r.add("POST", "/volumes/prune", handle([&e](Request& req, Response& res) -> Status {
          auto f = BERTH_TRY(dockerFilters(req));
          BERTH_RETURN_IF_ERROR(onlyFilters(f, {}));
          auto names = BERTH_TRY(e.volumePrune());
          res.json(200, {{"VolumesDeleted", names}, {"SpaceReclaimed", 0}});
          return okStatus();
        }));
  r.add("GET", "/volumes/{name}", handle([&e](Request& req, Response& res) -> Status {
          res.json(200, volumeJson(BERTH_TRY(e.volumeInspect(req.params["name"]))));
          return okStatus();
        }));
  r.add("DELETE", "/volumes/{name}", handle([&e](Request& req, Response& res) -> Status {
          BERTH_RETURN_IF_ERROR(e.volumeRemove(req.params["name"], req.queryBool("force")));
          res.send(204, "text/plain", "");
          return okStatus();
        }));
}

}  // namespace

void addNetworks(Router& r, Engine& e) { addNetworkRoutes(r, e); }
void addVolumes(Router& r, Engine& e) { addVolumeRoutes(r, e); }

}  // namespace berth::api::docker
