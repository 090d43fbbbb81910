// Containers' lifecycle: create, start, stop, kill, remove, exits and restart policies.

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "common/log.h"
#include "common/signals.h"
#include "common/strings.h"
#include "engine/cgroup_warmup.h"
#include "engine/container_spec.h"
#include "engine/container_store.h"
#include "engine/entry.h"
#include "engine/image_access.h"
#include "engine/monitor_client.h"
#include "engine/monitor_pool.h"
#include "engine/runtime_spec.h"
#include "engine/timers.h"
#include "engine/trash.h"
#include "monitor/protocol.h"
#include "runtime/container.h"
#include "sys/fs.h"
#include "sys/netns.h"
#include "sys/overlay.h"

namespace berth::engine {

std::string newHexId() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  static const char* kHex = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 4; ++i) {
    uint64_t v = rng();
    for (int j = 0; j < 16; ++j, v >>= 4) id += kHex[v & 15];
  }
  return id;
}

runtime::StateStore runtimeStore(const EngineOptions& o) {
  return runtime::StateStore(o.exec_root + "/runtime");
}

namespace {

std::string selfDir() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string p(buf, static_cast<size_t>(n));
  return p.substr(0, p.rfind('/'));
}

int64_t nsField(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_number_integer() ? j[key].get<int64_t>() : 0;
}

// The image's HEALTHCHECK, in the create body's form.
std::optional<Healthcheck> imageHealthcheck(const nlohmann::json& config) {
  const auto& cfg = config.value("config", nlohmann::json::object());
  if (!cfg.is_object() || !cfg.contains("Healthcheck") || !cfg["Healthcheck"].is_object())
    return std::nullopt;
  const auto& h = cfg["Healthcheck"];
  Healthcheck out;
  for (const auto& t : h.value("Test", nlohmann::json::array()))
    if (t.is_string()) out.test.push_back(t.get<std::string>());
  out.interval_ns = nsField(h, "Interval");
  out.timeout_ns = nsField(h, "Timeout");
  out.start_period_ns = nsField(h, "StartPeriod");
  out.retries = h.value("Retries", 0);
  if (out.test.empty()) return std::nullopt;
  return out;
}

std::string generatedName(const std::string& id) {
  static const char* kAdjectives[] = {"brave", "calm",  "eager", "fond",  "gentle", "happy",
                                      "keen",  "lucid", "merry", "noble", "quiet",  "swift"};
  static const char* kNouns[] = {"anchor", "barge", "cove", "dock", "ferry", "harbor",
                                 "jetty",  "keel",  "mast", "pier", "quay",  "wharf"};
  unsigned a = static_cast<unsigned>(std::stoul(id.substr(0, 4), nullptr, 16));
  return std::string(kAdjectives[a % 12]) + "_" + kNouns[(a / 12) % 12] + "_" + id.substr(4, 4);
}

}  // namespace

Engine::Engine(EngineOptions opts) : opts_(std::move(opts)) {}

Engine::~Engine() {
  // Stop the threads before the state they use goes away.
  timers_.reset();
  afterwards_.reset();
  pool_.reset();
  watcher_.reset();
}

