// The Catalog: this node's registrations kept in the Store under its lease, and the mirror
// of everyone's fed by one watch (catalog.h).
//
// Threads: the watcher applies the watch's events to the mirror (and reloads the whole
// catalog when the watch fails, e.g. compacted); the keeper keeps the lease alive every
// ttl/3, grants a new one and puts this node's instances back when it was lost, writes
// what a failed write left behind, and removes an earlier run's leftovers.
//
// The state file (CatalogOptions::state_file), format version 1:
//   {"version":1,"instances":[instance…]}   the API registrations, as toJson writes them
// written whole (temp file, fsync, rename) whenever one is added or removed.

#include "catalog/catalog.h"

#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "catalog/health.h"
#include "catalog/mirror.h"
#include "common/log.h"
#include "common/strings.h"
#include "sys/fs.h"

namespace berth::catalog {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr int kStateVersion = 1;
// Retries while the Store is unreachable: from kRetryMin, doubling, up to kRetryMax.
constexpr auto kRetryMin = 500ms;
constexpr auto kRetryMax = 10s;
// How long the watcher blocks in one next(); cancel() wakes it sooner.
constexpr auto kWatchWait = 10s;

std::string describe(const std::string& service, const std::string& id) {
  return "instance " + quote(id) + " of service " + quote(service);
}

Result<std::vector<Instance>> readState(const std::string& path) {
  std::vector<Instance> out;
  if (path.empty() || !sys::exists(path)) return out;
  auto bad = [&](const std::string& why) {
    return invalidArgument("read the catalog's state " + quote(path) + ": " + why +
                           " (fix or remove the file)");
  };
  auto text = sys::readFile(path);
  if (!text) return text.error();
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  if (!j.contains("version") || j["version"] != kStateVersion)
    return bad("unknown version " + (j.contains("version") ? j["version"].dump() : "(none)"));
  if (!j.contains("instances") || !j["instances"].is_array()) return bad("no instance list");
  for (const json& e : j["instances"]) {
    auto in = instanceFromJson(e);
    if (!in) return bad(in.error().message());
    out.push_back(std::move(*in));
  }
  return out;
}

bool sameCheckTarget(const Instance& a, const Instance& b) {
  return a.check == b.check && a.address == b.address && a.port == b.port &&
         a.container == b.container;
}

Result<std::string> hostName() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) return errnoError("gethostname", errno);
  return std::string(host);
}

}  // namespace

struct Catalog::Impl {
  // An instance this node registered: what it keeps in the Store.
  struct Owned {
    Instance instance;
    bool persist = false;          // an API registration, kept in state_file
    uint64_t generation = 0;       // a new one for every registration
    store::Revision revision = 0;  // of our last write of it
    bool dirty = false;            // the Store lacks its latest version: the keeper writes it
  };
  // An instance of this node from an earlier run, removed unless registered again.
  struct Leftover {
    std::string key;
    store::Revision revision;
  };

  Impl(store::Store& s, CatalogOptions o) : store(s), options(std::move(o)) {}

  Status start(std::vector<Instance> saved);
  void shutdown();

  Result<store::Revision> registerInstance(Instance in, bool persist);
  Result<store::Revision> deregister(const std::string& service, const std::string& id);
  Result<store::Revision> deregisterOther(const std::string& service, const std::string& id);
  void writeHealth(const CheckReport& report);
  // Starts or stops the check of an instance just written.
  void checkLocked(const std::string& key, const Owned& o);

  // REQUIRES: write_mu held, for all of these.
  Result<store::Revision> putLocked(const std::string& key);
  Status renewLeaseLocked();
  Status flushLocked();
  Status saveStateLocked();
  void sweepLeftoversLocked();

  Status reload();
  void watchLoop();
  Status keepAliveOnce();
  void keepAliveLoop();
  // Waits `d` or until shutdown; true when shutting down (or the keep-alive was stopped,
  // if `keeper`).
  bool pause(std::chrono::milliseconds d, bool keeper);

  store::Store& store;
  const CatalogOptions options;
  Mirror mirror;

