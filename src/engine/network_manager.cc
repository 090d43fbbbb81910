#include "engine/network_manager.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>

#include "common/log.h"
#include "common/strings.h"
#include "engine/container_store.h"
#include "engine/entry.h"
#include "network/bridge_driver.h"
#include "network/dns_server.h"
#include "network/driver.h"
#include "network/ipam.h"
#include "network/ruleset.h"
#include "sys/connect_redirect.h"
#include "sys/fd.h"
#include "sys/fs.h"
#include "sys/netlink.h"
#include "sys/netns.h"
#include "sys/nftables.h"

namespace berth::engine {

using network::Ipv4;
using nlohmann::json;

json toJson(const Network& n) {
  return {{"version", 1},
          {"id", n.id},
          {"name", n.name},
          {"driver", n.driver},
          {"subnet", n.subnet},
          {"gateway", n.gateway},
          {"ip_range", n.ip_range},
          {"internal", n.internal},
          {"options", n.options},
          {"labels", n.labels},
          {"created_ns", n.created_ns},
          {"interface", n.interface}};
}

Result<Network> networkFromJson(const json& j) {
  try {
    Network n;
    n.id = j.at("id").get<std::string>();
    n.name = j.at("name").get<std::string>();
    n.driver = j.at("driver").get<std::string>();
    n.subnet = j.value("subnet", "");
    n.gateway = j.value("gateway", "");
    n.ip_range = j.value("ip_range", "");
    n.internal = j.value("internal", false);
    n.options = j.value("options", std::map<std::string, std::string>{});
    n.labels = j.value("labels", std::map<std::string, std::string>{});
    n.created_ns = j.value("created_ns", int64_t{0});
    n.interface = j.value("interface", "");
    return n;
  } catch (const json::exception& e) {
    return invalidArgument(std::string("network record: ") + e.what());
  }
}

namespace {

// Host ends of veths are "vb" + 12 random hex: under the kernel's 15 characters,
// recognisable as ours, and never the name of one the kernel is still removing.
std::string hostIf() { return "vb" + newHexId().substr(0, 12); }

bool isBridge(const Network& n) { return n.driver == "bridge"; }

// Whether a host port can be bound now: something listening there (or bound) would be
// shadowed by the DNAT rule and never see its traffic.
Status portFree(const PortBinding& p) {
  int type = p.protocol == "udp" ? SOCK_DGRAM : SOCK_STREAM;
  sys::Fd s(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  if (!s.valid()) return errnoError("check port", errno);
  // A connection of the past in TIME_WAIT on this port is no user: only a socket bound or
  // listening now is.
  int one = 1;
  ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(p.host_port));
  a.sin_addr.s_addr = htonl(p.host_ip.empty() ? INADDR_ANY : *network::parseIpv4(p.host_ip));
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::string where = (p.host_ip.empty() ? "0.0.0.0" : p.host_ip) + ":" +
                        std::to_string(p.host_port) + "/" + p.protocol;
    if (errno == EADDRINUSE)
      return conflict("publish " + where +
                      ": the port is already in use on the host: choose another host port");
    if (errno == EADDRNOTAVAIL)
      return invalidArgument("publish " + where + ": " + p.host_ip +
                             " is not an address of this host");
    return errnoError("publish " + where, errno);
  }
  return okStatus();
}

bool samePort(const PortBinding& a, const PortBinding& b) {
  return a.protocol == b.protocol && a.host_port == b.host_port &&
         (a.host_ip.empty() || b.host_ip.empty() || a.host_ip == b.host_ip);
}

}  // namespace

NetworkManager::NetworkManager(NetworkOptions opts, ContainerStore& store)
    : opts_(std::move(opts)), store_(store) {}

NetworkManager::~NetworkManager() {
  dns_.reset();  // its thread calls answer(), which reads what is destroyed below
  {
    std::lock_guard lock(pool_mu_);
    stopping_ = true;
  }
  pool_cv_.notify_all();
  if (filler_.joinable()) filler_.join();
  // Their veths go with them.
  for (const auto& p : pool_) (void)sys::removeNetns(p.path);
}

namespace {
// Ready namespaces: most containers join the default bridge.
constexpr size_t kPlain = 2, kBridged = 4;
}  // namespace

