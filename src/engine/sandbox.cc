// A starting container's place on its networks: the sandbox (network namespace and
// endpoints) from the network manager, links, and the files that tell the container who
// it is and where to find names (/etc/hosts, /etc/hostname, /etc/resolv.conf).

#include <algorithm>
#include <set>

#include "common/strings.h"
#include "engine/container_spec.h"
#include "engine/engine.h"
#include "engine/entry.h"
#include "engine/image_access.h"
#include "engine/network_manager.h"
#include "engine/runtime_spec.h"
#include "network/links.h"
#include "sys/fs.h"

namespace berth::engine {

using nlohmann::json;

namespace {

const char kLocalhost[] = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";

// The ports an image and a container config expose: EXPOSE, --expose and published ports.
std::vector<std::pair<int, std::string>> exposedPorts(const json& image_config,
                                                      const ContainerConfig& c) {
  std::set<std::pair<int, std::string>> out;
  json cfg = image_config.value("config", json::object());
  if (cfg.contains("ExposedPorts") && cfg["ExposedPorts"].is_object()) {
    for (const auto& [k, v] : cfg["ExposedPorts"].items()) {
      if (auto p = parseExpose(k)) out.insert(*p);
    }
  }
  for (const auto& e : c.expose) {
    if (auto p = parseExpose(e)) out.insert(*p);
  }
  for (const auto& p : c.ports) out.insert({p.container_port, p.protocol});
  return {out.begin(), out.end()};
}

}  // namespace

Result<SpecPaths> Engine::setUpNetwork(Entry& e, const json& image_config, RunSpec& run) {
  Container& c = e.c;
  std::string dir = dirOf(c.id);
  SpecPaths paths{opts_.init, dir + "/hosts", dir + "/hostname", dir + "/resolv.conf"};
  const std::string& mode = c.config.network_mode;
  if (mode == "host") {
    run.host_network = true;
    paths.hosts.clear();
    paths.hostname.clear();
    run.hostname.clear();
    BERTH_RETURN_IF_ERROR(
        sys::replaceFile(paths.resolv_conf, sys::readFile(opts_.net.resolv_conf).value_or("")));
    return paths;
  }
  if (mode.starts_with("container:")) {
    auto other = find(mode.substr(10));
    if (!other) return other.error().context("network mode " + quote(mode));
    if ((*other)->c.id == c.id) return invalidArgument("a container cannot join its own network");
    std::lock_guard lock((*other)->mu);
    const Container& o = (*other)->c;
    if (!o.running())
      return conflict("cannot join the network of " + quote(o.name) + ": it is not running");
    if (o.config.network_mode == "host") {
      run.host_network = true;  // it uses the host's network
    } else if (o.state.net.sandbox.empty()) {
      return conflict("cannot join the network of " + quote(o.name) +
                      ": it shares another container's (" + o.config.network_mode +
                      "); join that one");
    } else {
      run.network_ns = o.state.net.sandbox;
    }
    std::string odir = dirOf(o.id);
    paths.hosts = odir + "/hosts";
    paths.hostname = odir + "/hostname";
    paths.resolv_conf = odir + "/resolv.conf";
    run.hostname = sys::readFile(paths.hostname).value_or("");
    if (!run.hostname.empty() && run.hostname.back() == '\n') run.hostname.pop_back();
    return paths;
  }

  // Links first: their peers must be running, and nothing has been made yet.
  std::vector<network::LinkPeer> peers;
  std::vector<std::string> peer_names;
  for (const auto& link : c.config.links) {
    auto colon = link.find(':');
    std::string name = link.substr(0, colon);
    std::string alias = colon == std::string::npos ? name : link.substr(colon + 1);
    auto peer = find(name);
    if (!peer) return peer.error().context("link " + quote(link));
    if ((*peer)->c.id == c.id)
      return invalidArgument("link " + quote(link) + ": a container cannot link to itself");
    Container pc;
    {
      std::lock_guard lock((*peer)->mu);
      pc = (*peer)->c;
    }
    if (!pc.running() || pc.state.net.endpoints.empty())
      return conflict("link " + quote(link) + ": container " + quote(pc.name) +
                      " is not running on a network");
    network::LinkPeer lp;
    lp.alias = alias;
    lp.ip = pc.state.net.endpoints[0].ip;
    json peer_image = json::object();
    if (auto img = images_->byId(pc.image_id)) peer_image = img->config;
    lp.ports = exposedPorts(peer_image, pc.config);
    json peer_cfg = peer_image.value("config", json::object());
    if (peer_cfg.contains("Env") && peer_cfg["Env"].is_array()) {
      for (const auto& v : peer_cfg["Env"])
        if (v.is_string()) lp.env.push_back(v.get<std::string>());
    }
    lp.env.insert(lp.env.end(), pc.config.env.begin(), pc.config.env.end());
    peers.push_back(lp);
    peer_names.push_back(pc.name);
  }

  SandboxRequest req;
  req.id = c.id;
  req.name = c.name;
  if (mode != "none") {
    auto own = c.config.networks.find(mode);
    req.networks.push_back({mode, own == c.config.networks.end() ? EndpointConfig{} : own->second});
    for (const auto& [name, cfg] : c.config.networks) {
      if (name != mode) req.networks.push_back({name, cfg});
    }
  }
  req.ports = c.config.ports;
  if (c.config.publish_all) {
    for (const auto& [port, proto] : exposedPorts(image_config, c.config)) {
      bool have = std::any_of(req.ports.begin(), req.ports.end(), [&](const PortBinding& p) {
        return p.container_port == port && p.protocol == proto;
      });
      if (!have) req.ports.push_back({port, proto, "", 0});
    }
  }
  auto st = net_->setUp(req);
  if (!st) return st.error();
  c.state.net = *st;
  run.network_ns = st->sandbox;

  std::string hosts = kLocalhost;
  if (!st->endpoints.empty())
    hosts += st->endpoints[0].ip + "\t" + run.hostname + "\n";
  else
    hosts += "127.0.1.1\t" + run.hostname + "\n";
  for (size_t i = 0; i < peers.size(); ++i) {
    hosts += peers[i].ip + "\t" + peers[i].alias;
    if (peer_names[i] != peers[i].alias) hosts += " " + peer_names[i];
    hosts += "\n";
    auto env = network::linkEnv(c.name, peers[i]);
    run.env.insert(run.env.begin(), env.begin(), env.end());
  }
  BERTH_RETURN_IF_ERROR(sys::replaceFile(paths.hosts, hosts));
  BERTH_RETURN_IF_ERROR(sys::replaceFile(paths.hostname, run.hostname + "\n"));
  BERTH_RETURN_IF_ERROR(sys::replaceFile(paths.resolv_conf, net_->resolvConf(*st, c.config.dns)));
  return paths;
}

// ---- networks through the engine: what containers refer to them is the engine's to know.

Result<Network> Engine::networkCreate(const NetworkCreate& req) {
  auto n = BERTH_TRY(net_->create(req));
  events_.publish({"network", "create", n.id, {{"name", n.name}, {"type", n.driver}}});
  return n;
}

Status Engine::networkRemove(const std::string& ref) {
  auto n = BERTH_TRY(net_->find(ref));
  std::vector<std::shared_ptr<Entry>> all;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, e] : by_id_) all.push_back(e);
  }
  for (auto& e : all) {
    std::lock_guard lock(e->mu);
    const ContainerConfig& cfg = e->c.config;
    if (cfg.network_mode == n.name || cfg.network_mode == n.id || cfg.networks.count(n.name) ||
        cfg.networks.count(n.id))
      return conflict("network " + quote(n.name) + " is used by container " + quote(e->c.name) +
                      ": remove it or disconnect it first");
  }
  BERTH_RETURN_IF_ERROR(net_->remove(n.id));
  events_.publish({"network", "destroy", n.id, {{"name", n.name}, {"type", n.driver}}});
  return okStatus();
}