  // Serialises this node's writes (held across Store calls).
  std::mutex write_mu;
  std::map<std::string, Owned> owned;  // GUARDED_BY(write_mu); by key
  store::LeaseId lease = 0;            // GUARDED_BY(write_mu)
  uint64_t generations = 0;            // GUARDED_BY(write_mu)
  std::vector<Leftover> leftovers;     // GUARDED_BY(write_mu)
  Clock::time_point leftovers_deadline;

  std::mutex run_mu;
  std::condition_variable run_cv;
  bool stopping = false;                // GUARDED_BY(run_mu)
  bool keep_alive_stopped = false;      // GUARDED_BY(run_mu)
  std::unique_ptr<store::Watch> watch;  // GUARDED_BY(run_mu); only the watcher replaces it
  std::thread watcher;
  std::thread keeper;
  std::unique_ptr<HealthChecker> checker;
};

Status Catalog::Impl::start(std::vector<Instance> saved) {
  auto granted = store.grantLease(options.lease_ttl);
  if (!granted) return granted.error().context("grant the lease of node " + quote(options.node));
  auto all = store.range(std::string(kCatalogRoot));
  if (!all) return all.error().context("read the catalog");
  mirror.load(all->kvs, all->revision);
  auto w = store.watch(std::string(kCatalogRoot), all->revision + 1);
  if (!w) return w.error().context("watch the catalog");
  watch = std::move(*w);

  std::lock_guard lock(write_mu);
  lease = granted->id;
  for (const store::KeyValue& kv : all->kvs) {
    auto in = readInstance(kv);
    if (in && in->node == options.node) leftovers.push_back({kv.key, kv.mod_revision});
  }
  leftovers_deadline = Clock::now() + options.lease_ttl;
  for (Instance& in : saved) {
    in.node = options.node;
    std::string key = instanceKey(in.service, in.id);
    Status valid = validate(in);
    if (!valid)
      return valid.error().context("register " + describe(in.service, in.id) + " from " +
                                   quote(options.state_file) + " again");
    owned[key] = {std::move(in), true, ++generations, 0, true};
  }
  BERTH_RETURN_IF_ERROR(flushLocked());
  checker = std::make_unique<HealthChecker>(options.run_command,
                                            [this](const CheckReport& r) { writeHealth(r); });
  for (const auto& [key, o] : owned) checkLocked(key, o);
  watcher = std::thread([this] { watchLoop(); });
  keeper = std::thread([this] { keepAliveLoop(); });
  return okStatus();
}

void Catalog::Impl::shutdown() {
  checker.reset();  // no health writes from here on
  {
    std::lock_guard lock(run_mu);
    stopping = true;
    if (watch) watch->cancel();
  }
  run_cv.notify_all();
  if (keeper.joinable()) keeper.join();
  {
    std::lock_guard lock(write_mu);
    if (lease != 0) {
      Status s = store.revokeLease(lease);
      if (!s && s.error().code() != ErrorCode::kNotFound)
        log::warn("catalog: revoke the lease of node " + quote(options.node) + ": " +
                  s.error().message());
    }
  }
  if (watcher.joinable()) watcher.join();
}

Result<store::Revision> Catalog::Impl::registerInstance(Instance in, bool persist) {
  in.node = options.node;
  in.health = in.check.kind == Check::Kind::kNone ? Health::kPassing : Health::kCritical;
  in.output.clear();
  std::string what = "register " + describe(in.service, in.id);
  Status valid = validate(in);
  if (!valid) return valid.error().context(what);

  std::string key = instanceKey(in.service, in.id);
  std::lock_guard lock(write_mu);
  std::optional<Owned> previous;
  if (auto it = owned.find(key); it != owned.end()) previous = it->second;
  // Registered again with the same check on the same target (a registrar that repeats
  // itself): the check runs on and the instance keeps its health.
  bool same_check =
      previous && in.check.kind != Check::Kind::kNone && sameCheckTarget(previous->instance, in);
  uint64_t generation = same_check ? previous->generation : ++generations;
  if (same_check) {
    in.health = previous->instance.health;
    in.output = previous->instance.output;
  }
  owned[key] = {std::move(in), persist, generation, 0, false};
  bool state_changes = persist || (previous && previous->persist);
  auto undo = [&] {
    if (previous) {
      owned[key] = *previous;
    } else {
      owned.erase(key);
    }
    if (state_changes) (void)saveStateLocked();
  };
  if (state_changes) {
    Status saved = saveStateLocked();
    if (!saved) {
      undo();
      return saved.error().context(what);
    }
  }
  auto revision = putLocked(key);
  if (!revision) {
    undo();
    return revision.error().context(what);
  }
  if (!same_check) checkLocked(key, owned.at(key));
  return *revision;
}

