// The native API's image handlers (native_api.md, "Images") over Engine::image*.
//
// Uploads (load, import, build) and the save download stream. A long operation answers
// with a proper status as long as it can: its reply starts only with its first progress
// line (build steps) or its first archive bytes (save), so an error found before — a
// corrupt archive, a context with "../" entries, a Dockerfile syntax error, an unknown
// image — is a 4xx/404 like any other. After that the status is 200 and an error is the
// stream's last line.

#include <map>
#include <string>

#include "api/native_routes.h"
#include "api/native_util.h"
#include "common/base64.h"
#include "common/strings.h"

namespace berth::api {

using engine::Engine;
using nlohmann::json;

json deletedImagesJson(const std::vector<engine::ImageDeleteItem>& items) {
  json out = json::array();
  for (const auto& i : items) {
    if (!i.untagged.empty()) out.push_back({{"untagged", i.untagged}});
    if (!i.deleted.empty()) out.push_back({{"deleted", i.deleted}});
  }
  return out;
}

namespace {

json toJson(const engine::ImageSummary& s) {
  return {{"id", s.id},
          {"parent", s.parent},
          {"repo_tags", s.repo_tags},
          {"repo_digests", s.repo_digests},
          {"created", s.created},
          {"size", s.size},
          {"labels", s.labels},
          {"containers", s.containers}};
}

engine::ByteReader bodyReader(Request& req) {
  return [&req](char* buf, size_t size) { return req.readSome(buf, size); };
}

// Query parameters `key=K=V` (repeated) as a map.
Result<std::map<std::string, std::string>> keyValues(const Request& req, const std::string& key) {
  std::map<std::string, std::string> out;
  auto range = req.query.equal_range(key);
  for (auto it = range.first; it != range.second; ++it) {
    auto eq = it->second.find('=');
    if (eq == std::string::npos || eq == 0)
      return invalidArgument("query " + quote(key + "=" + it->second) + ": use " + key +
                             "=KEY=VALUE");
    out[it->second.substr(0, eq)] = it->second.substr(eq + 1);
  }
  return out;
}

// The build's secrets: the X-Berth-Build-Secrets header, a JSON object of id → base64
// content (a header rather than the query, which logs and proxies may keep).
Result<std::map<std::string, std::string>> buildSecrets(const Request& req) {
  std::map<std::string, std::string> out;
  std::string text = req.header("x-berth-build-secrets");
  if (text.empty()) return out;
  json j = json::parse(text, nullptr, false);
  if (!j.is_object())
    return invalidArgument("header X-Berth-Build-Secrets: expected a JSON object of id → base64");
  for (const auto& [id, value] : j.items()) {
    auto content = value.is_string() ? base64Decode(value.get<std::string>())
                                     : Result<std::string>(invalidArgument("not a string"));
    if (!content)
      return invalidArgument("header X-Berth-Build-Secrets: secret " + quote(id) + ": " +
                             content.error().message());
    out[id] = std::move(*content);
  }
  return out;
}

std::vector<std::string> values(const Request& req, const std::string& key) {
  std::vector<std::string> out;
  auto range = req.query.equal_range(key);
  for (auto it = range.first; it != range.second; ++it) out.push_back(it->second);
  return out;
}

// A JSON-lines reply that starts with its first line; see the file comment.
class LineStream {
 public:
  explicit LineStream(Response& res) : res_(res) {}

  void progress(const std::string& line) { send({{"progress", line}}); }
  // The last line: `result` on success, the error otherwise.
  void finish(const Result<json>& result) {
    if (!begun_) {
      if (result) return res_.json(200, *result);
      return res_.error(result.error());
    }
    if (result)
      send(*result);
    else
      send({{"error",
             {{"message", result.error().message()},
              {"status", httpStatus(result.error().code())}}}});
    res_.end();
  }

 private:
  void send(const json& j) {
    if (gone_) return;
    if (!begun_) {
      begun_ = true;
      if (!res_.beginStream(200, "application/json")) {
        gone_ = true;
        return;
      }
    }
    if (!res_.write(j.dump() + "\n")) gone_ = true;
  }

