#include "engine/build.h"

#include <sys/mount.h>

#include <cstring>
#include <ctime>
#include <random>

#include "common/log.h"
#include "common/strings.h"
#include "engine/build_internal.h"
#include "image/dockerfile.h"
#include "image/layer.h"
#include "image/reference.h"
#include "image/snapshots.h"
#include "sys/fs.h"
#include "sys/mount.h"
#include "sys/overlay.h"

namespace berth::engine {

using image::Digest;
using image::Instruction;
using nlohmann::json;

namespace build_detail {

namespace {

std::string nowRfc3339() {
  char buf[32];
  std::time_t now = std::time(nullptr);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return buf;
}

}  // namespace

std::string randomHex(int n) {
  std::random_device rd;
  std::string out;
  for (int i = 0; i < n; ++i) out += "0123456789abcdef"[rd() % 16];
  return out;
}

std::string chainTop(const StageState& s) {
  if (s.diff_ids.empty()) return "scratch:" + s.base_summary;
  return image::chainIds(s.diff_ids).back().hex();
}

std::string cleanPath(const std::string& path, const std::string& workdir) {
  std::string full = path;
  if (full.empty() || full[0] != '/') full = workdir + "/" + full;
  std::vector<std::string> clean;
  for (const auto& part : split(full, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!clean.empty()) clean.pop_back();
    } else {
      clean.push_back(part);
    }
  }
  return "/" + join(clean, "/");
}

// ---- StepDir ----

Result<StepDir> StepDir::make(const std::string& build_root) {
  std::string path = build_root + "/" + randomHex(16);
  BERTH_RETURN_IF_ERROR(sys::mkdirAll(path, 0700));
  return StepDir(path);
}

StepDir::StepDir(StepDir&& o) noexcept
    : path_(std::exchange(o.path_, "")), mounts_(std::move(o.mounts_)) {
  o.mounts_.clear();
}

StepDir::~StepDir() {
  if (path_.empty()) return;
  bool left = false;
  for (auto it = mounts_.rbegin(); it != mounts_.rend(); ++it) {
    if (::umount2(it->c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
      log::warn("build: unmount " + quote(*it) + ": " + std::string(std::strerror(errno)));
      left = true;
    }
  }
  if (!left) (void)sys::removeAll(path_);
}

Result<std::string> StepDir::subdir(const std::string& name) {
  std::string dir = path_ + "/" + name;
  BERTH_RETURN_IF_ERROR(sys::mkdirAll(dir, 0755));
  return dir;
}

Result<std::string> StepDir::overlay(const std::vector<std::string>& lowers,
                                     const std::string& name) {
  std::string base = BERTH_TRY(subdir(name));
  for (const char* sub : {"/root", "/upper", "/work", "/empty"})
    BERTH_RETURN_IF_ERROR(sys::mkdirAll(base + sub, 0755));
  std::vector<std::string> l = lowers;
  if (l.empty()) l.push_back(base + "/empty");
  BERTH_RETURN_IF_ERROR(sys::mountOverlay(l, base + "/upper", base + "/work", base + "/root"));
  mounts_.push_back(base + "/root");
  return base + "/root";
}

Status StepDir::mount(const std::string& source, const std::string& target, const std::string& type,
                      unsigned long flags, const std::string& data) {
  BERTH_RETURN_IF_ERROR(sys::mount(source, target, type, flags, data));
  mounts_.push_back(target);
  return okStatus();
}

Status StepDir::unmount(const std::string& target) {
  if (::umount2(target.c_str(), 0) != 0) return errnoError("unmount " + quote(target), errno);
  std::erase(mounts_, target);
  return okStatus();
}

// ---- Builder ----

Result<image::ImageRecord> Builder::run(const image::Dockerfile& df, const std::string& df_name) {
  df_name_ = df_name;
  // Global ARGs: defaults, overridden by --build-arg; used in FROM lines.
  for (const auto& a : df.global_args) {
    auto s = declareArg(global_args_, a);
    if (!s) return s.error().context(df_name_ + ":" + std::to_string(a.line));
  }
  size_t last = df.stages.size() - 1;
  if (!opts_.target.empty()) {
    bool found = false;
    for (size_t i = 0; i < df.stages.size(); ++i) {
      if (df.stages[i].name == opts_.target) last = i, found = true;
    }
    if (!found)
      return notFound("build: target stage " + quote(opts_.target) + " is not in " + df_name);
  }
  total_steps_ = 0;
  for (size_t i = 0; i <= last; ++i) total_steps_ += 1 + df.stages[i].instructions.size();
  for (size_t i = 0; i <= last; ++i) {
    auto started = startStage(df, i);
    if (!started)
      return started.error().context(df_name_ + ":" + std::to_string(df.stages[i].line));
    StageState st = std::move(*started);
    for (const auto& ins : df.stages[i].instructions) {
      step(ins.original);
      auto s = apply(st, ins);
      if (!s) return s.error().context(df_name_ + ":" + std::to_string(ins.line));
    }
    stages_.push_back(std::move(st));
  }
  return commit(stages_.back());
}

void Builder::say(const std::string& line) {
  if (opts_.progress) opts_.progress(line);
}

void Builder::step(const std::string& text) {
  say("Step " + std::to_string(++step_) + "/" + std::to_string(total_steps_) + " : " + text);
}

Status Builder::declareArg(std::map<std::string, std::string>& scope, const Instruction& ins) {
  auto kvs = BERTH_TRY(image::parseKeyValues(ins.args.empty() ? "" : ins.args[0], false));
  for (auto& [k, v] : kvs) {
    auto given = opts_.build_args.find(k);
    if (given != opts_.build_args.end()) {
      scope[k] = given->second;
    } else if (auto g = global_args_.find(k);
               v.empty() && g != global_args_.end() && &scope != &global_args_) {
      scope[k] = g->second;
    } else {
      scope[k] = BERTH_TRY(image::expandVariables(v, scope));
    }
  }
  return okStatus();
}

Vars Builder::vars(const StageState& st) {
  Vars v = st.args;
  for (const auto& e : st.config.value("Env", json::array())) {
    std::string s = e.get<std::string>();
    v[s.substr(0, s.find('='))] = s.substr(s.find('=') + 1);
  }
  return v;
}

Result<StageState> Builder::startStage(const image::Dockerfile& df, size_t index) {
  const image::Stage& stage = df.stages[index];
  std::string base = BERTH_TRY(image::expandVariables(stage.base, global_args_));
  step("FROM " + base + (stage.name.empty() ? "" : " AS " + stage.name));
  // What a FROM that names nothing usable was probably meant to say.
  auto hint = [&]() -> std::string {
    if (stage.base.find('$') != std::string::npos)
      return " (" + quote(stage.base) + " expanded to " + quote(base) +
             "; a FROM sees only the ARGs declared before the first FROM, and --build-arg)";
    for (size_t i = index; i < df.stages.size(); ++i) {
      if (df.stages[i].name == toLower(base))
        return " (stage " + quote(df.stages[i].name) +
               " is defined at or after this FROM: a FROM can only use an earlier stage)";
    }
    return "";
  };
  if (base.empty()) return invalidArgument("FROM needs an image" + hint());
  StageState st;
  st.name = stage.name;
  for (const auto& prev : stages_) {
    if (!prev.name.empty() && prev.name == toLower(base)) {
      st = prev;
      st.name = stage.name;
      st.args.clear();
      st.cmd_set = false;
      return st;
    }
  }
  if (base == "scratch") {
    st.base_summary = "scratch";
    return st;
  }
  auto img = store_.resolve(base);
  if (!img)
    return Error(img.error().code(), "FROM " + base + ": " + img.error().message() + hint());
  json manifest = BERTH_TRY(store_.manifest(*img));
  json config = BERTH_TRY(store_.config(*img));
  BERTH_TRY(image::Snapshotter(store_.root()).prepare(store_, *img));
  st.config = config.value("config", json::object());
  if (st.config.is_null()) st.config = json::object();
  st.history = config.value("history", json::array());
  st.layers = manifest.value("layers", json::array());
  for (const auto& d : config["rootfs"]["diff_ids"])
    st.diff_ids.push_back(BERTH_TRY(Digest::parse(d.get<std::string>())));
  st.base_summary = img->id.str();
  say(" ---> " + img->id.shortId());
  return st;
}

void Builder::addHistory(StageState& st, const std::string& created_by, bool empty) {
  json h = {{"created", nowRfc3339()}, {"created_by", created_by}};
  if (empty) h["empty_layer"] = true;
  st.history.push_back(h);
}

// Shell-form commands go through SHELL (default /bin/sh -c).
std::vector<std::string> Builder::commandOf(const StageState& st, const Instruction& ins,
                                            const std::string& expanded) {
  if (ins.json_form) return ins.args;
  std::vector<std::string> shell = {"/bin/sh", "-c"};
  if (st.config.contains("Shell")) shell = st.config["Shell"].get<std::vector<std::string>>();
  shell.push_back(expanded);
  return shell;
}

Status Builder::apply(StageState& st, const Instruction& ins) {
  const std::string& k = ins.keyword;
  auto v = vars(st);
  std::string raw = ins.args.empty() ? "" : ins.args[0];
  auto nop = [&](const std::string& text) {
    addHistory(st, "/bin/sh -c #(nop) " + text, true);
    return okStatus();
  };
  if (k == "ARG") {
    BERTH_RETURN_IF_ERROR(declareArg(st.args, ins));
    return nop(ins.original);
  }
  if (k == "ENV" || k == "LABEL") {
    std::string expanded = BERTH_TRY(image::expandVariables(raw, v));
    auto kvs =
        BERTH_TRY(image::parseKeyValues(expanded, expanded.find('=') == std::string::npos ||
                                                      expanded.find('=') > expanded.find(' ')));
    for (auto& [key, val] : kvs) {
      if (k == "LABEL") {
        st.config["Labels"][key] = val;
        continue;
      }
      json env = json::array();
      for (const auto& e : st.config.value("Env", json::array())) {
        if (!startsWith(e.get<std::string>(), key + "=")) env.push_back(e);
      }
      env.push_back(key + "=" + val);
      st.config["Env"] = env;
    }
    return nop(k + " " + expanded);
  }
  if (k == "MAINTAINER") return nop(ins.original);
  if (k == "WORKDIR") {
    std::string dir = BERTH_TRY(image::expandVariables(raw, v));
    if (dir.empty() || dir[0] != '/') {
      std::string cur = st.config.value("WorkingDir", std::string("/"));
      dir = cur + (cur.back() == '/' ? "" : "/") + dir;
    }
    st.config["WorkingDir"] = dir;
    return nop("WORKDIR " + dir);
  }
  if (k == "USER") {
    st.config["User"] = BERTH_TRY(image::expandVariables(raw, v));
    return nop(ins.original);
  }
  if (k == "CMD" || k == "ENTRYPOINT") {
    // Not expanded: the container's shell expands it when it runs (as in docker).
    st.config[k == "CMD" ? "Cmd" : "Entrypoint"] = commandOf(st, ins, raw);
    // An ENTRYPOINT drops a CMD inherited from the base, not one set in this stage.
    if (k == "CMD") st.cmd_set = true;
    if (k == "ENTRYPOINT" && !st.cmd_set) st.config.erase("Cmd");
    return nop(ins.original);
  }
  if (k == "EXPOSE") {
    std::string expanded = BERTH_TRY(image::expandVariables(raw, v));
    for (const auto& p : split(expanded, ' ')) {
      if (!p.empty())
        st.config["ExposedPorts"][p.find('/') == std::string::npos ? p + "/tcp" : p] =
            json::object();
    }
    return nop(ins.original);
  }
  if (k == "VOLUME") {
    for (const auto& a : ins.args)
      st.config["Volumes"][BERTH_TRY(image::expandVariables(a, v))] = json::object();
    return nop(ins.original);
  }
  if (k == "STOPSIGNAL") {
    st.config["StopSignal"] = BERTH_TRY(image::expandVariables(raw, v));
    return nop(ins.original);
  }
  if (k == "SHELL") {
    st.config["Shell"] = ins.args;
    return nop(ins.original);
  }
  if (k == "HEALTHCHECK") {
    if (!ins.args.empty() && ins.args[0] == "NONE") {
      st.config["Healthcheck"] = {{"Test", {"NONE"}}};
    } else {
      std::vector<std::string> test(ins.args.begin() + 1, ins.args.end());
      json t = json::array({ins.json_form ? "CMD" : "CMD-SHELL"});
      for (const auto& a : test) t.push_back(a);
      st.config["Healthcheck"] = {{"Test", t}};
    }
    return nop(ins.original);
  }
  if (k == "ONBUILD") {
    st.config["OnBuild"].push_back(raw);
    return nop(ins.original);
  }
  if (k == "RUN") return runStep(st, ins, v);
  if (k == "COPY" || k == "ADD") return copyStep(st, ins, v);
  return unsupported(k + " is not supported by berth build yet");
}

// --- cache ---

std::string Builder::cacheKey(const StageState& st, const std::string& what) {
  json cfg = st.config;
  return image::sha256Of(chainTop(st) + "\n" + what + "\n" + cfg.dump()).hex();
}

// A cached layer whose blob and snapshot still exist.
Result<std::optional<std::pair<Digest, uint64_t>>> Builder::cached(const std::string& key) {
  if (opts_.no_cache) return std::optional<std::pair<Digest, uint64_t>>();
  auto rows = BERTH_TRY(cache_.query("SELECT layer, size FROM cache WHERE key=?", {key}));
  if (rows.empty()) return std::optional<std::pair<Digest, uint64_t>>();
  Digest d = BERTH_TRY(Digest::parse("sha256:" + image::asText(rows[0][0])));
  if (!store_.content().has(d)) return std::optional<std::pair<Digest, uint64_t>>();
  return std::optional<std::pair<Digest, uint64_t>>(
      std::make_pair(d, static_cast<uint64_t>(image::asInt(rows[0][1]))));
}

// Adds a layer (already a blob, its snapshot at `snapshot_dir` or already in place).
Status Builder::addLayer(StageState& st, const image::BlobInfo& blob,
                         const std::string& snapshot_dir, const std::string& key,
                         const std::string& created_by) {
  st.diff_ids.push_back(blob.digest);
  std::string final_dir = store_.root() + "/snapshots/" + image::chainIds(st.diff_ids).back().hex();
  if (!snapshot_dir.empty()) {
    BERTH_RETURN_IF_ERROR(sys::mkdirAll(store_.root() + "/snapshots", 0700));
    if (sys::exists(final_dir)) {
      (void)sys::removeAll(snapshot_dir);
    } else if (::rename(snapshot_dir.c_str(), final_dir.c_str()) != 0) {
      return errnoError("store snapshot " + quote(final_dir), errno);
    }
  }
  st.layers.push_back(
      {{"mediaType", image::media::kLayer}, {"digest", blob.digest.str()}, {"size", blob.size}});
  addHistory(st, created_by, false);
  if (!key.empty()) {
    BERTH_RETURN_IF_ERROR(
        cache_.exec("INSERT OR REPLACE INTO cache(key, layer, size) VALUES(?, ?, ?)",
                    {key, blob.digest.hex(), static_cast<int64_t>(blob.size)}));
  }
  say(" ---> " + blob.digest.shortId());
  return okStatus();
}

// Reuses a cached layer: its snapshot must exist (or is unpacked again from the blob).
Result<bool> Builder::tryCache(StageState& st, const std::string& key,
                               const std::string& created_by) {
  auto hit = BERTH_TRY(cached(key));
  if (!hit) return false;
  std::vector<Digest> ids = st.diff_ids;
  ids.push_back(hit->first);
  std::string final_dir = store_.root() + "/snapshots/" + image::chainIds(ids).back().hex();
  std::string unpack;
  if (!sys::exists(final_dir)) {
    unpack = store_.root() + "/snapshots/tmp-build-" + randomHex(8);
    BERTH_RETURN_IF_ERROR(sys::mkdirAll(unpack, 0755));
    auto applied = image::applyLayerFile(store_.content().path(hit->first), unpack,
                                         image::Whiteouts::kOverlay);
    if (!applied) {
      (void)sys::removeAll(unpack);
      return applied.error();
    }
  }
  say(" ---> Using cache");
  BERTH_RETURN_IF_ERROR(addLayer(st, {hit->first, hit->second}, unpack, "", created_by));
  return true;
}
std::vector<std::string> Builder::snapshotDirs(const StageState& st) {
  std::vector<std::string> dirs;
  for (const auto& c : image::chainIds(st.diff_ids))
    dirs.insert(dirs.begin(), store_.root() + "/snapshots/" + c.hex());
  return dirs;
}

Result<std::pair<std::vector<std::string>, std::string>> Builder::stageOrImage(
    const std::string& ref, const std::string& what) {
  for (size_t i = 0; i < stages_.size(); ++i) {
    if ((!stages_[i].name.empty() && stages_[i].name == toLower(ref)) || std::to_string(i) == ref)
      return std::make_pair(snapshotDirs(stages_[i]), chainTop(stages_[i]));
  }
  auto img = store_.resolve(ref);
  if (!img) {
    if (img.error().code() != ErrorCode::kNotFound) return img.error().context(what);
    return notFound(what + ": no earlier stage or local image " + quote(ref));
  }
  auto lowers = BERTH_TRY(image::Snapshotter(store_.root()).prepare(store_, *img));
  return std::make_pair(lowers, img->id.str());
}

// --- the image ---

Result<image::ImageRecord> Builder::commit(const StageState& st) {
  json diff_ids = json::array();
  for (const auto& d : st.diff_ids) diff_ids.push_back(d.str());
  json labeled = st.config;
  for (const auto& [k, v] : opts_.labels) labeled["Labels"][k] = v;
  json config = {{"architecture", "amd64"},
                 {"os", "linux"},
                 {"created", nowRfc3339()},
                 {"config", labeled},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}},
                 {"history", st.history}};
  image::BlobInfo cfg = BERTH_TRY(store_.content().put(config.dump()));
  json manifest = {
      {"schemaVersion", 2},
      {"mediaType", image::media::kManifest},
      {"config",
       {{"mediaType", image::media::kConfig}, {"digest", cfg.digest.str()}, {"size", cfg.size}}},
      {"layers", st.layers}};
  std::vector<std::string> names;
  for (const auto& t : opts_.tags) names.push_back(BERTH_TRY(image::normalizeName(t)));
  auto rec = BERTH_TRY(store_.addImage(manifest.dump(), names));
  say("Successfully built " + rec.id.shortId());
  for (const auto& n : names) say("Successfully tagged " + n);
  return rec;
}

}  // namespace build_detail