Result<std::unique_ptr<Engine>> Engine::open(const EngineOptions& o) {
  EngineOptions opts = o;
  std::string here = selfDir();
  if (opts.runtime.empty()) opts.runtime = here + "/berth-runtime";
  if (opts.monitor.empty()) opts.monitor = here + "/berth-monitor";
  if (opts.init.empty()) opts.init = here + "/berth-init";
  for (const auto* p : {&opts.runtime, &opts.monitor, &opts.init}) {
    if (::access(p->c_str(), X_OK) != 0) return errnoError("berthd needs " + quote(*p), errno);
  }
  std::unique_ptr<Engine> e(new Engine(opts));
  for (const auto& d :
       {opts.root + "/containers", opts.root + "/volumes", opts.exec_root + "/runtime"})
    BERTH_RETURN_IF_ERROR(sys::mkdirAll(d, 0711));
  e->store_ = BERTH_TRY(ContainerStore::open(opts.root + "/engine.db"));
  e->images_ = BERTH_TRY(ImageAccess::open(opts.root));
  e->trash_ = BERTH_TRY(Trash::open(opts.root + "/trash"));
  e->warmup_ = std::make_unique<CgroupWarmup>();
  NetworkOptions net = opts.net;
  if (net.netns_dir.empty()) net.netns_dir = opts.exec_root + "/netns";
  e->opts_.net.netns_dir = net.netns_dir;
  e->net_ = BERTH_TRY(NetworkManager::open(net, *e->store_));
  for (auto& c : BERTH_TRY(e->store_->loadAll())) {
    auto entry = std::make_shared<Entry>();
    e->names_[c.name] = c.id;
    std::string id = c.id;
    entry->c = std::move(c);
    e->by_id_[id] = entry;
  }
  for (const auto& rec : BERTH_TRY(e->store_->loadRecords(ContainerStore::Kind::kVolume))) {
    Volume v;
    v.name = rec.value("name", "");
    v.mountpoint = opts.root + "/volumes/" + v.name + "/_data";
    v.created_ns = rec.value("created_ns", int64_t{0});
    v.labels = rec.value("labels", std::map<std::string, std::string>{});
    v.options = rec.value("options", std::map<std::string, std::string>{});
    v.anonymous = rec.value("anonymous", false);
    v.filled = rec.value("filled", false);
    if (!v.name.empty()) e->volumes_[v.name] = v;
  }
  BERTH_RETURN_IF_ERROR(e->sweepOrphans());
  Engine* self = e.get();
  e->timers_ = std::make_unique<Timers>();
  e->afterwards_ = std::make_unique<Timers>();
  e->watcher_ =
      std::make_unique<ExitWatcher>([self](const std::string& id) { self->onMonitorExit(id); });
  BERTH_RETURN_IF_ERROR(e->reconcile());
  // Two: one for the next start, one loading meanwhile (detached starts come in bursts).
  e->pool_ =
      std::make_unique<MonitorPool>(opts.monitor, opts.runtime, runtimeStore(opts).root(), 2);
  return e;
}

Status Engine::reconcile() {
  std::vector<std::shared_ptr<Entry>> all;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, e] : by_id_) all.push_back(e);
  }
  // Networks first: every address, port and namespace a live container holds is taken
  // again before anything can start (a restart policy) and ask for new ones, and before
  // the sweep of what nobody holds.
  for (auto& e : all) {
    std::lock_guard lock(e->mu);
    const ContainerState& s = e->c.state;
    if (e->c.running() && processMatches(s.monitor_pid, s.monitor_start))
      net_->restore(e->c.id, e->c.name, s.net);
  }
  BERTH_RETURN_IF_ERROR(net_->finishRestore());
  for (auto& e : all) {
    bool auto_remove = false;
    {
      std::lock_guard lock(e->mu);
      ContainerState& s = e->c.state;
      if (e->c.running()) {
        if (processMatches(s.monitor_pid, s.monitor_start)) {
          BERTH_RETURN_IF_ERROR(watcher_->watch(e->c.id, s.monitor_pid));
          if (e->c.config.healthcheck && s.status == RunState::kRunning)
            scheduleHealthcheck(e->c.id, 0, e->health_generation);
          continue;
        }
        log::warn("container " + quote(e->c.id.substr(0, 12)) +
                  " exited while berthd was down; recording its exit");
        recordExit(*e, true);
        auto_remove = e->c.config.auto_remove && e->c.state.status == RunState::kExited;
      } else if (s.status == RunState::kRestarting) {
        scheduleRestart(e->c.id, 0);
      } else if (s.status == RunState::kRemoving) {
        auto_remove = true;
      }
    }
    if (auto_remove) removeAfterExit(e);
  }
  return okStatus();
}

Status Engine::sweepOrphans() {
  std::set<std::string> known;
  for (const auto& [id, e] : by_id_) known.insert(id);
  for (const auto& id : BERTH_TRY(sys::listDir(opts_.root + "/containers"))) {
    if (known.count(id)) continue;
    log::info("container directory " + quote(id.substr(0, 12)) + " has no record; removing it");
    BERTH_RETURN_IF_ERROR(unmountRootfs(id));
    BERTH_RETURN_IF_ERROR(trash_->put(dirOf(id)));
  }
  // Runtime states without a record: an auto-removed container whose removal was recorded
  // but whose cgroups were not removed yet (removeRuntimeAfterwards), or a create that
  // crashed. Nothing runs in them any more that berthd could still watch.
  auto rs = runtimeStore(opts_);
  auto states = rs.list();
  if (!states) return states.error().context("sweep runtime states");
  for (const auto& id : *states) {
    if (known.count(id)) continue;
    log::info("runtime state " + quote(id.substr(0, 12)) + " has no record; removing it");
    if (auto r = runtime::remove(rs, id, true); !r) log::warn(r.error().message());
  }
  return okStatus();
}