void Catalog::Impl::checkLocked(const std::string& key, const Owned& o) {
  if (o.instance.check.kind == Check::Kind::kNone) {
    checker->stop(key);
  } else {
    checker->start(key, o.generation, o.instance);
  }
}

// Only transitions come here. The write compares the key's mod_revision with our last
// write of it: an instance deleted meanwhile (deregistered, or replaced by another node)
// is never written back.
void Catalog::Impl::writeHealth(const CheckReport& report) {
  std::lock_guard lock(write_mu);
  auto it = owned.find(report.key);
  if (it == owned.end() || it->second.generation != report.generation) return;
  Owned& o = it->second;
  o.instance.health = report.health;
  o.instance.output = report.output;
  if (o.dirty) return;  // the keeper writes it, with this health
  store::Txn txn;
  txn.compares = {store::Compare::modRevisionIs(report.key, o.revision)};
  txn.then = {store::Op::put(report.key, toJson(o.instance).dump(), lease)};
  auto done = store.txn(txn);
  if (!done) {
    o.dirty = true;
    log::warn("catalog: write the health of " + describe(o.instance.service, o.instance.id) + ": " +
              done.error().message() + ": retrying");
  } else if (done->succeeded) {
    o.revision = done->revision;
  }
}

Result<store::Revision> Catalog::Impl::deregister(const std::string& service,
                                                  const std::string& id) {
  std::string key = instanceKey(service, id);
  std::unique_lock lock(write_mu);
  auto it = owned.find(key);
  if (it == owned.end()) {
    lock.unlock();
    return deregisterOther(service, id);
  }
  Owned was = std::move(it->second);
  owned.erase(it);
  std::string what = "deregister " + describe(service, id);
  if (was.persist) {
    Status saved = saveStateLocked();
    if (!saved) {
      owned[key] = std::move(was);
      return saved.error().context(what);
    }
  }
  auto deleted = store.del(key);
  if (!deleted) {
    owned[key] = std::move(was);
    if (owned[key].persist) (void)saveStateLocked();
    return deleted.error().context(what);
  }
  checker->stop(key);
  // Nothing deleted (the lease had lapsed): the mirror has seen no revision of ours to wait
  // for.
  return deleted->deleted > 0 ? deleted->revision : mirror.index();
}

// An instance this daemon does not keep: an earlier run's, or another node's (refused:
// that node would put it back).
Result<store::Revision> Catalog::Impl::deregisterOther(const std::string& service,
                                                       const std::string& id) {
  std::string key = instanceKey(service, id);
  std::string what = "deregister " + describe(service, id);
  auto kv = store.get(key);
  if (!kv) return kv.error().context(what);
  if (!*kv) return notFound("service " + quote(service) + " has no instance " + quote(id));
  auto in = readInstance(**kv);
  if (in && in->node != options.node)
    return conflict(what + ": it belongs to node " + quote(in->node) + ": deregister it there");
  store::Txn txn;
  txn.compares = {store::Compare::modRevisionIs(key, (*kv)->mod_revision)};
  txn.then = {store::Op::del(key)};
  auto done = store.txn(txn);
  if (!done) return done.error().context(what);
  if (!done->succeeded) return conflict(what + ": it changed meanwhile: try again");
  return done->revision;
}