Result<std::vector<std::string>> Engine::networkPrune() {
  std::vector<std::string> removed;
  for (const auto& n : net_->list()) {
    if (n.builtin()) continue;
    if (networkRemove(n.id)) removed.push_back(n.name);
  }
  return removed;
}

Status Engine::networkConnect(const std::string& network, const std::string& ref,
                              const EndpointConfig& cfg) {
  auto n = BERTH_TRY(net_->find(network));
  auto e = BERTH_TRY(find(ref));
  std::lock_guard lock(e->mu);
  Container& c = e->c;
  if (c.config.network_mode == "host" || c.config.network_mode.starts_with("container:"))
    return conflict("container " + quote(c.name) + " shares a network namespace (" +
                    c.config.network_mode + "): it cannot join other networks");
  if (c.config.network_mode == n.name || c.config.networks.count(n.name)) {
    bool on = std::any_of(c.state.net.endpoints.begin(), c.state.net.endpoints.end(),
                          [&](const Endpoint& ep) { return ep.network_id == n.id; });
    if (on || !c.running())
      return conflict("container " + quote(c.name) + " is already connected to network " +
                      quote(n.name));
  }
  if (c.running()) {
    if (c.state.net.sandbox.empty())
      return conflict("container " + quote(c.name) + " has no network namespace of its own");
    BERTH_TRY(net_->connect(c.id, c.name, c.state.net, n.name, cfg));
  }
  if (c.config.network_mode == "none") {
    c.config.network_mode = n.name;
    c.config.networks.erase("none");
  }
  c.config.networks[n.name] = cfg;  // the first network's settings too (its aliases)
  BERTH_RETURN_IF_ERROR(persist(c));
  events_.publish({"network", "connect", n.id, {{"name", n.name}, {"container", c.id}}});
  return okStatus();
}

Status Engine::networkDisconnect(const std::string& network, const std::string& ref, bool force) {
  auto n = BERTH_TRY(net_->find(network));
  auto e = BERTH_TRY(find(ref));
  std::lock_guard lock(e->mu);
  Container& c = e->c;
  bool configured = c.config.network_mode == n.name || c.config.networks.count(n.name);
  bool on = std::any_of(c.state.net.endpoints.begin(), c.state.net.endpoints.end(),
                        [&](const Endpoint& ep) { return ep.network_id == n.id; });
  if (!configured && !on && !force)
    return notFound("container " + quote(c.name) + " is not connected to network " + quote(n.name));
  if (on) BERTH_RETURN_IF_ERROR(net_->disconnect(c.id, c.state.net, n.name));
  c.config.networks.erase(n.name);
  if (c.config.network_mode == n.name) {
    // The first network goes: the next one takes its place, or none is left.
    if (c.config.networks.empty()) {
      c.config.network_mode = "none";
    } else {
      c.config.network_mode = c.config.networks.begin()->first;
    }
  }
  BERTH_RETURN_IF_ERROR(persist(c));
  events_.publish({"network", "disconnect", n.id, {{"name", n.name}, {"container", c.id}}});
  return okStatus();
}

}  // namespace berth::engine