void Engine::trashDir(const std::string& id) {
  if (auto t = trash_->put(dirOf(id)); !t) {
    log::warn(t.error().message());
    (void)sys::removeAll(dirOf(id));
  }
}

void Engine::removeFilesAfterwards(const std::string& id) {
  afterwards_->after(std::chrono::milliseconds(0), [this, id] {
    if (auto r = runtime::remove(runtimeStore(opts_), id, true); !r)
      log::warn(r.error().context("remove container " + quote(id.substr(0, 12))).message());
    if (auto u = unmountRootfs(id); !u) {
      log::warn(u.error().message());  // the next open() tries again (sweepOrphans)
      return;
    }
    trashDir(id);
  });
}

Status Engine::cleanup() {
  std::vector<std::string> running;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, e] : by_id_) running.push_back(id);
  }
  // In parallel (up to kParallel at a time): a container that ignores SIGTERM holds its
  // stop for the whole timeout, and one after another they added up to minutes.
  constexpr size_t kParallel = 64;
  for (size_t from = 0; from < running.size(); from += kParallel) {
    std::vector<std::thread> stopping;
    for (size_t i = from; i < std::min(running.size(), from + kParallel); ++i)
      stopping.emplace_back([this, &id = running[i]] { (void)stop(id, std::nullopt); });
    for (auto& t : stopping) t.join();
  }
  return net_->cleanup();
}

std::string Engine::dirOf(const std::string& id) const { return opts_.root + "/containers/" + id; }

Result<std::shared_ptr<Engine::Entry>> Engine::find(const std::string& ref) {
  std::lock_guard lock(mu_);
  if (auto it = by_id_.find(ref); it != by_id_.end()) return it->second;
  std::string name = ref.starts_with("/") ? ref.substr(1) : ref;
  if (auto it = names_.find(name); it != names_.end()) return by_id_.at(it->second);
  std::shared_ptr<Entry> found;
  if (!ref.empty()) {
    for (auto it = by_id_.lower_bound(ref); it != by_id_.end() && it->first.starts_with(ref);
         ++it) {
      if (found) return conflict("container reference " + quote(ref) + " is ambiguous");
      found = it->second;
    }
  }
  if (!found) return notFound("no such container: " + quote(ref));
  return found;
}

Status Engine::persist(const Container& c) { return store_->update(c); }

void Engine::notifyChanged() {
  std::lock_guard lock(changed_mu_);
  ++generation_;
  changed_cv_.notify_all();
}

bool Engine::waitFor(const std::function<bool()>& pred, const Cancelled& cancelled,
                     int64_t timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    uint64_t gen;
    {
      std::lock_guard lock(changed_mu_);
      gen = generation_;
    }
    if (pred()) return true;
    if (cancelled && cancelled()) return false;
    if (timeout_ms >= 0 && std::chrono::steady_clock::now() >= deadline) return false;
    std::unique_lock lock(changed_mu_);
    changed_cv_.wait_for(lock, std::chrono::milliseconds(100), [&] { return generation_ != gen; });
  }
}

void Engine::publish(const Container& c, const std::string& action,
                     std::map<std::string, std::string> extra) {
  Event ev;
  ev.type = "container";
  ev.action = action;
  ev.id = c.id;
  ev.attributes = c.config.labels;
  ev.attributes["name"] = c.name;
  ev.attributes["image"] = c.config.image;
  for (auto& [k, v] : extra) ev.attributes[k] = v;
  events_.publish(std::move(ev));
}