Result<NetworkManager::Prepared> NetworkManager::prepare(bool bridged) {
  Prepared p;
  p.path = opts_.netns_dir + "/" + newHexId().substr(0, 24);
  auto ns = sys::createNetns(p.path);
  if (!ns) return ns.error().context("create network namespace");
  if (bridged) {
    Network bridge;
    {
      std::lock_guard lock(mu_);
      for (const auto& [id, n] : networks_)
        if (n.name == "bridge") bridge = n;
    }
    p.host_if = hostIf();
    auto* d = static_cast<network::BridgeDriver*>(network::findDriver("bridge"));
    if (auto s = d->plug(specOf(bridge), p.host_if, "eth0", ns->get()); !s) {
      (void)sys::removeNetns(p.path);
      return s.error();
    }
  }
  return p;
}
void NetworkManager::fillPool() {
  std::unique_lock lock(pool_mu_);
  while (!stopping_) {
    if (!reap_.empty()) {
      std::string name = reap_.back();
      reap_.pop_back();
      lock.unlock();
      if (auto nl = sys::Netlink::open()) {
        if (auto i = nl->linkIndex(name)) (void)nl->deleteLink(*i);
      }
      lock.lock();
      continue;
    }
    size_t bridged = std::count_if(pool_.begin(), pool_.end(),
                                   [](const Prepared& p) { return !p.host_if.empty(); });
    size_t plain = pool_.size() - bridged;
    if (bridged >= kBridged && plain >= kPlain && reap_.empty()) {
      pool_cv_.wait(lock);
      continue;
    }
    lock.unlock();
    auto p = prepare(bridged < kBridged);
    lock.lock();
    if (!p) {
      log::warn("prepare a network namespace: " + p.error().message());
      pool_cv_.wait_for(lock, std::chrono::seconds(1));
      continue;
    }
    pool_.push_back(*p);
  }
}

Result<NetworkManager::Prepared> NetworkManager::takeNamespace(bool bridged, sys::Fd& fd) {
  std::optional<Prepared> got;
  {
    std::lock_guard lock(pool_mu_);
    auto it = std::find_if(pool_.begin(), pool_.end(),
                           [&](const Prepared& p) { return p.host_if.empty() != bridged; });
    if (it != pool_.end()) {
      got = *it;
      pool_.erase(it);
    }
  }
  pool_cv_.notify_one();
  if (got) {
    if (auto f = sys::openNetns(got->path)) {
      fd = std::move(*f);
      return *got;
    }
    (void)sys::removeNetns(got->path);
  }
  auto p = BERTH_TRY(prepare(false));
  auto f = sys::openNetns(p.path);
  if (!f) {
    (void)sys::removeNetns(p.path);
    return f.error();
  }
  fd = std::move(*f);
  return p;
}

Result<std::unique_ptr<NetworkManager>> NetworkManager::open(NetworkOptions opts,
                                                             ContainerStore& store) {
  std::unique_ptr<NetworkManager> m(new NetworkManager(std::move(opts), store));
  BERTH_RETURN_IF_ERROR(sys::mkdirAll(m->opts_.netns_dir, 0711));
  for (const auto& rec : BERTH_TRY(store.loadRecords(ContainerStore::Kind::kNetwork))) {
    auto n = networkFromJson(rec);
    if (!n) return n.error();
    m->networks_[n->id] = *n;
  }
  std::string host_resolv = sys::readFile(m->opts_.resolv_conf).value_or("");
  NetworkManager* self = m.get();
  network::DnsServerOptions dns_opts;
  // One serving thread per core, up to 4 (bench/dns.sh): answer() may run on all at once.
  dns_opts.threads = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4);
  m->dns_ = std::make_unique<network::DnsServer>(
      [self](const network::DnsQuestion& q) { return self->answer(q); },
      network::nameserversFrom(host_resolv), dns_opts);
  BERTH_RETURN_IF_ERROR(m->ensureBuiltins());
  std::vector<Network> all;
  for (const auto& [id, n] : m->networks_) all.push_back(n);
  for (const auto& n : all) {
    if (auto s = m->bringUp(n); !s)
      log::warn("network " + quote(n.name) + ": " + s.error().message());
  }
  BERTH_RETURN_IF_ERROR(m->applyChains());
  if (auto r = sys::ConnectRedirect::open())
    m->redirect_ = std::move(*r);
  else
    log::info("published ports: the host's own clients go through DNAT: " + r.error().message());
  return m;
}

