// The Docker API's images: list, inspect, history, tag, rmi, prune, load, save (get),
// import (create?fromSrc), pull of what is here already (create?fromImage), and the
// classic builder's /build with its JSON progress stream.

#include <cstring>
#include <memory>

#include "api/docker_util.h"
#include "common/strings.h"

namespace berth::api::docker {

using engine::Engine;
using nlohmann::json;

namespace {

json tagsOrNone(const std::vector<std::string>& tags, const char* none) {
  return tags.empty() ? json::array({none}) : json(tags);
}

json summaryJson(const engine::ImageSummary& s) {
  return {{"Id", s.id},
          {"ParentId", s.parent},
          {"RepoTags", tagsOrNone(s.repo_tags, "<none>:<none>")},
          {"RepoDigests", tagsOrNone(s.repo_digests, "<none>@<none>")},
          {"Created", s.created},
          {"Size", s.size},
          {"VirtualSize", s.size},
          {"SharedSize", -1},
          {"Labels", s.labels.empty() ? json(nullptr) : json(s.labels)},
          {"Containers", s.containers}};
}

json inspectJson(const engine::ImageDetail& d) {
  const json& c = d.config;
  json config = c.contains("config") && c["config"].is_object() ? c["config"] : json::object();
  return {{"Id", d.summary.id},
          {"RepoTags", d.summary.repo_tags},
          {"RepoDigests", d.summary.repo_digests},
          {"Parent", d.summary.parent},
          {"Comment", ""},
          {"Created", d.created_rfc3339.empty() ? timeText(d.summary.created * 1000000000)
                                                : d.created_rfc3339},
          {"Container", ""},
          {"ContainerConfig", json::object()},
          {"DockerVersion", ""},
          {"Author", d.author},
          {"Config", config},
          {"Architecture", d.architecture},
          {"Os", d.os},
          {"Size", d.summary.size},
          {"VirtualSize", d.summary.size},
          {"GraphDriver", {{"Name", "overlay2"}, {"Data", nullptr}}},
          {"RootFS", {{"Type", "layers"}, {"Layers", d.diff_ids}}},
          {"Metadata", {{"LastTagTime", timeText(0)}}}};
}

json deleteItemsJson(const std::vector<engine::ImageDeleteItem>& items) {
  json out = json::array();
  for (const auto& i : items)
    out.push_back(i.untagged.empty() ? json{{"Deleted", i.deleted}}
                                     : json{{"Untagged", i.untagged}});
  return out;
}

engine::ByteReader bodyReader(Request& req) {
  return [&req](char* buf, size_t n) { return req.readSome(buf, n); };
}

// The build context as the docker CLI sends it. With a Dockerfile from outside the context
// the CLI appends it and a .dockerignore to the tar without the last entry's padding and
// the end-of-archive blocks (dockerd's reader does not mind): an uncompressed stream gets
// them added at its end. Zeros after a complete archive change nothing.
engine::ByteReader contextReader(Request& req) {
  struct State {
    uint64_t total = 0;
    bool compressed = false;
    uint64_t padding = 0;  // zeros still to give once the body has ended
    bool ended = false;
  };
  auto st = std::make_shared<State>();
  return [&req, st](char* buf, size_t n) -> Result<size_t> {
    if (!st->ended) {
      size_t got = BERTH_TRY(req.readSome(buf, n));
      if (got > 0) {
        if (st->total == 0 && got >= 2)
          st->compressed = static_cast<unsigned char>(buf[0]) == 0x1f ||                 // gzip
                           static_cast<unsigned char>(buf[0]) == 0x28 ||                 // zstd
                           buf[0] == 'B' || static_cast<unsigned char>(buf[0]) == 0xfd;  // bz2, xz
        st->total += got;
        return got;
      }
      st->ended = true;
      if (!st->compressed && st->total > 0) st->padding = (512 - st->total % 512) % 512 + 1024;
    }
    size_t give = std::min<uint64_t>(n, st->padding);
    std::memset(buf, 0, give);
    st->padding -= give;
    return give;
  };
}

// A JSON message stream (load, import, build): each line one object, errors as docker's
// {"errorDetail":{"message"},"error"} once the 200 has gone out.
class MessageStream {
 public:
  explicit MessageStream(Response& res) : res_(res) {}
  Status begin() { return res_.beginStream(200, "application/json"); }
  void send(const json& message) {
    if (ok_) ok_ = res_.write(message.dump() + "\r\n").ok();
  }
  void line(const std::string& text) { send({{"stream", text + "\n"}}); }
  void error(const Error& e) {
    send({{"errorDetail", {{"message", e.message()}}}, {"error", e.message()}});
  }