Result<std::string> Engine::create(ContainerConfig config) {
  warmup_->kick();  // a start is likely to follow
  BERTH_RETURN_IF_ERROR(validate(config));
  if (create_check_) BERTH_RETURN_IF_ERROR(create_check_(config));
  ResolvedImage image = BERTH_TRY(images_->resolve(config.image));
  // The image's defaults are settled here, once: start and stop read only the config.
  if (!config.healthcheck) config.healthcheck = imageHealthcheck(image.config);
  const nlohmann::json* cfg = image.config.contains("config") ? &image.config["config"] : nullptr;
  if (config.stop_signal.empty() && cfg && cfg->is_object() && cfg->contains("StopSignal") &&
      (*cfg)["StopSignal"].is_string())
    config.stop_signal = (*cfg)["StopSignal"].get<std::string>();
  Container c;
  c.id = newHexId();
  c.name = config.name.empty() ? generatedName(c.id) : config.name;
  c.image_id = image.id;
  c.created_ns = nowNs();
  // Volumes are made at create, as docker does; an anonymous one gets a name here.
  for (auto& m : config.mounts) {
    if (m.type != "volume") continue;
    bool anonymous = m.source.empty();
    if (anonymous) m.source = newHexId();
    std::lock_guard lock(mu_);
    if (volumes_.count(m.source)) continue;
    Volume v;
    v.name = m.source;
    v.anonymous = anonymous;
    v.created_ns = nowNs();
    v.mountpoint = opts_.root + "/volumes/" + v.name + "/_data";
    BERTH_RETURN_IF_ERROR(sys::mkdirAll(v.mountpoint, 0755));
    BERTH_RETURN_IF_ERROR(store_->putRecord(ContainerStore::Kind::kVolume, v.name, toJson(v)));
    volumes_[v.name] = v;
    events_.publish({"volume", "create", v.name, {{"driver", "local"}}, 0});
  }
  c.config = std::move(config);
  std::string dir = dirOf(c.id);
  Status made = [&]() -> Status {
    for (const char* sub : {"/rootfs", "/upper", "/work"})
      BERTH_RETURN_IF_ERROR(sys::mkdirAll(dir + sub, 0700));
    ::chmod((dir + "/upper").c_str(), 0755);
    ::chmod(dir.c_str(), 0711);
    return okStatus();
  }();
  auto entry = std::make_shared<Entry>();
  entry->c = c;
  if (made) {
    std::lock_guard lock(mu_);
    // Under mu_, so that two creates with one name cannot both pass.
    if (names_.count(c.name))
      made = alreadyExists("the container name " + quote("/" + c.name) +
                           " is already in use by container " + quote(names_[c.name]) +
                           ": remove or rename that container to reuse the name");
    else if (made = store_->insert(c); made) {
      by_id_[c.id] = entry;
      names_[c.name] = c.id;
    }
  }
  if (!made) {
    (void)sys::removeAll(dir);
    return made.error().context("create container");
  }
  publish(c, "create");
  return c.id;
}