Status NetworkManager::ensureBuiltins() {
  auto bip = opts_.bridge_cidr;
  auto slash = bip.find('/');
  if (slash == std::string::npos)
    return invalidArgument("--bip " + quote(bip) + ": an address with its prefix (10.88.0.1/16)");
  auto gw = network::parseIpv4(bip.substr(0, slash));
  if (!gw) return gw.error().context("--bip");
  auto prefix = network::parseSubnet("0.0.0.0/" + bip.substr(slash + 1));
  if (!prefix) return prefix.error().context("--bip");
  network::Subnet subnet{*gw & prefix->mask(), prefix->prefix};
  struct Builtin {
    const char* name;
    const char* driver;
  };
  for (Builtin b :
       {Builtin{"bridge", "bridge"}, Builtin{"host", "host"}, Builtin{"none", "null"}}) {
    Network* have = nullptr;
    for (auto& [id, n] : networks_) {
      if (n.name == b.name) have = &n;
    }
    Network n = have ? *have : Network{};
    if (!have) {
      n.id = newHexId();
      n.name = b.name;
      n.driver = b.driver;
      n.created_ns = nowNs();
    }
    Network before = n;
    if (n.name == "bridge") {
      n.subnet = subnet.str();
      n.gateway = network::formatIpv4(*gw);
      n.interface = opts_.bridge;
    }
    if (!have || toJson(before) != toJson(n) || n.interface != before.interface) {
      BERTH_RETURN_IF_ERROR(store_.putRecord(ContainerStore::Kind::kNetwork, n.name, toJson(n)));
    }
    if (have && have->interface != n.interface && !have->interface.empty()) {
      // The daemon's --bridge changed: the old bridge is no longer ours to keep.
      (void)network::findDriver("bridge")->down(specOf(*have));
    }
    networks_[n.id] = n;
  }
  return okStatus();
}

network::NetworkSpec NetworkManager::specOf(const Network& n) const {
  network::NetworkSpec s;
  s.id = n.id;
  s.name = n.name;
  s.driver = n.driver;
  s.interface = n.interface;
  s.subnet = n.subnet;
  s.gateway = n.gateway;
  s.internal = n.internal;
  s.options = n.options;
  return s;
}

std::string NetworkManager::dnsAddress(const Network& n) const {
  return isBridge(n) ? n.gateway : "";
}

Status NetworkManager::bringUp(const Network& n) {
  network::Driver* d = network::findDriver(n.driver);
  if (!d) return okStatus();  // host, null
  BERTH_RETURN_IF_ERROR(d->up(specOf(n)));
  if (isBridge(n)) {
    auto port = dns_->listen(n.gateway, 53);
    if (!port && port.error().code() != ErrorCode::kAlreadyExists)
      log::warn("network " + quote(n.name) + ": no DNS resolver: " + port.error().message());
  }
  return okStatus();
}

Status NetworkManager::applyChains() {
  // Snapshot and apply as one: a stale snapshot applied last would drop a network's rules.
  std::lock_guard chains(chains_mu_);
  std::vector<network::BridgeRules> rules;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, n] : networks_) {
      if (isBridge(n)) rules.push_back({n.interface, n.subnet, n.internal});
    }
  }
  return sys::nftApply(network::chainsScript(opts_.table, rules));
}

