// The engine's image methods (engine.h, "Images"): short reads and changes under the
// image store's lock; load, import, build and save on a Job of their own (image_access.h).

#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <set>

#include "common/log.h"
#include "common/strings.h"
#include "engine/build.h"
#include "engine/engine.h"
#include "engine/entry.h"
#include "engine/image_access.h"
#include "image/archive.h"
#include "image/import.h"
#include "image/layer.h"
#include "image/reference.h"
#include "image/sqlite.h"
#include "sys/fs.h"

namespace berth::engine {

using image::ImageRecord;
using image::ImageStore;
using nlohmann::json;

namespace {

// "2024-05-01T12:00:00.123456789Z" or with an offset → unix seconds; 0 when unreadable.
int64_t parseRfc3339(const std::string& text) {
  std::tm tm{};
  if (text.size() < 19 || !strptime(text.substr(0, 19).c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
  int64_t secs = static_cast<int64_t>(timegm(&tm));
  size_t zone = text.find_first_of("Z+-", 19);
  if (zone != std::string::npos && text[zone] != 'Z' && text.size() >= zone + 6) {
    int hours = std::atoi(text.substr(zone + 1, 2).c_str());
    int minutes = std::atoi(text.substr(zone + 4, 2).c_str());
    int offset = (hours * 60 + minutes) * 60;
    secs += text[zone] == '+' ? -offset : offset;
  }
  return secs;
}

Error noSuchImage(const std::string& ref, const Error& cause) {
  if (cause.code() != ErrorCode::kNotFound) return cause;
  return notFound("no such image: " + quote(ref));
}

Result<ImageRecord> resolveIn(const ImageStore& store, const std::string& ref) {
  auto rec = store.resolve(ref);
  if (!rec) return noSuchImage(ref, rec.error());
  return rec;
}

bool labelMatches(const std::map<std::string, std::string>& labels, const std::string& value) {
  auto eq = value.find('=');
  auto it = labels.find(value.substr(0, eq));
  if (it == labels.end()) return false;
  return eq == std::string::npos || it->second == value.substr(eq + 1);
}

// "Untagged: x" / "Deleted: sha256:…", as ImageStore::remove reports them.
std::vector<ImageDeleteItem> toItems(const std::vector<std::string>& lines) {
  std::vector<ImageDeleteItem> out;
  for (const auto& l : lines) {
    if (l.starts_with("Untagged: ")) out.push_back({l.substr(10), ""});
    if (l.starts_with("Deleted: ")) out.push_back({"", l.substr(9)});
  }
  return out;
}

std::string repoOf(const std::string& name) { return name.substr(0, name.rfind(':')); }

// The image's fields as the list shows them; `users` counts containers per image hex.
Result<ImageSummary> summarize(const ImageStore& store, const ImageRecord& rec,
                               const std::map<std::string, int>& users, json* config_out) {
  json config = BERTH_TRY(store.config(rec));
  json manifest = BERTH_TRY(store.manifest(rec));
  ImageSummary s;
  s.id = rec.id.str();
  s.repo_tags = rec.tags;
  std::set<std::string> repos;
  for (const auto& t : rec.tags) repos.insert(repoOf(t));
  for (const auto& r : repos) s.repo_digests.push_back(r + "@" + rec.manifest.str());
  s.created = parseRfc3339(config.value("created", ""));
  if (s.created == 0) s.created = rec.added;
  for (const auto& l : manifest.value("layers", json::array()))
    s.size += l.value("size", int64_t{0});
  const json& labels = config.value("config", json::object()).value("Labels", json::object());
  if (labels.is_object()) {
    for (const auto& [k, v] : labels.items())
      if (v.is_string()) s.labels[k] = v.get<std::string>();
  }
  if (auto it = users.find(rec.id.hex()); it != users.end()) s.containers = it->second;
  if (config_out) *config_out = std::move(config);
  return s;
}

// The classic builder's filter syntax for until=: unix seconds or RFC 3339.
Result<int64_t> parseUntil(const std::string& v) {
  if (!v.empty() && std::all_of(v.begin(), v.end(), ::isdigit)) return std::stoll(v);
  int64_t t = parseRfc3339(v);
  if (t == 0)
    return invalidArgument("invalid filter 'until=" + v +
                           "': use unix seconds or a time like 2024-05-01T12:00:00Z");
  return t;
}

Status checkFilters(const std::multimap<std::string, std::string>& filters,
                    const std::vector<std::string>& keys) {
  for (const auto& [k, v] : filters) {
    if (std::find(keys.begin(), keys.end(), k) == keys.end())
      return invalidArgument("invalid filter " + quote(k) + " (use " + join(keys, ", ") + ")");
    if (k == "dangling" && v != "true" && v != "false" && v != "1" && v != "0")
      return invalidArgument("invalid filter 'dangling=" + v + "': use true or false");
  }
  return okStatus();
}

bool truthy(const std::string& v) { return v == "true" || v == "1"; }

// untag and delete events for a report in which an image's untags come before its delete;
// an untag with no delete after it (the image stays) is of `kept_id`.
void publishRemoved(EventBus& bus, const std::vector<ImageDeleteItem>& items,
                    const std::string& kept_id) {
  std::vector<Event> events;
  std::string id = kept_id;
  for (auto it = items.rbegin(); it != items.rend(); ++it) {
    if (!it->deleted.empty()) {
      id = it->deleted;
      events.push_back({"image", "delete", id, {{"name", id}}, 0});
    } else {
      events.push_back({"image", "untag", id, {{"name", it->untagged}}, 0});
    }
  }
  for (auto it = events.rbegin(); it != events.rend(); ++it) bus.publish(std::move(*it));
}

}  // namespace

// Containers per image (hex id), and for each image its users' (short id, running).
struct ImageUsers {
  std::map<std::string, int> count;
  std::map<std::string, std::vector<std::pair<std::string, bool>>> by_image;
};

static ImageUsers usersOf(std::mutex& mu,
                          const std::map<std::string, std::shared_ptr<Engine::Entry>>& by_id) {
  std::vector<std::shared_ptr<Engine::Entry>> entries;
  {
    std::lock_guard lock(mu);
    for (const auto& [id, e] : by_id) entries.push_back(e);
  }
  ImageUsers u;
  for (const auto& e : entries) {
    std::lock_guard lock(e->mu);
    if (e->removed) continue;
    ++u.count[e->c.image_id];
    u.by_image[e->c.image_id].emplace_back(e->c.id.substr(0, 12), e->c.running());
  }
  return u;
}

Result<std::vector<ImageSummary>> Engine::imageList(
    bool /*all*/, const std::multimap<std::string, std::string>& filters) {
  BERTH_RETURN_IF_ERROR(
      checkFilters(filters, {"dangling", "label", "reference", "before", "since"}));
  ImageUsers users = usersOf(mu_, by_id_);
  return images_->locked([&](ImageStore& store) -> Result<std::vector<ImageSummary>> {
    std::optional<int64_t> before, since;
    for (const auto& [k, v] : filters) {
      if (k != "before" && k != "since") continue;
      auto rec = BERTH_TRY(resolveIn(store, v));
      int64_t t = BERTH_TRY(summarize(store, rec, {}, nullptr)).created;
      (k == "before" ? before : since) = t;
    }
    std::vector<ImageSummary> out;
    for (const auto& rec : BERTH_TRY(store.list())) {
      ImageSummary s = BERTH_TRY(summarize(store, rec, users.count, nullptr));
      bool keep = true;
      std::map<std::string, bool> any_reference;
      for (const auto& [k, v] : filters) {
        if (k == "dangling") keep = keep && (truthy(v) == s.repo_tags.empty());
        if (k == "label") keep = keep && labelMatches(s.labels, v);
        if (k == "reference") {
          bool hit = false;
          for (const auto& t : s.repo_tags) {
            auto want = v.find(':') == std::string::npos ? repoOf(t) : t;
            hit = hit || fnmatch(v.c_str(), want.c_str(), 0) == 0;
          }
          any_reference[k] = any_reference[k] || hit;
        }
      }
      if (filters.count("reference") && !any_reference["reference"]) keep = false;
      if (before && s.created >= *before) keep = false;
      if (since && s.created <= *since) keep = false;
      if (keep) out.push_back(std::move(s));
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const auto& a, const auto& b) { return a.created > b.created; });
    return out;
  });
}

Result<ImageDetail> Engine::imageInspect(const std::string& ref) {
  ImageUsers users = usersOf(mu_, by_id_);
  return images_->locked([&](ImageStore& store) -> Result<ImageDetail> {
    ImageRecord rec = BERTH_TRY(resolveIn(store, ref));
    ImageDetail d;
    d.summary = BERTH_TRY(summarize(store, rec, users.count, &d.config));
    d.manifest_digest = rec.manifest.str();
    for (const auto& id : d.config.value("rootfs", json::object()).value("diff_ids", json::array()))
      if (id.is_string()) d.diff_ids.push_back(id.get<std::string>());
    d.architecture = d.config.value("architecture", "");
    d.os = d.config.value("os", "");
    d.author = d.config.value("author", "");
    d.created_rfc3339 = d.config.value("created", "");
    return d;
  });
}

Result<std::vector<ImageHistoryEntry>> Engine::imageHistory(const std::string& ref) {
  return images_->locked([&](ImageStore& store) -> Result<std::vector<ImageHistoryEntry>> {
    ImageRecord rec = BERTH_TRY(resolveIn(store, ref));
    json config = BERTH_TRY(store.config(rec));
    json manifest = BERTH_TRY(store.manifest(rec));
    json layers = manifest.value("layers", json::array());
    json hist = config.value("history", json::array());
    std::vector<ImageHistoryEntry> out;
    // Newest first; entries without a layer (empty_layer) have size 0.
    size_t layer = layers.size();
    for (auto it = hist.rbegin(); it != hist.rend(); ++it) {
      ImageHistoryEntry h;
      bool top = it == hist.rbegin();
      h.id = top ? rec.id.str() : "<missing>";
      if (top) h.tags = rec.tags;
      h.created = parseRfc3339(it->value("created", ""));
      h.created_by = it->value("created_by", "");
      h.comment = it->value("comment", "");
      if (!it->value("empty_layer", false) && layer > 0)
        h.size = layers[--layer].value("size", int64_t{0});
      out.push_back(std::move(h));
    }
    return out;
  });
}

Status Engine::imageTag(const std::string& ref, const std::string& repo, const std::string& tag) {
  std::string wanted = repo + (tag.empty() ? "" : ":" + tag);
  auto name = image::normalizeName(wanted);
  if (!name) return invalidArgument("tag " + quote(wanted) + ": " + name.error().message());
  std::string id = BERTH_TRY(images_->locked([&](ImageStore& store) -> Result<std::string> {
    ImageRecord rec = BERTH_TRY(resolveIn(store, ref));
    BERTH_RETURN_IF_ERROR(store.tag(rec.id.hex(), *name));
    return rec.id.str();
  }));
  events_.publish({"image", "tag", id, {{"name", *name}}, 0});
  return okStatus();
}

Result<std::vector<ImageDeleteItem>> Engine::imageRemove(const std::string& ref, bool force,
                                                         bool /*noprune*/) {
  ImageUsers users = usersOf(mu_, by_id_);
  std::string image_id;
  auto items =
      BERTH_TRY(images_->locked([&](ImageStore& store) -> Result<std::vector<ImageDeleteItem>> {
        ImageRecord rec = BERTH_TRY(resolveIn(store, ref));
        image_id = rec.id.str();
        auto name = image::normalizeName(ref);
        bool by_name = name && std::find(rec.tags.begin(), rec.tags.end(), *name) != rec.tags.end();
        const auto& using_it = users.by_image[rec.id.hex()];
        std::string id_short = rec.id.shortId();
        if (using_it.empty()) {
          if (!by_name && rec.tags.size() > 1 && !force)
            return conflict("conflict: unable to delete " + id_short +
                            " (must be forced) - image is referenced in multiple repositories");
          return toItems(BERTH_TRY(store.remove(ref, true)));
        }
        // A container uses it: names may go, the image stays.
        if (by_name && rec.tags.size() > 1) return toItems(BERTH_TRY(store.remove(ref, false)));
        auto running =
            std::find_if(using_it.begin(), using_it.end(), [](const auto& u) { return u.second; });
        if (by_name && !force)
          return conflict("conflict: unable to remove repository reference \"" + ref +
                          "\" (must force) - container " + using_it.front().first +
                          " is using its referenced image " + id_short);
        if (!by_name && running != using_it.end())
          return conflict("conflict: unable to delete " + id_short +
                          " (cannot be forced) - image is being used by running container " +
                          running->first);
        if (!by_name && !force)
          return conflict("conflict: unable to delete " + id_short +
                          " (must be forced) - image is being used by stopped container " +
                          using_it.front().first);
        std::vector<ImageDeleteItem> out;
        for (const auto& t : by_name ? std::vector<std::string>{*name} : rec.tags) {
          BERTH_RETURN_IF_ERROR(store.untag(t));
          out.push_back({t, ""});
        }
        return out;
      }));
  publishRemoved(events_, items, image_id);
  // Blobs and snapshots go now, or when the loads and builds in flight end. The names and
  // records are gone already: a failed collection is retried by the next one.
  if (auto gc = images_->collect(false); !gc) log::warn("rmi: " + gc.error().message());
  return items;
}

Result<BuildPruneReport> Engine::buildPrune() {
  BuildPruneReport report = BERTH_TRY(images_->whileNoJobs([&]() -> Result<BuildPruneReport> {
    BuildPruneReport r;
    if (sys::exists(opts_.root + "/build-cache.db")) {
      auto db = BERTH_TRY(openBuildCache(opts_.root));
      for (const auto& row : BERTH_TRY(db->query("SELECT key FROM cache")))
        r.deleted.push_back(image::asText(row[0]));
      BERTH_RETURN_IF_ERROR(db->exec("DELETE FROM cache"));
    }
    std::string mounts = opts_.root + "/build-cache-mounts";
    if (sys::isDirectory(mounts)) {
      for (const auto& name : BERTH_TRY(sys::listDir(mounts))) {
        std::string path = mounts + "/" + name;
        if (name.ends_with(".lock") || !sys::isDirectory(path)) continue;
        r.space_reclaimed += static_cast<uint64_t>(sys::treeSize(path));
        BERTH_RETURN_IF_ERROR(sys::removeAll(path));
        ::unlink((path + ".lock").c_str());
        r.deleted.push_back(name);
      }
    }
    return r;
  }));
  report.space_reclaimed += BERTH_TRY(images_->collect(true));
  return report;
}

Result<ImagePruneReport> Engine::imagePrune(
    bool all, const std::multimap<std::string, std::string>& filters) {
  BERTH_RETURN_IF_ERROR(checkFilters(filters, {"dangling", "label", "label!", "until"}));
  std::optional<int64_t> until;
  for (const auto& [k, v] : filters) {
    if (k == "dangling") all = all || !truthy(v);
    if (k == "until") until = BERTH_TRY(parseUntil(v));
  }
  ImageUsers users = usersOf(mu_, by_id_);
  ImagePruneReport report;
  report.deleted =
      BERTH_TRY(images_->locked([&](ImageStore& store) -> Result<std::vector<ImageDeleteItem>> {
        std::vector<ImageDeleteItem> out;
        for (const auto& rec : BERTH_TRY(store.list())) {
          if (users.count.count(rec.id.hex()) || (!all && !rec.tags.empty())) continue;
          ImageSummary s = BERTH_TRY(summarize(store, rec, {}, nullptr));
          bool keep = false;
          for (const auto& [k, v] : filters) {
            if (k == "label") keep = keep || !labelMatches(s.labels, v);
            if (k == "label!") keep = keep || labelMatches(s.labels, v);
          }
          if (until && s.created >= *until) keep = true;
          if (keep) continue;
          for (auto& item : toItems(BERTH_TRY(store.remove(rec.id.hex(), true))))
            out.push_back(std::move(item));
        }
        return out;
      }));
  publishRemoved(events_, report.deleted, "");
  report.space_reclaimed = BERTH_TRY(images_->collect(true));
  return report;
}

Result<std::vector<std::string>> Engine::imageLoad(const ByteReader& read,
                                                   const LineSink& /*progress*/) {
  auto job = BERTH_TRY(images_->beginJob());
  auto loaded = image::loadArchive(job->store(), read, "archive");
  if (!loaded) return loaded.error();
  std::vector<std::string> lines;
  for (const auto& img : *loaded) {
    if (img.tags.empty()) {
      lines.push_back("Loaded image ID: " + img.id.str());
      events_.publish({"image", "load", img.id.str(), {{"name", img.id.str()}}, 0});
    }
    for (const auto& t : img.tags) {
      lines.push_back("Loaded image: " + t);
      events_.publish({"image", "load", img.id.str(), {{"name", t}}, 0});
    }
  }
  return lines;
}

Status Engine::imageSave(const std::vector<std::string>& refs, ImageArchiveFormat format,
                         const ByteWriter& write) {
  if (refs.empty()) return invalidArgument("save: name at least one image");
  std::vector<std::string> ids =
      BERTH_TRY(images_->locked([&](ImageStore& store) -> Result<std::vector<std::string>> {
        std::vector<std::string> out;
        for (const auto& ref : refs) out.push_back(BERTH_TRY(resolveIn(store, ref)).id.str());
        return out;
      }));
  auto job = BERTH_TRY(images_->beginJob());
  auto fmt = format == ImageArchiveFormat::kOci ? image::ArchiveFormat::kOci
                                                : image::ArchiveFormat::kDocker;
  BERTH_RETURN_IF_ERROR(image::saveArchive(job->store(), refs, write, "archive", fmt));
  for (size_t i = 0; i < refs.size(); ++i)
    events_.publish({"image", "save", ids[i], {{"name", refs[i]}}, 0});
  return okStatus();
}

Result<std::string> Engine::imageImport(const ByteReader& read, const ImageImportOptions& opts,
                                        const LineSink& /*progress*/) {
  // Checked before a byte is read, so that a client learns of a typo at once.
  if (!opts.name.empty()) {
    auto name = image::normalizeName(opts.name);
    if (!name) return invalidArgument("import: " + name.error().message());
  }
  json probe = json::object();
  for (const auto& ch : opts.changes) BERTH_RETURN_IF_ERROR(image::applyChange(probe, ch));
  auto job = BERTH_TRY(images_->beginJob());
  ImageRecord rec = BERTH_TRY(
      image::importRootfs(job->store(), read, "archive", 0, opts.name, opts.changes, opts.message));
  events_.publish({"image",
                   "import",
                   rec.id.str(),
                   {{"name", rec.tags.empty() ? rec.id.str() : rec.tags.front()}},
                   0});
  return rec.id.str();
}

Result<std::string> Engine::imageBuild(const ByteReader& context, const ImageBuildOptions& opts,
                                       const LineSink& progress) {
  for (const auto& t : opts.tags) {
    auto name = image::normalizeName(t);
    if (!name) return invalidArgument("build: tag " + quote(t) + ": " + name.error().message());
  }
  std::string df = opts.dockerfile.empty() ? "Dockerfile" : opts.dockerfile;
  std::string tmp_root = opts_.root + "/tmp";
  BERTH_RETURN_IF_ERROR(sys::mkdirAll(tmp_root, 0700));
  std::string dir = tmp_root + "/build-" + newHexId().substr(0, 16);
  BERTH_RETURN_IF_ERROR(sys::mkdirAll(dir + "/context", 0755));
  struct Cleanup {
    std::string dir;
    ~Cleanup() { (void)sys::removeAll(dir); }
  } cleanup{dir};
  std::string ctx = dir + "/context";
  // applyLayer refuses entries that would land outside `ctx` ("../", absolute names, links
  // through symlinks); whiteout names in a context mean nothing and are dropped.
  auto applied = image::applyLayer(context, ctx, image::Whiteouts::kApply);
  if (!applied) {
    if (applied.error().code() == ErrorCode::kInvalidArgument ||
        applied.error().code() == ErrorCode::kUnsupported)
      return invalidArgument("build context: " + applied.error().message());
    return applied.error().context("build context");
  }
  // The Dockerfile must be a file inside the context, not a link out of it.
  char real_ctx[PATH_MAX], real_df[PATH_MAX];
  std::string df_path = ctx + "/" + df;
  if (!::realpath(ctx.c_str(), real_ctx) || !::realpath(df_path.c_str(), real_df))
    return invalidArgument("build: Dockerfile " + quote(df) + " is not in the build context");
  if (!std::string(real_df).starts_with(std::string(real_ctx) + "/") || sys::isDirectory(real_df))
    return invalidArgument("build: Dockerfile " + quote(df) +
                           " must be a file inside the build context");

  BuildOptions b;
  b.root = opts_.root;
  b.runtime = opts_.runtime;
  b.runtime_root = runtimeStore(opts_).root();
  b.context = ctx;
  b.dockerfile = real_df;
  b.tags = opts.tags;
  b.build_args = opts.build_args;
  b.target = opts.target;
  b.no_cache = opts.no_cache;
  b.labels = opts.labels;
  b.secrets = opts.secrets;
  b.progress = progress;
  auto job = BERTH_TRY(images_->beginJob());
  ImageRecord rec = BERTH_TRY(build(b, job->store()));
  for (const auto& t : rec.tags) {
    if (std::find(opts.tags.begin(), opts.tags.end(), t) != opts.tags.end() ||
        std::any_of(opts.tags.begin(), opts.tags.end(), [&](const std::string& x) {
          return image::normalizeName(x).value_or("") == t;
        }))
      events_.publish({"image", "tag", rec.id.str(), {{"name", t}}, 0});
  }
  return rec.id.str();
}

}  // namespace berth::engine
