// What the Docker API's handlers share and what runs before them: the version prefix,
// filters, times, object bodies. Nothing here touches the engine, so the fuzzers in fuzz/
// build it alone.

#include "api/docker_util.h"
#include "api/docker_routes.h"
#include "common/log.h"
#include "common/strings.h"

namespace berth::api {

using nlohmann::json;

namespace docker {

Result<std::multimap<std::string, std::string>> dockerFilters(const Request& req) {
  std::multimap<std::string, std::string> out;
  std::string text = req.queryValue("filters");
  if (text.empty()) return out;
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return invalidArgument("query 'filters': " + quote(text) +
                           " is not a JSON object such as {\"label\":[\"k=v\"]}");
  for (const auto& [key, values] : j.items()) {
    if (values.is_array()) {  // docker-py and compose: {"label": ["k=v"]}
      for (const auto& v : values) {
        if (!v.is_string())
          return invalidArgument("query 'filters': values of " + quote(key) + " must be strings");
        out.emplace(key, v.get<std::string>());
      }
    } else if (values.is_object()) {  // the CLI: {"label": {"k=v": true}}
      for (const auto& [v, on] : values.items()) {
        if (!on.is_boolean())
          return invalidArgument("query 'filters': " + quote(key) + " must map values to true");
        if (on.get<bool>()) out.emplace(key, v);
      }
    } else {
      return invalidArgument("query 'filters': " + quote(key) +
                             " must be a list of values or a map of values to true");
    }
  }
  return out;
}

Status onlyFilters(const std::multimap<std::string, std::string>& f,
                   std::initializer_list<const char*> allowed) {
  for (const auto& [k, v] : f) {
    bool ok = false;
    for (const char* a : allowed) ok |= k == a;
    if (!ok) {
      std::vector<std::string> names(allowed.begin(), allowed.end());
      return invalidArgument("invalid filter " + quote(k) + " (this endpoint takes " +
                             join(names, ", ") + ")");
    }
  }
  return okStatus();
}

std::string timeText(int64_t ns) {
  return ns > 0 ? log::rfc3339(ns) : std::string("0001-01-01T00:00:00Z");
}

Result<json> objectBody(Request& req) {
  json body = BERTH_TRY(req.readJson());
  if (body.is_null()) body = json::object();
  if (!body.is_object()) return invalidArgument("the request body must be a JSON object");
  return body;
}

}  // namespace docker

bool dockerPrepare(Request& req, Response& res) {
  res.setHeader("Api-Version", docker::kApiVersion);
  res.setHeader("Ostype", "linux");
  res.setHeader("Server", std::string("berth/") + BERTH_VERSION + " (linux)");
  // /v1.41/… → /…; /v1/… is the native API.
  const std::string& p = req.path;
  if (p.size() > 3 && p.starts_with("/v1.")) {
    size_t end = p.find('/', 1);
    std::string version = p.substr(2, end == std::string::npos ? std::string::npos : end - 2);
    auto dot = version.find('.');
    auto major = parseInt(version.substr(0, dot));
    auto minor = parseInt(version.substr(dot + 1));
    if (!major || !minor) {
      res.error(notFound("page not found: " + quote(p)));
      return false;
    }
    if (*minor > 41) {
      res.error(invalidArgument("client version " + version +
                                " is too new. Maximum supported API version is " +
                                docker::kApiVersion));
      return false;
    }
    if (*minor < 12) {
      res.error(invalidArgument(
          "client version " + version + " is too old. Minimum supported API version is " +
          docker::kMinApiVersion + ", please upgrade your client to a newer version"));
      return false;
    }
    req.path = end == std::string::npos ? "/" : p.substr(end);
  }
  return true;
}

}  // namespace berth::api