  Response& res_;
  bool begun_ = false;
  bool gone_ = false;  // the client went away: the operation still ends cleanly
};

void addQueries(Router& r, Engine& e) {
  r.add("GET", "/v1/images", handle([&e](Request& req, Response& res) -> Status {
          auto list = BERTH_TRY(e.imageList(req.queryBool("all"), filters(req)));
          json out = json::array();
          for (const auto& s : list) out.push_back(toJson(s));
          res.json(200, out);
          return okStatus();
        }));
  r.add("GET", "/v1/images/{name*}/json", handle([&e](Request& req, Response& res) -> Status {
          auto d = BERTH_TRY(e.imageInspect(req.params.at("name")));
          json out = toJson(d.summary);
          out["manifest_digest"] = d.manifest_digest;
          out["config"] = d.config;
          out["diff_ids"] = d.diff_ids;
          out["architecture"] = d.architecture;
          out["os"] = d.os;
          out["author"] = d.author;
          out["created_at"] = d.created_rfc3339;
          res.json(200, out);
          return okStatus();
        }));
  r.add("GET", "/v1/images/{name*}/history", handle([&e](Request& req, Response& res) -> Status {
          auto entries = BERTH_TRY(e.imageHistory(req.params.at("name")));
          json out = json::array();
          for (const auto& h : entries)
            out.push_back({{"id", h.id},
                           {"created", h.created},
                           {"created_by", h.created_by},
                           {"size", h.size},
                           {"comment", h.comment},
                           {"tags", h.tags}});
          res.json(200, out);
          return okStatus();
        }));
}

void addChanges(Router& r, Engine& e) {
  r.add("POST", "/v1/images/prune", handle([&e](Request& req, Response& res) -> Status {
          auto report = BERTH_TRY(e.imagePrune(req.queryBool("all"), filters(req)));
          res.json(200, {{"deleted", deletedImagesJson(report.deleted)},
                         {"space_reclaimed", report.space_reclaimed}});
          return okStatus();
        }));
  r.add("POST", "/v1/build/prune", handle([&e](Request&, Response& res) -> Status {
          auto report = BERTH_TRY(e.buildPrune());
          res.json(200, {{"deleted", report.deleted}, {"space_reclaimed", report.space_reclaimed}});
          return okStatus();
        }));
  r.add("POST", "/v1/images/{name*}/tag", handle([&e](Request& req, Response& res) -> Status {
          std::string repo = req.queryValue("repo");
          if (repo.empty()) return invalidArgument("tag: query 'repo' is required");
          BERTH_RETURN_IF_ERROR(e.imageTag(req.params.at("name"), repo, req.queryValue("tag")));
          res.send(201, "text/plain", "");
          return okStatus();
        }));
  r.add("DELETE", "/v1/images/{name*}", handle([&e](Request& req, Response& res) -> Status {
          auto items = BERTH_TRY(e.imageRemove(req.params.at("name"), req.queryBool("force"),
                                               req.queryBool("noprune")));
          res.json(200, deletedImagesJson(items));
          return okStatus();
        }));
}

void addTransfers(Router& r, Engine& e) {
  r.add("POST", "/v1/images/load", [&e](Request& req, Response& res) {
    LineStream out(res);
    auto lines = e.imageLoad(bodyReader(req), [&](const std::string& l) { out.progress(l); });
    if (!lines) return out.finish(lines.error());
    out.finish(json{{"loaded", *lines}});
  });
  r.add("GET", "/v1/images/get", [&e](Request& req, Response& res) {
    std::string format = req.queryValue("format", "docker");
    if (format != "docker" && format != "oci")
      return res.error(invalidArgument("save: format " + quote(format) + ": use docker or oci"));
    bool begun = false;
    Status s = e.imageSave(
        values(req, "name"),
        format == "oci" ? engine::ImageArchiveFormat::kOci : engine::ImageArchiveFormat::kDocker,
        [&](std::string_view data) -> Status {
          if (!begun) {
            begun = true;
            BERTH_RETURN_IF_ERROR(res.beginStream(200, "application/x-tar"));
          }
          return res.write(data);
        });
    // Once bytes went out, an error can only cut the archive short: the client's tar
    // reader notices the missing end.
    if (!s && !begun) return res.error(s.error());
    if (begun) res.end();
  });
  r.add("POST", "/v1/images/import", [&e](Request& req, Response& res) {
    LineStream out(res);
    engine::ImageImportOptions o;
    o.name = req.queryValue("name");
    o.changes = values(req, "change");
    o.message = req.queryValue("message");
    auto id = e.imageImport(bodyReader(req), o, [&](const std::string& l) { out.progress(l); });
    if (!id) return out.finish(id.error());
    out.finish(json{{"id", *id}});
  });
  r.add("POST", "/v1/images/build", [&e](Request& req, Response& res) {
    LineStream out(res);
    engine::ImageBuildOptions o;
    o.dockerfile = req.queryValue("dockerfile", "Dockerfile");
    o.tags = values(req, "t");
    o.target = req.queryValue("target");
    o.no_cache = req.queryBool("no_cache");
    auto args = keyValues(req, "build_arg");
    if (!args) return res.error(args.error());
    o.build_args = *args;
    auto labels = keyValues(req, "label");
    if (!labels) return res.error(labels.error());
    o.labels = *labels;
    auto secrets = buildSecrets(req);
    if (!secrets) return res.error(secrets.error());
    o.secrets = *secrets;
    auto id = e.imageBuild(bodyReader(req), o, [&](const std::string& l) { out.progress(l); });
    if (!id) return out.finish(id.error());
    out.finish(json{{"id", *id}});
  });
}

}  // namespace

void addImages(Router& router, Engine& engine) {
  addTransfers(router, engine);  // first: /v1/images/get and /load before {name*} patterns
  addQueries(router, engine);
  addChanges(router, engine);
}

}  // namespace berth::api