 private:
  Response& res_;
  bool ok_ = true;
};

// "name:tag" from the repo and tag query parameters (docker import sends the tag in repo).
std::string reference(const std::string& repo, const std::string& tag) {
  if (repo.empty() || tag.empty()) return repo;
  return repo + ":" + tag;
}

Result<std::map<std::string, std::string>> jsonMapArg(const Request& req, const std::string& key) {
  std::map<std::string, std::string> out;
  std::string text = req.queryValue(key);
  if (text.empty()) return out;
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return invalidArgument("query " + quote(key) + ": expected a JSON object, got " + quote(text));
  for (const auto& [k, v] : j.items()) {
    if (v.is_string())
      out[k] = v.get<std::string>();
    else if (!v.is_null())
      return invalidArgument("query " + quote(key) + ": " + quote(k) + " must be a string");
  }
  return out;
}

Result<engine::ImageBuildOptions> buildOptions(const Request& req) {
  if (req.queryValue("version") == "2")
    return invalidArgument(
        "BuildKit (version=2) is not supported by berth; use the classic "
        "builder (DOCKER_BUILDKIT=0)");
  for (const char* key : {"remote", "platform", "extrahosts", "cpusetcpus", "cpusetmems",
                          "cgroupparent", "isolation", "outputs"}) {
    if (!req.queryValue(key).empty())
      return invalidArgument(std::string("build: option ") + quote(key) +
                             " is not supported by berth");
  }
  if (req.queryBool("squash")) return invalidArgument("build: squash is not supported by berth");
  std::string network = req.queryValue("networkmode");
  if (!network.empty() && network != "default")
    return invalidArgument("build: networkmode " + quote(network) +
                           " is not supported (RUN steps have no network in berth)");
  engine::ImageBuildOptions o;
  std::string dockerfile = req.queryValue("dockerfile");
  if (!dockerfile.empty()) o.dockerfile = dockerfile;
  auto range = req.query.equal_range("t");
  for (auto it = range.first; it != range.second; ++it) {
    if (!it->second.empty()) o.tags.push_back(it->second);
  }
  o.build_args = BERTH_TRY(jsonMapArg(req, "buildargs"));
  o.labels = BERTH_TRY(jsonMapArg(req, "labels"));
  o.target = req.queryValue("target");
  o.no_cache = req.queryBool("nocache");
  return o;
}

void addQueries(Router& r, Engine& e) {
  r.add("GET", "/images/json", handle([&e](Request& req, Response& res) -> Status {
          auto f = BERTH_TRY(dockerFilters(req));
          BERTH_RETURN_IF_ERROR(
              onlyFilters(f, {"dangling", "label", "reference", "before", "since"}));
          std::string ref = req.queryValue("filter");  // API < 1.25: ?filter=NAME
          if (!ref.empty()) f.emplace("reference", ref);
          json out = json::array();
          for (const auto& s : BERTH_TRY(e.imageList(req.queryBool("all"), f)))
            out.push_back(summaryJson(s));
          res.json(200, out);
          return okStatus();
        }));
  r.add("GET", "/images/{name*}/json", handle([&e](Request& req, Response& res) -> Status {
          auto d = e.imageInspect(req.params["name"]);
          if (!d && d.error().code() == ErrorCode::kNotFound)
            return notFound("No such image: " + req.params["name"]);
          if (!d) return d.error();
          res.json(200, inspectJson(*d));
          return okStatus();
        }));
  r.add("GET", "/images/{name*}/history", handle([&e](Request& req, Response& res) -> Status {
          json out = json::array();
          for (const auto& h : BERTH_TRY(e.imageHistory(req.params["name"])))
            out.push_back({{"Id", h.id},
                           {"Created", h.created},
                           {"CreatedBy", h.created_by},
                           {"Tags", h.tags.empty() ? json(nullptr) : json(h.tags)},
                           {"Size", h.size},
                           {"Comment", h.comment}});
          res.json(200, out);
          return okStatus();
        }));
}

void addChanges(Router& r, Engine& e) {
  r.add("POST", "/images/{name*}/tag", handle([&e](Request& req, Response& res) -> Status {
          std::string repo = req.queryValue("repo");
          if (repo.empty()) return invalidArgument("tag: query 'repo' is required");
          BERTH_RETURN_IF_ERROR(e.imageTag(req.params["name"], repo, req.queryValue("tag")));
          res.send(201, "text/plain", "");
          return okStatus();
        }));
  r.add("DELETE", "/images/{name*}", handle([&e](Request& req, Response& res) -> Status {
          auto items = BERTH_TRY(
              e.imageRemove(req.params["name"], req.queryBool("force"), req.queryBool("noprune")));
          res.json(200, deleteItemsJson(items));
          return okStatus();
        }));
  r.add("POST", "/images/prune", handle([&e](Request& req, Response& res) -> Status {
          auto f = BERTH_TRY(dockerFilters(req));
          BERTH_RETURN_IF_ERROR(onlyFilters(f, {"dangling", "label", "label!", "until"}));
          // docker prune -a sends dangling=false: every unused image, not only untagged ones.
          bool all = false;
          for (auto it = f.begin(); it != f.end();) {
            if (it->first == "dangling") {
              all = it->second == "false" || it->second == "0";
              it = f.erase(it);
            } else {
              ++it;
            }
          }
          auto report = BERTH_TRY(e.imagePrune(all, f));
          res.json(200, {{"ImagesDeleted",
                          report.deleted.empty() ? json(nullptr) : deleteItemsJson(report.deleted)},
                         {"SpaceReclaimed", report.space_reclaimed}});
          return okStatus();
        }));
  // The classic builder's cache (`docker builder prune`, and the last step of `docker
  // system prune`): no record of it is in use once running builds end, so `all` changes
  // nothing; keeping some of it (keep-storage) or choosing by filter is not offered.
  r.add("POST", "/build/prune", handle([&e](Request& req, Response& res) -> Status {
          auto f = BERTH_TRY(dockerFilters(req));
          BERTH_RETURN_IF_ERROR(onlyFilters(f, {}));
          if (auto keep = BERTH_TRY(intArg(req, "keep-storage")); keep && *keep > 0)
            return invalidArgument(
                "build prune: keep-storage is not supported: berth empties "
                "the whole build cache");
          auto report = BERTH_TRY(e.buildPrune());
          res.json(200, {{"CachesDeleted",
                          report.deleted.empty() ? json(nullptr) : json(report.deleted)},
                         {"SpaceReclaimed", report.space_reclaimed}});
          return okStatus();
        }));
}

void addTransfers(Router& r, Engine& e) {
  r.add("POST", "/images/load", handle([&e](Request& req, Response& res) -> Status {
          MessageStream out(res);
          // Errors before any byte of the archive is taken apart are plain 4xx answers.
          BERTH_RETURN_IF_ERROR(out.begin());
          auto loaded = e.imageLoad(bodyReader(req), [&out](const std::string& l) { out.line(l); });
          if (!loaded) {
            out.error(loaded.error());
          } else {
            for (const auto& l : *loaded) out.line(l);
          }
          res.end();
          return okStatus();
        }));
  auto save = [&e](Response& res, std::vector<std::string> names) -> Status {
    if (names.empty()) return invalidArgument("save: name at least one image (?names=NAME)");
    // Unknown names are 404 before the archive starts.
    for (const auto& n : names) BERTH_TRY(e.imageInspect(n));
    BERTH_RETURN_IF_ERROR(res.beginStream(200, "application/x-tar"));
    (void)e.imageSave(names, engine::ImageArchiveFormat::kDocker,
                      [&res](std::string_view data) { return res.write(data); });
    res.end();
    return okStatus();
  };
  r.add("GET", "/images/get", handle([save](Request& req, Response& res) -> Status {
          std::vector<std::string> names;
          auto range = req.query.equal_range("names");
          for (auto it = range.first; it != range.second; ++it) names.push_back(it->second);
          return save(res, names);
        }));
  r.add("GET", "/images/{name*}/get", handle([save](Request& req, Response& res) -> Status {
          return save(res, {req.params["name"]});
        }));
  r.add("POST", "/images/create", handle([&e](Request& req, Response& res) -> Status {
          std::string from_image = req.queryValue("fromImage");
          std::string from_src = req.queryValue("fromSrc");
          if (!from_image.empty()) {
            // No registry is reachable from berth: a pull succeeds for what is here already.
            std::string tag = req.queryValue("tag");
            std::string ref =
                from_image +
                (tag.empty() || from_image.find('@') != std::string::npos ? "" : ":" + tag);
            if (!e.imageInspect(ref))
              return notFound("pull access denied for " + from_image +
                              ": berth pulls from no registry; load the image (docker load) or "
                              "build it (docker build)");
            MessageStream out(res);
            BERTH_RETURN_IF_ERROR(out.begin());
            out.send({{"status", "Status: Image is up to date for " + ref}});
            res.end();
            return okStatus();
          }
          if (from_src.empty())
            return invalidArgument("images/create: give fromImage (pull) or fromSrc (import)");
          if (from_src != "-")
            return invalidArgument("import: fromSrc " + quote(from_src) +
                                   " is not supported; send the tarball in the body (fromSrc=-)");
          engine::ImageImportOptions o;
          o.name = reference(req.queryValue("repo"), req.queryValue("tag"));
          o.message = req.queryValue("message");
          auto range = req.query.equal_range("changes");
          for (auto it = range.first; it != range.second; ++it) o.changes.push_back(it->second);
          MessageStream out(res);
          BERTH_RETURN_IF_ERROR(out.begin());
          auto id =
              e.imageImport(bodyReader(req), o, [&out](const std::string& l) { out.line(l); });
          if (!id)
            out.error(id.error());
          else
            out.send({{"status", *id}});
          res.end();
          return okStatus();
        }));
  r.add("POST", "/build", handle([&e](Request& req, Response& res) -> Status {
          auto opts = BERTH_TRY(buildOptions(req));
          MessageStream out(res);
          BERTH_RETURN_IF_ERROR(out.begin());
          auto id =
              e.imageBuild(contextReader(req), opts, [&out](const std::string& l) { out.line(l); });
          if (!id) {
            out.error(id.error());
          } else {
            out.send({{"aux", {{"ID", *id}}}});
            std::string short_id = id->substr(id->find(':') + 1, 12);
            out.line("Successfully built " + short_id);
            for (const auto& t : opts.tags)
              out.line("Successfully tagged " +
                       (t.find(':') == std::string::npos ? t + ":latest" : t));
          }
          res.end();
          return okStatus();
        }));
}

}  // namespace

void addImages(Router& r, Engine& e) {
  addQueries(r, e);
  addChanges(r, e);
  addTransfers(r, e);
}

}  // namespace berth::api::docker
