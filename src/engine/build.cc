#include "engine/build.h"

#include <archive.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ctime>
#include <random>

#include "common/log.h"
#include "common/strings.h"
#include "engine/container_spec.h"
#include "engine/context.h"
#include "image/dockerfile.h"
#include "image/layer.h"
#include "image/layer_writer.h"
#include "image/reference.h"
#include "image/snapshots.h"
#include "image/sqlite.h"
#include "sys/fd.h"
#include "sys/fs.h"
#include "sys/mount.h"
#include "sys/overlay.h"
#include "sys/process.h"

namespace berth::engine {

using image::Digest;
using image::Instruction;
using nlohmann::json;

namespace {

std::string nowRfc3339() {
  char buf[32];
  std::time_t now = std::time(nullptr);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return buf;
}

std::string randomHex(int n) {
  std::random_device rd;
  std::string out;
  for (int i = 0; i < n; ++i) out += "0123456789abcdef"[rd() % 16];
  return out;
}

// What a stage has built so far.
struct StageState {
  std::string name;
  json config = json::object();  // the image config's "config" object
  json history = json::array();
  json layers = json::array();  // manifest layer descriptors
  std::vector<Digest> diff_ids;
  std::map<std::string, std::string> args;  // ARGs in scope
  std::string base_summary;                 // for the cache key
  bool cmd_set = false;                     // CMD given in this stage (ENTRYPOINT keeps it)
};

std::string chainTop(const StageState& s) {
  if (s.diff_ids.empty()) return "scratch:" + s.base_summary;
  return image::chainIds(s.diff_ids).back().hex();
}

class Builder {
 public:
  Builder(const BuildOptions& opts, image::ImageStore& store, image::Db& cache)
      : opts_(opts), store_(store), cache_(cache) {}

  Result<image::ImageRecord> run(const image::Dockerfile& df, const std::string& df_name) {
    df_name_ = df_name;
    // Global ARGs: defaults, overridden by --build-arg; used in FROM lines.
    for (const auto& a : df.global_args) BERTH_RETURN_IF_ERROR(declareArg(global_args_, a));
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
      StageState st = BERTH_TRY(startStage(df.stages[i]));
      for (const auto& ins : df.stages[i].instructions) {
        step(ins.original);
        auto s = apply(st, ins);
        if (!s) return s.error().context(df_name_ + ":" + std::to_string(ins.line));
      }
      stages_.push_back(std::move(st));
    }
    return commit(stages_.back());
  }

 private:
  void say(const std::string& line) {
    if (opts_.progress) opts_.progress(line);
  }
  void step(const std::string& text) {
    say("Step " + std::to_string(++step_) + "/" + std::to_string(total_steps_) + " : " + text);
  }