Result<std::unique_ptr<image::Db>> openBuildCache(const std::string& root) {
  auto cache = BERTH_TRY(image::Db::open(root + "/build-cache.db"));
  BERTH_RETURN_IF_ERROR(
      cache->exec("CREATE TABLE IF NOT EXISTS cache(key TEXT PRIMARY KEY, layer TEXT NOT NULL, "
                  "size INTEGER NOT NULL)"));
  return cache;
}

Result<image::ImageRecord> build(const BuildOptions& opts, image::ImageStore& store) {
  if (!sys::isDirectory(opts.context))
    return notFound("build: context " + quote(opts.context) + " is not a directory");
  std::string df_path = opts.dockerfile.empty() ? opts.context + "/Dockerfile" : opts.dockerfile;
  auto text = sys::readFile(df_path);
  if (!text) return text.error().context("build");
  std::string df_name = df_path.substr(df_path.rfind('/') + 1);
  image::Dockerfile df = BERTH_TRY(image::parseDockerfile(*text, df_name));
  if (df.stages.empty()) return invalidArgument(df_name + ": no FROM instruction");
  for (const auto& t : opts.tags) BERTH_TRY(image::normalizeName(t));
  auto cache = BERTH_TRY(openBuildCache(opts.root));
  BERTH_RETURN_IF_ERROR(sys::mkdirAll(opts.root + "/build", 0700));
  build_detail::Builder b(opts, store, *cache);
  b.ignore_ = BERTH_TRY(loadIgnoreRules(opts.context));
  return b.run(df, df_name);
}

}  // namespace berth::engine