Result<store::Revision> Catalog::Impl::putLocked(const std::string& key) {
  Owned& o = owned.at(key);
  auto revision = store.put(key, toJson(o.instance).dump(), lease);
  if (revision) {
    o.revision = *revision;
    return revision;
  }
  if (revision.error().code() != ErrorCode::kNotFound) return revision.error();
  // The lease lapsed before the keeper noticed: renew it now (which writes `key` too).
  BERTH_RETURN_IF_ERROR(renewLeaseLocked());
  return owned.at(key).revision;
}

Status Catalog::Impl::renewLeaseLocked() {
  auto granted = store.grantLease(options.lease_ttl);
  if (!granted) return granted.error().context("grant a new lease to node " + quote(options.node));
  lease = granted->id;
  for (auto& [key, o] : owned) o.dirty = true;
  return flushLocked();
}

Status Catalog::Impl::flushLocked() {
  for (auto& [key, o] : owned) {
    if (!o.dirty) continue;
    auto revision = store.put(key, toJson(o.instance).dump(), lease);
    if (!revision)
      return revision.error().context("write " + describe(o.instance.service, o.instance.id));
    o.revision = *revision;
    o.dirty = false;
  }
  return okStatus();
}

Status Catalog::Impl::saveStateLocked() {
  if (options.state_file.empty()) return okStatus();
  json list = json::array();
  for (const auto& [key, o] : owned) {
    if (!o.persist) continue;
    json j = toJson(o.instance);
    j.erase("health");  // a check starts again after a restart
    j.erase("output");
    list.push_back(std::move(j));
  }
  json state = {{"version", kStateVersion}, {"instances", std::move(list)}};
  return sys::writeFileAtomic(options.state_file, state.dump(2) + "\n", 0600);
}

void Catalog::Impl::sweepLeftoversLocked() {
  if (leftovers.empty() || Clock::now() < leftovers_deadline) return;
  for (const Leftover& l : leftovers) {
    if (owned.contains(l.key)) continue;
    store::Txn txn;
    txn.compares = {store::Compare::modRevisionIs(l.key, l.revision)};
    txn.then = {store::Op::del(l.key)};
    auto done = store.txn(txn);
    if (!done)
      log::warn("catalog: remove " + quote(l.key) +
                " left from an earlier run: " + done.error().message());
  }
  leftovers.clear();
}

bool Catalog::Impl::pause(std::chrono::milliseconds d, bool keeper) {
  std::unique_lock lock(run_mu);
  auto done = [&] { return stopping || (keeper && keep_alive_stopped); };
  run_cv.wait_for(lock, d, done);
  return done();
}

Status Catalog::Impl::reload() {
  auto all = store.range(std::string(kCatalogRoot));
  if (!all) return all.error().context("read the catalog");
  mirror.load(all->kvs, all->revision);
  auto w = store.watch(std::string(kCatalogRoot), all->revision + 1);
  if (!w) return w.error().context("watch the catalog");
  std::lock_guard lock(run_mu);
  if (!stopping) watch = std::move(*w);
  return okStatus();
}

void Catalog::Impl::watchLoop() {
  std::chrono::milliseconds backoff = kRetryMin;
  while (true) {
    store::Watch* w = nullptr;
    {
      std::lock_guard lock(run_mu);
      if (stopping) return;
      w = watch.get();
    }
    if (w == nullptr) {
      Status s = reload();
      if (s) {
        backoff = kRetryMin;
        continue;
      }
      log::warn("catalog: " + s.error().message() + ": retrying");
      if (pause(backoff, false)) return;
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, kRetryMax);
      continue;
    }
    auto events = w->next(kWatchWait);
    if (events) {
      if (!events->empty()) mirror.apply(*events);
      continue;
    }
    std::lock_guard lock(run_mu);
    if (stopping) return;
    // Compacted (the watch fell too far behind) or broken: read everything again.
    if (!store::isCompacted(events.error()))
      log::warn("catalog: watch: " + events.error().message() + ": reading the catalog again");
    watch.reset();
  }
}