  Status declareArg(std::map<std::string, std::string>& scope, const Instruction& ins) {
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

  std::map<std::string, std::string> vars(const StageState& st) {
    std::map<std::string, std::string> v = st.args;
    for (const auto& e : st.config.value("Env", json::array())) {
      std::string s = e.get<std::string>();
      v[s.substr(0, s.find('='))] = s.substr(s.find('=') + 1);
    }
    return v;
  }

  Result<StageState> startStage(const image::Stage& stage) {
    std::string base = BERTH_TRY(image::expandVariables(stage.base, global_args_));
    step("FROM " + base + (stage.name.empty() ? "" : " AS " + stage.name));
    StageState st;
    st.name = stage.name;
    for (const auto& prev : stages_) {
      if (!prev.name.empty() && prev.name == base) {
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
    if (!img) return img.error().context(df_name_ + ": FROM " + base);
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

  void addHistory(StageState& st, const std::string& created_by, bool empty) {
    json h = {{"created", nowRfc3339()}, {"created_by", created_by}};
    if (empty) h["empty_layer"] = true;
    st.history.push_back(h);
  }

  // Shell-form commands go through SHELL (default /bin/sh -c).
  std::vector<std::string> commandOf(const StageState& st, const Instruction& ins,
                                     const std::string& expanded) {
    if (ins.json_form) return ins.args;
    std::vector<std::string> shell = {"/bin/sh", "-c"};
    if (st.config.contains("Shell")) shell = st.config["Shell"].get<std::vector<std::string>>();
    shell.push_back(expanded);
    return shell;
  }

  Status apply(StageState& st, const Instruction& ins) {
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
      std::string expanded = ins.json_form ? "" : BERTH_TRY(image::expandVariables(raw, v));
      st.config[k == "CMD" ? "Cmd" : "Entrypoint"] = commandOf(st, ins, expanded);
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

  std::string cacheKey(const StageState& st, const std::string& what) {
    json cfg = st.config;
    return image::sha256Of(chainTop(st) + "\n" + what + "\n" + cfg.dump()).hex();
  }

  // A cached layer whose blob and snapshot still exist.
  Result<std::optional<std::pair<Digest, uint64_t>>> cached(const std::string& key) {
    if (opts_.no_cache) return std::optional<std::pair<Digest, uint64_t>>();
    auto rows = BERTH_TRY(cache_.query("SELECT layer, size FROM cache WHERE key=?", {key}));
    if (rows.empty()) return std::optional<std::pair<Digest, uint64_t>>();
    Digest d = BERTH_TRY(Digest::parse("sha256:" + image::asText(rows[0][0])));
    if (!store_.content().has(d)) return std::optional<std::pair<Digest, uint64_t>>();
    return std::optional<std::pair<Digest, uint64_t>>(
        std::make_pair(d, static_cast<uint64_t>(image::asInt(rows[0][1]))));
  }

  // Adds a layer (already a blob, its snapshot at `snapshot_dir` or already in place).
  Status addLayer(StageState& st, const image::BlobInfo& blob, const std::string& snapshot_dir,
                  const std::string& key, const std::string& created_by) {
    st.diff_ids.push_back(blob.digest);
    std::string final_dir =
        store_.root() + "/snapshots/" + image::chainIds(st.diff_ids).back().hex();
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
  Result<bool> tryCache(StageState& st, const std::string& key, const std::string& created_by) {
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

  // --- RUN ---

  std::vector<std::string> snapshotDirs(const StageState& st) {
    std::vector<std::string> dirs;
    for (const auto& c : image::chainIds(st.diff_ids))
      dirs.insert(dirs.begin(), store_.root() + "/snapshots/" + c.hex());
    return dirs;
  }

  Status runStep(StageState& st, const Instruction& ins,
                 const std::map<std::string, std::string>& v) {
    for (const auto& [flag, value] : ins.flags) {
      (void)value;
      return unsupported("RUN --" + flag + " is not supported by berth build yet");
    }
    std::string expanded = ins.json_form ? "" : BERTH_TRY(image::expandVariables(ins.args[0], v));
    std::vector<std::string> cmd = commandOf(st, ins, expanded);
    std::string created_by = ins.json_form ? json(cmd).dump() : "/bin/sh -c " + expanded;
    // Build args are in the environment of RUN (and in the key), not in the image.
    std::vector<std::string> env;
    for (const auto& [k, val] : st.args) env.push_back(k + "=" + val);
    std::string key = cacheKey(st, "RUN " + json(cmd).dump() + json(env).dump());
    if (BERTH_TRY(tryCache(st, key, created_by))) return okStatus();

    std::string dir = store_.root() + "/build/" + randomHex(16);
    std::string rootfs = dir + "/rootfs";
    for (const char* sub : {"/rootfs", "/upper", "/work", "/empty"})
      BERTH_RETURN_IF_ERROR(sys::mkdirAll(dir + sub, 0755));
    bool mounted = false;
    struct Cleanup {
      std::string dir, rootfs;
      bool& mounted;
      ~Cleanup() {
        if (mounted && ::umount2(rootfs.c_str(), MNT_DETACH) != 0) return;
        (void)sys::removeAll(dir);
      }
    } cleanup{dir, rootfs, mounted};
    std::vector<std::string> lowers = snapshotDirs(st);
    if (lowers.empty()) lowers.push_back(dir + "/empty");
    BERTH_RETURN_IF_ERROR(sys::mountOverlay(lowers, dir + "/upper", dir + "/work", rootfs));
    mounted = true;

    RunSpec run;
    run.id = "build-" + randomHex(16);
    run.hostname = run.id.substr(0, 12);
    run.command = cmd;
    run.entrypoint = std::vector<std::string>{};
    run.env = env;
    run.host_network = true;  // builds reach the network the host has
    run.rootfs = rootfs;
    json image_config = {{"config", st.config}};
    json spec = BERTH_TRY(containerSpec(image_config, run, rootfsReader(rootfs)));
    BERTH_RETURN_IF_ERROR(sys::writeFileAtomic(dir + "/config.json", spec.dump(2)));
    int code = BERTH_TRY(runContainer(dir, run.id));
    if (code != 0)
      return invalidArgument("The command '" + (ins.json_form ? json(cmd).dump() : join(cmd, " ")) +
                             "' returned a non-zero code: " + std::to_string(code));
    if (::umount2(rootfs.c_str(), 0) != 0)
      return errnoError("unmount build root " + quote(rootfs), errno);
    mounted = false;
    image::BlobInfo blob = BERTH_TRY(
        image::writeLayer(store_.content(), dir + "/upper", image::SourceKind::kOverlayUpper));
    // The upper directory is this layer in overlay form: it becomes the snapshot as is.
    return addLayer(st, blob, dir + "/upper", key, created_by);
  }

  // Runs the bundle in `dir` with berth-runtime, its output (stdout and stderr) going to
  // the progress lines as the classic builder shows it; returns the exit code.
  Result<int> runContainer(const std::string& dir, const std::string& id) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return errnoError("RUN: pipe", errno);
    sys::Fd out_r(p[0]), out_w(p[1]);
    pid_t child = BERTH_TRY(sys::spawn(
        opts_.runtime, {opts_.runtime, "--root", opts_.runtime_root, "run", "--bundle", dir, id},
        -1, out_w.get(), out_w.get()));
    out_w.reset();
    std::string pending;
    char buf[8192];
    while (true) {
      ssize_t n = ::read(out_r.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      pending.append(buf, static_cast<size_t>(n));
      for (size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
        say(pending.substr(0, nl));
        pending.erase(0, nl + 1);
      }
    }
    if (!pending.empty()) say(pending);
    int status = BERTH_TRY(sys::waitChild(child));
    return sys::exitCodeOf(status);
  }

  // --- COPY / ADD ---

  Status copyStep(StageState& st, const Instruction& ins,
                  const std::map<std::string, std::string>& v) {
    bool add = ins.keyword == "ADD";
    CopyOwner owner;
    std::string from;
    for (const auto& [flag, value] : ins.flags) {
      if (flag == "from" && !add) {
        from = BERTH_TRY(image::expandVariables(value, v));
      } else if (flag == "chown") {
        std::string spec = BERTH_TRY(image::expandVariables(value, v));
        auto parts = split(spec, ':');
        auto uid = parseInt(parts[0]);
        auto gid = parts.size() > 1 ? parseInt(parts[1]) : uid;
        if (!uid || !gid)
          return invalidArgument(ins.keyword + " --chown=" + spec + ": use numeric UID[:GID]");
        owner.uid = static_cast<uint32_t>(*uid);
        owner.gid = static_cast<uint32_t>(*gid);
      } else {
        return unsupported(ins.keyword + " --" + flag + " is not supported by berth build yet");
      }
    }
    std::vector<std::string> words;
    for (const auto& a : ins.args) words.push_back(BERTH_TRY(image::expandVariables(a, v)));
    std::string dest = words.back();
    words.pop_back();
    std::string workdir = st.config.value("WorkingDir", std::string("/"));
    if (dest.empty() || dest[0] != '/') dest = workdir + (workdir.back() == '/' ? "" : "/") + dest;
    // "dir/", "." and "dir/." name a directory; several sources need one.
    bool dest_is_dir = dest.back() == '/' || dest.back() == '.' || words.size() > 1;
    std::vector<std::string> clean;
    for (const auto& part : split(dest, '/')) {
      if (part.empty() || part == ".") continue;
      if (part == "..") {
        if (!clean.empty()) clean.pop_back();
      } else {
        clean.push_back(part);
      }
    }
    dest = "/" + join(clean, "/");
    if (dest_is_dir && dest != "/") dest += "/";

    // The source tree: the context, or another stage's (or image's) root, mounted read-only.
    std::string src_root = opts_.context;
    const IgnoreRules* ignore = &ignore_;
    std::string scratch = store_.root() + "/build/" + randomHex(16);
    bool mounted = false;
    struct Cleanup {
      std::string scratch;
      bool& mounted;
      ~Cleanup() {
        if (mounted) ::umount2((scratch + "/src").c_str(), MNT_DETACH);
        (void)sys::removeAll(scratch);
      }
    } cleanup{scratch, mounted};
    BERTH_RETURN_IF_ERROR(sys::mkdirAll(scratch + "/layer", 0755));
    std::string from_summary;
    if (!from.empty()) {
      std::vector<std::string> lowers;
      for (const auto& prev : stages_) {
        if (prev.name == from || std::to_string(&prev - &stages_[0]) == from) {
          lowers = snapshotDirs(prev);
          from_summary = chainTop(prev);
        }
      }
      if (from_summary.empty()) {
        auto img = store_.resolve(from);
        if (!img) return img.error().context(ins.keyword + " --from");
        lowers = BERTH_TRY(image::Snapshotter(store_.root()).prepare(store_, *img));
        from_summary = img->id.str();
      }
      BERTH_RETURN_IF_ERROR(sys::mkdirAll(scratch + "/src", 0755));
      if (lowers.empty())
        return invalidArgument(ins.keyword + " --from=" + from + ": that stage is empty");
      if (lowers.size() == 1) {
        BERTH_RETURN_IF_ERROR(sys::mount(lowers[0], scratch + "/src", "", MS_BIND, ""));
      } else {
        BERTH_RETURN_IF_ERROR(sys::mount("overlay", scratch + "/src", "overlay", MS_RDONLY,
                                         "lowerdir=" + join(lowers, ":")));
      }
      mounted = true;
      src_root = scratch + "/src";
      ignore = nullptr;
    }

    std::string hashes = from_summary;
    std::vector<std::pair<std::string, std::string>> plan;  // (source host path, relative source)
    for (const auto& w : words) {
      if (add && (startsWith(w, "http://") || startsWith(w, "https://")))
        return unsupported(
            "ADD from a URL is not supported: download it in a RUN step or beforehand");
      for (const auto& rel : BERTH_TRY(expandSources(src_root, w))) {
        std::string host = rel.empty() ? src_root : BERTH_TRY(sys::secureJoin(src_root, rel));
        BERTH_RETURN_IF_ERROR(hashTree(host, rel, ignore, &hashes));
        plan.emplace_back(host, rel);
      }
    }
    std::string key =
        cacheKey(st, ins.keyword + " " + json(ins.flags).dump() + " " + json(words).dump() + " " +
                         dest + "\n" + image::sha256Of(hashes).hex());
    std::string created_by = "/bin/sh -c #(nop) " + ins.original;
    if (BERTH_TRY(tryCache(st, key, created_by))) return okStatus();

    std::string layer = scratch + "/layer";
    std::string target_dir = dest_is_dir ? dest : dest.substr(0, dest.rfind('/'));
    BERTH_RETURN_IF_ERROR(sys::mkdirAll(layer + target_dir, 0755));
    for (const auto& [host, rel] : plan) {
      struct stat s;
      if (::lstat(host.c_str(), &s) != 0) return errnoError(ins.keyword + " " + quote(rel), errno);
      std::string base =
          rel.empty() ? ""
                      : rel.substr(rel.rfind('/') == std::string::npos ? 0 : rel.rfind('/') + 1);
      if (S_ISDIR(s.st_mode)) {
        // A directory's contents are copied, not the directory itself (as docker does).
        std::string into = layer + dest;
        BERTH_RETURN_IF_ERROR(sys::mkdirAll(into, 0755));
        BERTH_RETURN_IF_ERROR(copyTree(host, into, owner, ignore, rel));
        continue;
      }
      if (add && S_ISREG(s.st_mode) && isArchive(host)) {
        auto applied = image::applyLayerFile(host, layer + target_dir, image::Whiteouts::kApply);
        if (!applied) return applied.error().context("ADD " + quote(rel));
        continue;
      }
      std::string to =
          dest_is_dir ? layer + dest + (dest.back() == '/' ? "" : "/") + base : layer + dest;
      BERTH_RETURN_IF_ERROR(copyTree(host, to, owner, nullptr, ""));
    }
    image::BlobInfo blob =
        BERTH_TRY(image::writeLayer(store_.content(), layer, image::SourceKind::kPlain));
    return addLayer(st, blob, layer, key, created_by);
  }

  static bool isArchive(const std::string& path) {
    archive* a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    archive_entry* e = nullptr;
    bool ok = archive_read_open_filename(a, path.c_str(), 65536) == ARCHIVE_OK &&
              archive_read_next_header(a, &e) == ARCHIVE_OK;
    archive_read_free(a);
    return ok;
  }

  // --- the image ---

  json withLabels(json config) const {
    for (const auto& [k, v] : opts_.labels) config["Labels"][k] = v;
    return config;
  }

  Result<image::ImageRecord> commit(const StageState& st) {
    json diff_ids = json::array();
    for (const auto& d : st.diff_ids) diff_ids.push_back(d.str());
    json config = {{"architecture", "amd64"},
                   {"os", "linux"},
                   {"created", nowRfc3339()},
                   {"config", withLabels(st.config)},
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

 public:
  IgnoreRules ignore_;

 private:
  const BuildOptions& opts_;
  image::ImageStore& store_;
  image::Db& cache_;
  std::string df_name_;
  std::map<std::string, std::string> global_args_;
  std::vector<StageState> stages_;
  size_t step_ = 0;
  size_t total_steps_ = 0;
};

}  // namespace

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
  auto cache = BERTH_TRY(image::Db::open(opts.root + "/build-cache.db"));
  BERTH_RETURN_IF_ERROR(
      cache->exec("CREATE TABLE IF NOT EXISTS cache(key TEXT PRIMARY KEY, layer TEXT NOT NULL, "
                  "size INTEGER NOT NULL)"));
  BERTH_RETURN_IF_ERROR(sys::mkdirAll(opts.root + "/build", 0700));
  Builder b(opts, store, *cache);
  b.ignore_ = BERTH_TRY(loadIgnoreRules(opts.context));
  return b.run(df, df_name);
}

}  // namespace berth::engine