Status Engine::unmountRootfs(const std::string& id) {
  std::string rootfs = dirOf(id) + "/rootfs";
  if (::umount2(rootfs.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    return errnoError("unmount " + quote(rootfs), errno);
  return okStatus();
}

Result<bool> Engine::start(const std::string& ref) {
  warmup_->kick();
  auto e = BERTH_TRY(find(ref));
  std::unique_lock lock(e->mu);
  if (e->removed) return notFound("no such container: " + quote(ref));
  if (e->c.running()) return false;
  if (e->c.state.status == RunState::kRemoving)
    return conflict("container " + quote(e->c.name) + " is being removed");
  e->c.state.stopped_by_user = false;
  e->backoff_ms = 0;
  Status s = startLocked(*e);
  if (!s) {
    bool remove = e->c.config.auto_remove;
    lock.unlock();
    if (remove) (void)removeLocked(e, true);
    return s.error();
  }
  return true;
}

Status Engine::startLocked(Entry& e) {
  Container& c = e.c;
  // Where a start spends its time, at --log-level debug.
  int64_t t0 = nowNs();
  auto lap = [&](const char* what) {
    log::debug("start " + c.id.substr(0, 12) + ": " + what + " at " +
               std::to_string((nowNs() - t0) / 1000) + " us");
  };
  std::string dir = dirOf(c.id);
  std::string rootfs = dir + "/rootfs";
  auto rs = runtimeStore(opts_);
  auto fail = [&](const Error& err) -> Status {
    (void)runtime::remove(rs, c.id, true);
    net_->tearDown(c.id, c.state.net);
    (void)unmountRootfs(c.id);
    c.state.status = c.state.started_ns ? RunState::kExited : RunState::kCreated;
    c.state.error = err.message();
    c.state.exit_code = 128;
    (void)persist(c);
    for (auto& p : e.pending) {
      p->error = err;
      p->done = true;
    }
    e.pending.clear();
    notifyChanged();
    return err.context("start container " + quote(c.name));
  };
  auto image = images_->byId(c.image_id);
  if (!image) return fail(image.error());
  (*image).config["id"] = image->id;
  auto lowers = images_->layers(c.image_id);
  if (!lowers) return fail(lowers.error());
  (void)runtime::remove(rs, c.id, true);  // leftovers of a crash
  (void)unmountRootfs(c.id);
  e.files_deferred = false;
  // A --rm container's writable layer is deleted with it: never flushed (volatile).
  if (auto m =
          sys::mountOverlay(*lowers, dir + "/upper", dir + "/work", rootfs, c.config.auto_remove);
      !m)
    return fail(m.error());

  RunSpec run;
  run.id = c.id;
  run.hostname = c.config.hostname.empty() ? c.id.substr(0, 12) : c.config.hostname;
  run.command = c.config.cmd;
  run.entrypoint = c.config.entrypoint;
  run.env = c.config.env;
  run.workdir = c.config.workdir;
  run.user = c.config.user;
  run.tty = c.config.tty;
  run.rootfs = rootfs;
  lap("root mounted");
  auto paths = setUpNetwork(e, image->config, run);
  if (!paths) return fail(paths.error());
  lap("network set up");
  auto spec = containerSpec(image->config, run, rootfsReader(rootfs));
  if (!spec) return fail(spec.error());
  auto mounts = resolveMounts(e, rootfs);
  if (!mounts) return fail(mounts.error());
  if (auto a = applyConfig(*spec, c.config, *mounts, *paths); !a) return fail(a.error());
  if (auto w = sys::replaceFile(dir + "/config.json", spec->dump()); !w) return fail(w.error());
  for (const char* f : {monitor::kExitFile, monitor::kInitPid, monitor::kRuntimeLog})
    ::unlink((dir + "/" + f).c_str());

  MonitorLaunch l;
  l.monitor = opts_.monitor;
  l.runtime = opts_.runtime;
  l.runtime_root = rs.root();
  l.id = c.id;
  l.dir = dir;
  l.tty = c.config.tty;
  l.open_stdin = c.config.open_stdin;
  l.log = c.config.log;
  lap("bundle written");
  auto started = launchMonitor(l, pool_.get());
  lap("created");
  if (!started) return fail(started.error());
  // Attaches made before start join now, before the container's process runs.
  for (auto& p : e.pending) {
    auto fd = connectMonitor(dir);
    if (fd)
      p->fd = std::move(*fd);
    else
      p->error = fd.error();
    p->done = true;
  }
  e.pending.clear();
  notifyChanged();
  if (auto s = runtime::start(rs, c.id); !s) {
    (void)runtime::kill(rs, c.id, SIGKILL, true);
    return fail(s.error());
  }
  lap("started");
  c.state.status = RunState::kRunning;
  c.state.pid = started->init_pid;
  c.state.monitor_pid = started->monitor_pid;
  c.state.monitor_start = started->monitor_start;
  c.state.started_ns = nowNs();
  c.state.exit_code = 0;
  c.state.error.clear();
  c.state.oom_killed = false;
  c.state.health.failing_streak = 0;
  if (c.config.healthcheck && !c.config.healthcheck->test.empty() &&
      c.config.healthcheck->test[0] != "NONE")
    c.state.health.status = "starting";
  BERTH_RETURN_IF_ERROR(persist(c));
  BERTH_RETURN_IF_ERROR(watcher_->watch(c.id, started->monitor_pid));
  lap("recorded");
  publish(c, "start");
  notifyChanged();
  if (!c.state.health.status.empty()) {
    ++e.health_generation;
    scheduleHealthcheck(c.id, 0, e.health_generation);
  }
  return okStatus();
}

void Engine::onMonitorExit(const std::string& id) {
  auto found = find(id);
  if (!found) return;
  auto e = *found;
  bool remove = false;
  {
    std::lock_guard lock(e->mu);
    if (!e->c.running() || e->removed) return;
    recordExit(*e, true);
    remove = e->c.config.auto_remove && e->c.state.status == RunState::kExited;
  }
  if (remove) removeAfterExit(e);
}

void Engine::recordExit(Entry& e, bool apply_policy) {
  Container& c = e.c;
  int64_t t0 = nowNs();
  auto lap = [&](const char* what) {
    log::debug("exit " + c.id.substr(0, 12) + ": " + what + " at " +
               std::to_string((nowNs() - t0) / 1000) + " us");
  };
  std::string dir = dirOf(c.id);
  auto rs = runtimeStore(opts_);
  auto exit = readExitFile(dir);
  if (!exit) {
    // The monitor died without recording an exit (killed): the container must not run on
    // unwatched, with nobody holding its output.
    log::warn("container " + quote(c.id.substr(0, 12)) +
              ": its monitor is gone without an exit status; killing it");
    (void)runtime::kill(rs, c.id, SIGKILL, true);
    exit = MonitorExit{137, SIGKILL, nowNs()};
  }
  bool oom = false;
  if (auto st = rs.load(c.id)) oom = runtime::oomKilled(*st);
  lap("exit read");
  const RestartPolicy& p = c.config.restart;
  bool restart = false;
  if (apply_policy && !c.state.stopped_by_user) {
    if (p.name == "always" || p.name == "unless-stopped") restart = true;
    if (p.name == "on-failure" && exit->exit_code != 0)
      restart = p.max_retries == 0 || c.state.restart_count < p.max_retries;
  }
  // An auto-removed container's removal follows at once, and its files go after the
  // answer (removeLocked).
  e.files_deferred = c.config.auto_remove && !restart;
  if (!e.files_deferred) {
    if (auto r = runtime::remove(rs, c.id, true); !r) log::warn(r.error().message());
    lap("runtime state removed");
  }
  net_->tearDown(c.id, c.state.net, true);
  lap("network torn down");
  if (!e.files_deferred) {
    if (auto u = unmountRootfs(c.id); !u) log::warn(u.error().message());
    lap("unmounted");
  }
  int64_t ran_ns = exit->finished_ns - c.state.started_ns;
  c.state.status = RunState::kExited;
  c.state.exit_code = exit->exit_code;
  c.state.finished_ns = exit->finished_ns ? exit->finished_ns : nowNs();
  c.state.oom_killed = oom;
  c.state.pid = 0;
  c.state.monitor_pid = 0;
  c.state.monitor_start = 0;
  ++e.health_generation;
  if (oom) publish(c, "oom");
  publish(c, "die", {{"exitCode", std::to_string(exit->exit_code)}});

  if (restart) {
    // Docker's back-off: 100 ms doubling up to a minute, reset after 10 s of running.
    if (ran_ns >= 10'000'000'000LL || e.backoff_ms == 0)
      e.backoff_ms = 100;
    else
      e.backoff_ms = std::min<int64_t>(e.backoff_ms * 2, 60'000);
    c.state.status = RunState::kRestarting;
  }
  // An auto-removed container's exit is not recorded on its own: its removal follows at
  // once and is the record (one flush less on `run --rm`'s path). Until then a crash finds
  // the exit file again (reconcile), so nothing acknowledged is lost.
  if (!c.config.auto_remove || restart) {
    if (auto s = persist(c); !s) log::error(s.error().message());
  }
  notifyChanged();
  if (restart) scheduleRestart(c.id, e.backoff_ms);
}

void Engine::removeAfterExit(std::shared_ptr<Entry> e) {
  if (auto s = removeLocked(e, true); !s) {
    log::error(s.error().context("remove container " + quote(e->c.id.substr(0, 12))).message());
    std::lock_guard lock(e->mu);
    if (auto p = persist(e->c); !p) log::error(p.error().message());
  }
}

void Engine::scheduleRestart(const std::string& id, int64_t delay_ms) {
  timers_->after(std::chrono::milliseconds(delay_ms), [this, id] {
    warmup_->kick();
    auto found = find(id);
    if (!found) return;
    auto e = *found;
    std::lock_guard lock(e->mu);
    if (e->removed || e->c.state.status != RunState::kRestarting) return;
    ++e->c.state.restart_count;
    publish(e->c, "restart");
    if (auto s = startLocked(*e); !s) {
      log::warn(s.error().message());
      e->c.state.status = RunState::kRestarting;
      e->backoff_ms = std::min<int64_t>(std::max<int64_t>(e->backoff_ms, 100) * 2, 60'000);
      (void)persist(e->c);
      scheduleRestart(id, e->backoff_ms);
    }
  });
}

Result<bool> Engine::stop(const std::string& ref, std::optional<int> timeout_s) {
  auto e = BERTH_TRY(find(ref));
  int timeout = 10;
  int sig = SIGTERM;
  {
    std::lock_guard lock(e->mu);
    Container& c = e->c;
    if (c.state.status == RunState::kRestarting) {
      c.state.status = RunState::kExited;
      c.state.stopped_by_user = true;
      BERTH_RETURN_IF_ERROR(persist(c));
      notifyChanged();
      return true;
    }
    if (!c.running()) return false;
    c.state.stopped_by_user = true;
    BERTH_RETURN_IF_ERROR(persist(c));
    if (timeout_s)
      timeout = *timeout_s;
    else if (c.config.stop_timeout >= 0)
      timeout = c.config.stop_timeout;
    const std::string& name = c.config.stop_signal;
    if (!name.empty()) sig = parseSignal(name).value_or(SIGTERM);
    auto rs = runtimeStore(opts_);
    if (c.state.status == RunState::kPaused) (void)runtime::resume(rs, c.id);
    if (timeout > 0) (void)runtime::kill(rs, c.id, sig, false);
  }
  auto stopped = [&] {
    std::lock_guard lock(e->mu);
    return !e->c.running();
  };
  if (timeout <= 0 || !waitFor(stopped, nullptr, static_cast<int64_t>(timeout) * 1000)) {
    {
      std::lock_guard lock(e->mu);
      if (e->c.running()) (void)runtime::kill(runtimeStore(opts_), e->c.id, SIGKILL, true);
    }
    if (!waitFor(stopped, nullptr, 30'000))
      return internalError("stop container " + quote(ref) + ": it did not exit 30 s after SIGKILL");
  }
  {
    std::lock_guard lock(e->mu);
    publish(e->c, "stop");
  }
  return true;
}

Status Engine::restart(const std::string& ref, std::optional<int> timeout_s) {
  BERTH_RETURN_IF_ERROR(stop(ref, timeout_s));
  BERTH_RETURN_IF_ERROR(start(ref));
  auto e = BERTH_TRY(find(ref));
  std::lock_guard lock(e->mu);
  publish(e->c, "restart");
  return okStatus();
}

Status Engine::kill(const std::string& ref, int signal) {
  auto e = BERTH_TRY(find(ref));
  std::lock_guard lock(e->mu);
  Container& c = e->c;
  if (!c.running())
    return conflict("cannot kill container " + quote(c.name) + ": it is not running");
  c.state.stopped_by_user = true;
  BERTH_RETURN_IF_ERROR(persist(c));
  BERTH_RETURN_IF_ERROR(runtime::kill(runtimeStore(opts_), c.id, signal, false));
  publish(c, "kill", {{"signal", std::to_string(signal)}});
  return okStatus();
}

Status Engine::pause(const std::string& ref) {
  auto e = BERTH_TRY(find(ref));
  std::lock_guard lock(e->mu);
  Container& c = e->c;
  if (c.state.status != RunState::kRunning)
    return conflict("cannot pause container " + quote(c.name) + ": it is " +
                    runStateName(c.state.status));
  BERTH_RETURN_IF_ERROR(runtime::pause(runtimeStore(opts_), c.id));
  c.state.status = RunState::kPaused;
  BERTH_RETURN_IF_ERROR(persist(c));
  publish(c, "pause");
  notifyChanged();
  return okStatus();
}

Status Engine::unpause(const std::string& ref) {
  auto e = BERTH_TRY(find(ref));
  std::lock_guard lock(e->mu);
  Container& c = e->c;
  if (c.state.status != RunState::kPaused)
    return conflict("cannot unpause container " + quote(c.name) + ": it is not paused");
  BERTH_RETURN_IF_ERROR(runtime::resume(runtimeStore(opts_), c.id));
  c.state.status = RunState::kRunning;
  BERTH_RETURN_IF_ERROR(persist(c));
  publish(c, "unpause");
  notifyChanged();
  return okStatus();
}

Status Engine::rename(const std::string& ref, const std::string& new_name) {
  std::string name = new_name.starts_with("/") ? new_name.substr(1) : new_name;
  if (!validName(name))
    return invalidArgument("invalid container name " + quote(name) +
                           ": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  auto e = BERTH_TRY(find(ref));
  std::lock_guard lock(e->mu);
  std::lock_guard names(mu_);
  if (names_.count(name))
    return alreadyExists("the container name " + quote("/" + name) + " is already in use");
  Container updated = e->c;
  updated.name = name;
  BERTH_RETURN_IF_ERROR(store_->update(updated));
  names_.erase(e->c.name);
  names_[name] = e->c.id;
  std::string old = e->c.name;
  e->c = updated;
  net_->renamed(e->c.id, name, e->c.state.net);
  publish(e->c, "rename", {{"oldName", "/" + old}});
  return okStatus();
}

Status Engine::remove(const std::string& ref, bool force, bool remove_volumes) {
  auto e = BERTH_TRY(find(ref));
  {
    std::lock_guard lock(e->mu);
    Container& c = e->c;
    if (c.running()) {
      if (!force)
        return conflict("cannot remove running container " + quote(c.name) +
                        ": stop it first or use --force");
      c.state.stopped_by_user = true;
      (void)runtime::kill(runtimeStore(opts_), c.id, SIGKILL, true);
    } else if (c.state.status == RunState::kRestarting) {
      c.state.status = RunState::kExited;
      c.state.stopped_by_user = true;
    }
  }
  bool stopped = waitFor(
      [&] {
        std::lock_guard lock(e->mu);
        return !e->c.running();
      },
      nullptr, 30'000);
  if (!stopped) return internalError("remove container " + quote(ref) + ": it did not stop");
  return removeLocked(e, remove_volumes);
}

Status Engine::removeLocked(std::shared_ptr<Entry> e, bool remove_volumes) {
  std::vector<std::string> anonymous;
  {
    std::lock_guard lock(e->mu);
    if (e->removed) return okStatus();
    Container& c = e->c;
    if (!e->files_deferred) {
      BERTH_RETURN_IF_ERROR(unmountRootfs(c.id));
      (void)runtime::remove(runtimeStore(opts_), c.id, true);
    }
    // The record goes first: once it is gone the container is, and a crash from here on
    // leaves only files, which the next open() sweeps (sweepOrphans). The directory goes
    // to the trash, deleted after the answer.
    BERTH_RETURN_IF_ERROR(store_->remove(c.id));
    if (e->files_deferred)
      removeFilesAfterwards(c.id);
    else
      trashDir(c.id);
    {
      std::lock_guard names(mu_);
      by_id_.erase(c.id);
      names_.erase(c.name);
      // Exec records live as long as their container, for `exec inspect` after the fact.
      std::erase_if(execs_, [&](const auto& x) { return x.second->container_id == c.id; });
      if (remove_volumes) {
        for (const auto& m : c.config.mounts) {
          auto v = volumes_.find(m.source);
          if (m.type == "volume" && v != volumes_.end() && v->second.anonymous)
            anonymous.push_back(m.source);
        }
      }
    }
    e->removed = true;
    publish(c, "destroy");
  }
  notifyChanged();
  for (const auto& v : anonymous) (void)volumeRemove(v, false);
  return okStatus();
}

Result<WaitResult> Engine::wait(const std::string& ref, WaitCondition condition,
                                const Cancelled& cancelled) {
  auto e = BERTH_TRY(find(ref));
  int64_t finished_before;
  {
    std::lock_guard lock(e->mu);
    finished_before = e->c.state.finished_ns;
  }
  WaitResult out;
  bool met = waitFor(
      [&] {
        std::lock_guard lock(e->mu);
        out.exit_code = e->c.state.exit_code;
        out.error = e->c.state.error;
        switch (condition) {
          case WaitCondition::kRemoved:
            return e->removed;
          case WaitCondition::kNextExit:
            return e->removed || (e->c.state.finished_ns != finished_before && !e->c.running());
          case WaitCondition::kNotRunning:
            return e->removed || (!e->c.running() && e->c.state.status != RunState::kRestarting);
        }
        return true;
      },
      cancelled, -1);
  if (!met) return unavailable("wait for container " + quote(ref) + ": cancelled");
  return out;
}

}  // namespace berth::engine