Result<Network> NetworkManager::create(NetworkCreate req) {
  if (req.name.empty()) return invalidArgument("a network needs a name");
  if (!validName(req.name))
    return invalidArgument("invalid network name " + quote(req.name) +
                           ": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  if (req.driver.empty()) req.driver = "bridge";
  network::Driver* d = network::findDriver(req.driver);
  if (!d)
    return invalidArgument("unknown network driver " + quote(req.driver) +
                           " (berth has bridge and macvlan)");
  Network n;
  n.id = newHexId();
  n.name = req.name;
  n.driver = req.driver;
  n.internal = req.internal;
  n.options = req.options;
  n.labels = req.labels;
  n.created_ns = nowNs();
  n.ip_range = req.ip_range;
  std::unique_lock lock(mu_);
  for (const auto& [id, other] : networks_) {
    if (other.name == req.name)
      return alreadyExists("network with name " + quote(req.name) + " already exists");
  }
  std::vector<network::Subnet> taken;
  for (const auto& [id, other] : networks_) {
    if (auto s = network::parseSubnet(other.subnet)) taken.push_back(*s);
  }
  std::string subnet = req.subnet;
  if (subnet.empty()) {
    if (!req.gateway.empty() || !req.ip_range.empty())
      return invalidArgument("--gateway and --ip-range need --subnet");
    auto pool = network::parseSubnet(opts_.pool);
    if (!pool) return pool.error().context("the daemon's address pool");
    auto free = network::freeSubnet(*pool, 24, taken);
    if (!free) return free.error();
    subnet = free->str();
  }
  auto pool = network::makePool(subnet, req.gateway, req.ip_range);
  if (!pool) return pool.error().context("create network " + quote(req.name));
  for (const auto& [id, other] : networks_) {
    auto s = network::parseSubnet(other.subnet);
    if (s && s->overlaps(pool->subnet))
      return conflict("create network " + quote(req.name) + ": subnet " + pool->subnet.str() +
                      " overlaps network " + quote(other.name) + " (" + other.subnet +
                      "): choose another --subnet");
  }
  n.subnet = pool->subnet.str();
  n.gateway = network::formatIpv4(pool->gateway);
  network::NetworkSpec spec = specOf(n);
  spec.options = n.options;
  if (auto c = d->check(spec); !c) return c.error().context("create network " + quote(req.name));
  n.interface = spec.interface;
  // Claimed under the lock (no second network takes the name or subnet meanwhile); the
  // record first, so a crash leaves a record whose bridge the next start makes.
  BERTH_RETURN_IF_ERROR(store_.putRecord(ContainerStore::Kind::kNetwork, n.name, toJson(n)));
  networks_[n.id] = n;
  lock.unlock();
  Status up = bringUp(n);
  if (up) up = applyChains();
  if (!up) {
    (void)d->down(spec);
    dns_->unlisten(n.gateway);
    {
      std::lock_guard relock(mu_);
      networks_.erase(n.id);
    }
    (void)store_.removeRecord(ContainerStore::Kind::kNetwork, n.name);
    (void)applyChains();
    return up.error().context("create network " + quote(req.name));
  }
  return n;
}

std::vector<Network> NetworkManager::list() {
  std::lock_guard lock(mu_);
  std::vector<Network> out;
  for (const auto& [id, n] : networks_) out.push_back(n);
  std::sort(out.begin(), out.end(),
            [](const Network& a, const Network& b) { return a.name < b.name; });
  return out;
}

Result<Network> NetworkManager::findLocked(const std::string& ref) {
  const Network* prefix_match = nullptr;
  int matches = 0;
  for (const auto& [id, n] : networks_) {
    if (n.name == ref || id == ref) return n;
  }
  for (const auto& [id, n] : networks_) {
    if (!ref.empty() && id.rfind(ref, 0) == 0) {
      prefix_match = &n;
      ++matches;
    }
  }
  if (matches == 1) return *prefix_match;
  if (matches > 1) return invalidArgument("network id prefix " + quote(ref) + " is ambiguous");
  return notFound("network " + quote(ref) + " not found");
}

Result<Network> NetworkManager::find(const std::string& ref) {
  std::lock_guard lock(mu_);
  return findLocked(ref);
}

std::map<std::string, std::pair<std::string, Endpoint>> NetworkManager::attached(
    const std::string& id) {
  std::lock_guard lock(mu_);
  std::map<std::string, std::pair<std::string, Endpoint>> out;
  if (auto it = attached_.find(id); it != attached_.end()) {
    for (const auto& [cid, a] : it->second) out[cid] = {a.name, a.ep};
  }
  return out;
}

Status NetworkManager::remove(const std::string& ref) {
  Network n;
  {
    std::lock_guard lock(mu_);
    n = BERTH_TRY(findLocked(ref));
    if (n.builtin())
      return Error(ErrorCode::kPermissionDenied,
                   n.name + " is a pre-defined network and cannot be removed");
    if (auto it = attached_.find(n.id); it != attached_.end() && !it->second.empty())
      return conflict("network " + quote(n.name) + " has active endpoints (" +
                      it->second.begin()->second.name + "): stop or disconnect them first");
    networks_.erase(n.id);
    attached_.erase(n.id);
    last_ip_.erase(n.id);
  }
  if (isBridge(n)) dns_->unlisten(n.gateway);
  BERTH_RETURN_IF_ERROR(applyChains());
  if (network::Driver* d = network::findDriver(n.driver)) {
    if (auto s = d->down(specOf(n)); !s) log::warn(s.error().message());
  }
  return store_.removeRecord(ContainerStore::Kind::kNetwork, n.name);
}

Result<Endpoint> NetworkManager::claim(const std::string& id, const std::string& name,
                                       const Network& n, const EndpointConfig& cfg, int index,
                                       const std::string& host_if) {
  if (n.driver == "host" || n.driver == "null")
    return invalidArgument("container cannot be connected to network " + quote(n.name) +
                           " together with others");
  auto pool = network::makePool(n.subnet, n.gateway, n.ip_range);
  if (!pool) return pool.error().context("network " + quote(n.name));
  std::lock_guard lock(mu_);
  if (!networks_.count(n.id))  // removed since the caller looked it up
    return notFound("network " + quote(n.name) + " not found");
  auto& on = attached_[n.id];
  if (on.count(id))
    return conflict("container " + quote(name) + " is already connected to network " +
                    quote(n.name));
  std::set<Ipv4> taken;
  for (const auto& [cid, a] : on) {
    if (auto ip = network::parseIpv4(a.ep.ip)) taken.insert(*ip);
  }
  Ipv4 ip = 0;
  if (!cfg.ip.empty()) {
    auto want = network::parseIpv4(cfg.ip);
    if (!want) return want.error().context("--ip");
    if (auto r = network::reserve(*pool, taken, *want); !r)
      return r.error().context("network " + quote(n.name));
    ip = *want;
  } else {
    auto got = network::allocate(*pool, taken, last_ip_[n.id]);
    if (!got) return got.error().context("network " + quote(n.name));
    ip = *got;
    last_ip_[n.id] = ip;
  }
  Endpoint ep;
  ep.network_id = n.id;
  ep.network = n.name;
  ep.ip = network::formatIpv4(ip);
  ep.prefix_len = pool->subnet.prefix;
  ep.gateway = n.internal ? "" : n.gateway;
  if (cfg.mac.empty()) {
    ep.mac = network::macFor(ip);
  } else {
    ep.mac = BERTH_TRY(network::parseMac(cfg.mac));
  }
  ep.aliases = cfg.aliases;
  ep.host_if = !host_if.empty() ? host_if : isBridge(n) ? hostIf() : "";
  ep.if_name = "eth" + std::to_string(index);
  on[id] = {name, ep};
  return ep;
}

void NetworkManager::release(const std::string& id, const std::string& network_id) {
  std::lock_guard lock(mu_);
  if (auto it = attached_.find(network_id); it != attached_.end()) it->second.erase(id);
}

Result<std::vector<PortBinding>> NetworkManager::claimPorts(const std::string& id,
                                                            const std::vector<PortBinding>& want) {
  // The range docker picks free ports from.
  constexpr int kFirstFree = 49153, kLastFree = 60999;
  std::vector<PortBinding> out;
  std::lock_guard lock(mu_);
  auto taken = [&](const PortBinding& p) {
    for (const auto& q : published_) {
      if (samePort(q.binding, p)) return true;
    }
    for (const auto& q : out) {
      if (samePort(q, p)) return true;
    }
    return false;
  };
  for (PortBinding p : want) {
    if (!p.host_ip.empty()) {
      if (auto ip = network::parseIpv4(p.host_ip); !ip)
        return ip.error().context("publish port " + std::to_string(p.container_port));
      if (p.host_ip == "0.0.0.0") p.host_ip.clear();
    }
    if (p.host_port == 0) {
      bool found = false;
      for (int port = kFirstFree; port <= kLastFree && !found; ++port) {
        p.host_port = port;
        found = !taken(p) && portFree(p);
      }
      if (!found)
        return unavailable("publish port " + std::to_string(p.container_port) +
                           ": no free host port left in " + std::to_string(kFirstFree) + "-" +
                           std::to_string(kLastFree));
    } else {
      if (taken(p))
        return conflict("publish " + (p.host_ip.empty() ? "0.0.0.0" : p.host_ip) + ":" +
                        std::to_string(p.host_port) + "/" + p.protocol +
                        ": the port is already published by another container: choose another "
                        "host port");
      BERTH_RETURN_IF_ERROR(portFree(p));
    }
    out.push_back(p);
  }
  for (const auto& p : out) published_.push_back({p, id});
  return out;
}

void NetworkManager::releasePorts(const std::string& id) {
  std::lock_guard lock(mu_);
  std::erase_if(published_, [&](const Published& p) { return p.container_id == id; });
}

namespace {

std::vector<network::PortMap> portMaps(const std::vector<PortBinding>& ports,
                                       const std::string& ip) {
  std::vector<network::PortMap> out;
  for (const auto& p : ports)
    out.push_back({p.host_ip, p.protocol, static_cast<uint16_t>(p.host_port), ip,
                   static_cast<uint16_t>(p.container_port)});
  return out;
}

// The ports the host's own clients are redirected to (TCP only; UDP keeps the DNAT rules).
std::vector<sys::RedirectedPort> redirectedTcp(const std::vector<network::PortMap>& maps) {
  std::vector<sys::RedirectedPort> out;
  for (const auto& m : maps) {
    if (m.protocol == "tcp")
      out.push_back({m.host_ip, m.host_port, m.container_ip, m.container_port});
  }
  return out;
}

// The address published ports lead to: the first endpoint on a bridge network.
std::string publishedAddress(const NetworkState& st) {
  for (const auto& e : st.endpoints) {
    if (!e.host_if.empty()) return e.ip;
  }
  return "";
}

}  // namespace

Result<NetworkState> NetworkManager::setUp(const SandboxRequest& req) {
  NetworkState st;
  auto fail = [&](const Error& e) -> Error {
    tearDown(req.id, st);
    return e;
  };
  // A namespace with its veth on the default bridge ready, when that is the first network.
  bool bridged = false;
  if (!req.networks.empty()) {
    auto first = find(req.networks[0].first);
    bridged = first && first->name == "bridge";
  }
  sys::Fd fd;
  auto taken = takeNamespace(bridged, fd);
  if (!taken) return taken.error();
  st.sandbox = taken->path;
  sys::Fd* ns = &fd;
  int index = 0;
  for (const auto& [ref, cfg] : req.networks) {
    auto n = find(ref);
    if (!n) return fail(n.error());
    network::Driver* d = network::findDriver(n->driver);
    if (!d) return fail(invalidArgument("network " + quote(n->name) + " cannot be joined"));
    bool prepared = index == 0 && !taken->host_if.empty();
    auto ep = claim(req.id, req.name, *n, cfg, index, prepared ? taken->host_if : "");
    if (!ep) {
      if (prepared) {
        // Nothing holds the prepared veth yet: it goes with the namespace below.
        st.endpoints.push_back({"", "", "", 0, "", "", {}, taken->host_if, "eth0"});
      }
      return fail(ep.error());
    }
    network::EndpointSpec es{ep->host_if,
                             ep->if_name,
                             ep->ip,
                             ep->prefix_len,
                             ep->mac,
                             ep->gateway,
                             index == 0 && !ep->gateway.empty(),
                             prepared};
    if (auto a = d->attach(specOf(*n), es, ns->get()); !a) {
      release(req.id, n->id);
      return fail(a.error());
    }
    st.endpoints.push_back(*ep);
    ++index;
  }
  if (!req.ports.empty()) {
    std::string ip = publishedAddress(st);
    if (ip.empty())
      return fail(
          invalidArgument("published ports need a bridge network (this container has "
                          "none)"));
    auto ports = claimPorts(req.id, req.ports);
    if (!ports) return fail(ports.error());
    st.ports = *ports;
    if (auto a = publish(portMaps(st.ports, ip), true); !a)
      return fail(a.error().context("publish ports"));
  }
  return st;
}

Status NetworkManager::publish(const std::vector<network::PortMap>& maps, bool add) {
  // The redirect never leads where no DNAT rule does: added after the rules, removed before.
  auto redirect = [&] {
    if (!redirect_) return;
    for (const auto& p : redirectedTcp(maps)) {
      auto r = add ? redirect_->add(p) : redirect_->remove(p);
      if (!r) log::warn(r.error().message());
    }
  };
  if (!add) redirect();
  BERTH_RETURN_IF_ERROR(sys::nftApply(network::portsScript(opts_.table, maps, add)));
  if (add) redirect();
  return okStatus();
}

void NetworkManager::tearDown(const std::string& id, NetworkState& st, bool exited) {
  if (!st.ports.empty()) {
    std::string ip = publishedAddress(st);
    if (auto d = publish(portMaps(st.ports, ip), false); !d)
      log::debug("unpublish ports of " + id.substr(0, 12) + ": " + d.error().message());
  }
  releasePorts(id);
  auto ns = st.sandbox.empty() ? Result<sys::Fd>(notFound("")) : sys::openNetns(st.sandbox);
  for (const auto& ep : st.endpoints) {
    if (exited) {
      // The kernel removes it with the namespace, unless another container (network mode
      // container:) keeps that alive: the worker deletes it, off the caller's path.
      if (!ep.host_if.empty()) {
        std::lock_guard lock(pool_mu_);
        reap_.push_back(ep.host_if);
      }
      pool_cv_.notify_one();
      release(id, ep.network_id);
      continue;
    }
    Network n;
    {
      std::lock_guard lock(mu_);
      auto it = networks_.find(ep.network_id);
      if (it != networks_.end()) n = it->second;
    }
    if (network::Driver* d = network::findDriver(n.driver)) {
      network::EndpointSpec es{ep.host_if, ep.if_name, ep.ip, ep.prefix_len,
                               ep.mac,     ep.gateway, false};
      if (auto s = d->detach(specOf(n), es, ns ? ns->get() : -1); !s)
        log::warn("detach " + id.substr(0, 12) + " from " + quote(ep.network) + ": " +
                  s.error().message());
    } else if (!ep.host_if.empty()) {
      // Its network is gone (removed while berthd was down): the veth still is not.
      if (auto nl = sys::Netlink::open()) {
        if (auto i = nl->linkIndex(ep.host_if)) (void)nl->deleteLink(*i);
      }
    }
    release(id, ep.network_id);
  }
  if (!st.sandbox.empty()) {
    if (auto r = sys::removeNetns(st.sandbox); !r) log::warn(r.error().message());
  }
  st = NetworkState{};
}

Result<Endpoint> NetworkManager::connect(const std::string& id, const std::string& name,
                                         NetworkState& st, const std::string& network,
                                         const EndpointConfig& cfg) {
  auto n = BERTH_TRY(find(network));
  network::Driver* d = network::findDriver(n.driver);
  if (!d) return invalidArgument("container cannot be connected to network " + quote(n.name));
  for (const auto& e : st.endpoints) {
    if (e.network_id == n.id)
      return conflict("container " + quote(name) + " is already connected to network " +
                      quote(n.name));
  }
  auto ns = sys::openNetns(st.sandbox);
  if (!ns) return ns.error().context("connect " + quote(name));
  int index = 0;
  for (bool used = true; used; ++index) {
    used = false;
    for (const auto& e : st.endpoints) used = used || e.if_name == "eth" + std::to_string(index);
    if (!used) break;
  }
  auto ep = BERTH_TRY(claim(id, name, n, cfg, index));
  network::EndpointSpec es{ep.host_if,
                           ep.if_name,
                           ep.ip,
                           ep.prefix_len,
                           ep.mac,
                           ep.gateway,
                           st.endpoints.empty() && !ep.gateway.empty()};
  if (auto a = d->attach(specOf(n), es, ns->get()); !a) {
    release(id, n.id);
    return a.error();
  }
  st.endpoints.push_back(ep);
  return ep;
}

Status NetworkManager::disconnect(const std::string& id, NetworkState& st,
                                  const std::string& network) {
  auto n = BERTH_TRY(find(network));
  auto it = std::find_if(st.endpoints.begin(), st.endpoints.end(),
                         [&](const Endpoint& e) { return e.network_id == n.id; });
  if (it == st.endpoints.end())
    return notFound("container is not connected to network " + quote(n.name));
  auto ns = sys::openNetns(st.sandbox);
  if (network::Driver* d = network::findDriver(n.driver)) {
    network::EndpointSpec es{it->host_if, it->if_name, it->ip, it->prefix_len,
                             it->mac,     it->gateway, false};
    BERTH_RETURN_IF_ERROR(d->detach(specOf(n), es, ns ? ns->get() : -1));
  }
  // Gone from the network: its published ports lead nowhere now (only after the detach,
  // which may fail and leave everything as it was).
  if (!st.ports.empty() && it->ip == publishedAddress(st)) {
    (void)publish(portMaps(st.ports, it->ip), false);
    releasePorts(id);
    st.ports.clear();
  }
  release(id, n.id);
  st.endpoints.erase(it);
  return okStatus();
}

void NetworkManager::renamed(const std::string& id, const std::string& new_name,
                             const NetworkState& st) {
  std::lock_guard lock(mu_);
  for (const auto& ep : st.endpoints) {
    auto& on = attached_[ep.network_id];
    if (auto it = on.find(id); it != on.end()) it->second.name = new_name;
  }
}

void NetworkManager::restore(const std::string& id, const std::string& name,
                             const NetworkState& st) {
  std::lock_guard lock(mu_);
  if (!st.sandbox.empty()) restored_sandboxes_.insert(st.sandbox);
  for (const auto& ep : st.endpoints) {
    attached_[ep.network_id][id] = {name, ep};
    if (auto ip = network::parseIpv4(ep.ip)) {
      auto& last = last_ip_[ep.network_id];
      last = std::max(last, *ip);
    }
  }
  for (const auto& p : st.ports) published_.push_back({p, id});
}

Status NetworkManager::finishRestore() {
  std::vector<network::PortMap> maps;
  std::set<std::string> live_ifs, live_sandboxes, bridges;
  {
    std::lock_guard lock(mu_);
    std::map<std::string, std::string> ip_of;  // container → published address
    for (const auto& [nid, on] : attached_) {
      for (const auto& [cid, a] : on) {
        if (!a.ep.host_if.empty()) {
          live_ifs.insert(a.ep.host_if);
          if (!ip_of.count(cid) || a.ep.if_name == "eth0") ip_of[cid] = a.ep.ip;
        }
        live_sandboxes.insert(cid);
      }
    }
    for (const auto& p : published_) {
      auto more = portMaps({p.binding}, ip_of[p.container_id]);
      maps.insert(maps.end(), more.begin(), more.end());
      live_sandboxes.insert(p.container_id);
    }
    for (const auto& [id, n] : networks_) {
      if (isBridge(n)) bridges.insert(n.interface);
    }
  }
  BERTH_RETURN_IF_ERROR(sys::nftApply(network::resetPortsScript(opts_.table, maps)));
  if (redirect_) {
    if (auto r = redirect_->reset(redirectedTcp(maps)); !r) log::warn(r.error().message());
  }
  // Namespaces no running container holds: a crash between making one and recording it,
  // or the pool of the last run.
  if (auto names = sys::listDir(opts_.netns_dir)) {
    std::lock_guard lock(mu_);
    for (const auto& n : *names) {
      std::string path = opts_.netns_dir + "/" + n;
      if (!restored_sandboxes_.count(path)) (void)sys::removeNetns(path);
    }
    restored_sandboxes_.clear();
  }

  // veths of ours (on our bridges) that no running container holds: a crash between
  // creating one and recording it, or a container that exited while berthd was down.
  if (auto nl = sys::Netlink::open()) {
    std::map<int, std::string> index_name;
    auto links = nl->links();
    if (links) {
      for (const auto& l : *links) index_name[l.index] = l.name;
      for (const auto& l : *links) {
        if (l.kind != "veth" || !l.name.starts_with("vb") || !l.master) continue;
        if (!bridges.count(index_name[l.master]) || live_ifs.count(l.name)) continue;
        log::info("removing stale interface " + quote(l.name));
        (void)nl->deleteLink(l.index);
      }
    }
  }
  // Only now: the sweeps above must not meet the pool's namespaces and veths.
  if (!filler_.joinable()) filler_ = std::thread([this] { fillPool(); });
  return okStatus();
}

Status NetworkManager::cleanup() {
  std::vector<Network> all = list();
  for (const auto& n : all) {
    if (isBridge(n)) dns_->unlisten(n.gateway);
    if (network::Driver* d = network::findDriver(n.driver)) {
      if (auto s = d->down(specOf(n)); !s) log::warn(s.error().message());
    }
  }
  return sys::nftApply(network::deleteTableScript(opts_.table));
}

std::string NetworkManager::resolvConf(const NetworkState& st,
                                       const std::vector<std::string>& dns) {
  std::string host = sys::readFile(opts_.resolv_conf).value_or("");
  if (!dns.empty()) return network::containerResolvConf(host, dns);
  if (!st.endpoints.empty()) {
    auto n = find(st.endpoints[0].network_id);
    if (n && isBridge(*n)) return network::containerResolvConf(host, {n->gateway});
  }
  // No bridge of ours (macvlan): the host's nameservers, but not those on its loopback,
  // which the container's own loopback does not reach.
  std::vector<std::string> servers;
  for (const auto& s : network::nameserversFrom(host)) {
    if (!s.starts_with("127.") && s != "::1") servers.push_back(s);
  }
  return network::containerResolvConf(host, servers);
}

void NetworkManager::setDnsZone(DnsZone zone) {
  zone_.store(zone ? std::make_shared<const DnsZone>(std::move(zone)) : nullptr);
}

void NetworkManager::invalidateDnsCache() { dns_->invalidate(); }

Result<uint16_t> NetworkManager::listenDns(const std::string& addr, uint16_t port) {
  return dns_->listen(addr, port);
}

network::DnsReply NetworkManager::answer(const network::DnsQuestion& q) {
  if (auto zone = zone_.load()) {
    if (auto r = (*zone)(q)) return std::move(*r);
  }
  network::DnsReply reply;
  reply.verdict = network::DnsVerdict::kForward;
  std::lock_guard lock(mu_);
  const Network* net = nullptr;
  for (const auto& [id, n] : networks_) {
    if (isBridge(n) && n.gateway == q.local_addr) net = &n;
  }
  // Names are answered on user-defined networks only, as docker does; the default
  // bridge's resolver only forwards.
  if (!net || net->name == "bridge") return reply;
  auto on = attached_.find(net->id);
  if (on == attached_.end()) return reply;
  // The asker's user networks, all of them (its resolv.conf names the first one's
  // resolver): names are answered across every network it shares with others.
  std::string asker;
  for (const auto& [cid, a] : on->second) {
    if (a.ep.ip == q.client_addr) asker = cid;
  }
  std::vector<const std::map<std::string, Attachment>*> scopes{&on->second};
  if (!asker.empty()) {
    for (const auto& [nid, members] : attached_) {
      auto n = networks_.find(nid);
      if (nid != net->id && members.count(asker) && n != networks_.end() && isBridge(n->second) &&
          n->second.name != "bridge")
        scopes.push_back(&members);
    }
  }
  std::vector<std::string> ips;
  for (const auto* members : scopes) {
    for (const auto& [cid, a] : *members) {
      bool match = toLower(a.name) == q.name || cid.substr(0, 12) == q.name;
      for (const auto& alias : a.ep.aliases) match = match || toLower(alias) == q.name;
      if (match) ips.push_back(a.ep.ip);
    }
  }
  if (ips.empty()) return reply;
  reply.verdict = network::DnsVerdict::kAnswer;
  if (q.type == 1 || q.type == 255) {
    for (const auto& ip : ips) reply.answers.push_back({q.name, 1, 0, ip});
  }
  return reply;
}

}  // namespace berth::engine