Status Catalog::Impl::keepAliveOnce() {
  store::LeaseId id;
  {
    std::lock_guard lock(write_mu);
    id = lease;
  }
  auto kept = store.keepAlive(id);
  std::lock_guard lock(write_mu);
  if (!kept) {
    if (kept.error().code() != ErrorCode::kNotFound) return kept.error();
    if (lease == id) {
      log::warn("catalog: the lease of node " + quote(options.node) +
                " lapsed: registering its instances again under a new one");
      BERTH_RETURN_IF_ERROR(renewLeaseLocked());
    }
  }
  BERTH_RETURN_IF_ERROR(flushLocked());
  sweepLeftoversLocked();
  return okStatus();
}

void Catalog::Impl::keepAliveLoop() {
  const auto tick = std::chrono::milliseconds(options.lease_ttl) / 3;
  std::chrono::milliseconds backoff = std::min<std::chrono::milliseconds>(kRetryMin, tick);
  bool failing = false;
  while (!pause(failing ? backoff : tick, true)) {
    Status s = keepAliveOnce();
    if (s) {
      if (failing) log::info("catalog: the store answers again: node's lease kept alive");
      failing = false;
      backoff = std::min<std::chrono::milliseconds>(kRetryMin, tick);
      continue;
    }
    if (failing) {
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, kRetryMax);
    } else {
      log::warn("catalog: keep the lease of node " + quote(options.node) +
                " alive: " + s.error().message() + ": retrying with back-off");
    }
    failing = true;
  }
}

Result<std::unique_ptr<Catalog>> Catalog::open(store::Store& store, CatalogOptions options) {
  if (options.node.empty()) options.node = BERTH_TRY(hostName());
  if (options.lease_ttl < std::chrono::seconds(1))
    return invalidArgument("open the catalog: lease TTL " +
                           std::to_string(options.lease_ttl.count()) + "s: must be at least 1s");
  auto saved = readState(options.state_file);
  if (!saved) return saved.error().context("open the catalog");
  std::unique_ptr<Catalog> catalog(new Catalog(std::make_unique<Impl>(store, std::move(options))));
  Status started = catalog->impl_->start(std::move(*saved));
  if (!started) return started.error().context("open the catalog");
  return catalog;
}

Catalog::Catalog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Catalog::~Catalog() { impl_->shutdown(); }

Result<store::Revision> Catalog::registerInstance(Instance in, bool persist) {
  return impl_->registerInstance(std::move(in), persist);
}

Result<store::Revision> Catalog::deregister(const std::string& service, const std::string& id) {
  return impl_->deregister(service, id);
}

Status Catalog::deregisterContainer(const std::string& container) {
  std::vector<std::pair<std::string, std::string>> mine;
  {
    std::lock_guard lock(impl_->write_mu);
    for (const auto& [key, o] : impl_->owned)
      if (o.instance.container == container) mine.emplace_back(o.instance.service, o.instance.id);
  }
  Status first;
  for (const auto& [service, id] : mine) {
    auto done = deregister(service, id);
    if (!done && done.error().code() != ErrorCode::kNotFound && first) first = done.error();
  }
  return first;
}

store::Revision Catalog::index() const { return impl_->mirror.index(); }

store::Revision Catalog::serviceIndex(const std::string& service) const {
  return impl_->mirror.serviceIndex(service);
}

std::vector<ServiceSummary> Catalog::services() const { return impl_->mirror.services(); }

std::vector<Instance> Catalog::instances(const std::string& service, bool passing_only,
                                         const std::string& tag) const {
  return impl_->mirror.instances(service, passing_only, tag);
}

store::Revision Catalog::waitChange(const std::string& service, store::Revision after,
                                    std::chrono::milliseconds timeout,
                                    const std::function<bool()>& cancelled) {
  return impl_->mirror.waitChange(service, after, timeout, cancelled);
}

void Catalog::onChange(std::function<void()> fn) { impl_->mirror.onChange(std::move(fn)); }

const std::string& Catalog::node() const { return impl_->options.node; }

void Catalog::stopKeepAliveForTest() {
  {
    std::lock_guard lock(impl_->run_mu);
    impl_->keep_alive_stopped = true;
  }
  impl_->run_cv.notify_all();
}

}  // namespace berth::catalog
