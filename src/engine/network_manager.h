#pragma once
// The engine's networks: their records, address management, sandboxes (a network
// namespace per container, kept at <exec_root>/netns/<id> while it runs), published ports
// (nftables map elements, network/ruleset.h), and the embedded DNS resolver that answers
// container names on user-defined networks. The kernel work is the drivers'
// (network/driver.h).
//
// Addresses are taken by running containers only and the records of running containers
// hold them (container.h, state.network): after a daemon restart restore() takes them
// again from those records, so nothing is handed out twice.
//
// The networks `bridge` (driver bridge, the daemon's --bridge interface), `host` and
// `none` always exist and cannot be removed.
//
// Thread-safety: every method may be called from any thread; the engine calls the sandbox
// methods with the container's own lock held. Kernel work happens outside this object's
// lock; bookkeeping (addresses, ports, names) is claimed under it first and given back if
// the kernel work fails.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "engine/container.h"
#include "sys/fd.h"

namespace berth::network {
class DnsServer;
struct DnsQuestion;
struct DnsReply;
struct NetworkSpec;
struct PortMap;
}  // namespace berth::network

namespace berth::sys {
class ConnectRedirect;
}  // namespace berth::sys

namespace berth::engine {

class ContainerStore;

struct NetworkOptions {
  std::string table = "berth";               // the nftables table berth owns
  std::string bridge = "berth0";             // the default network's bridge
  std::string bridge_cidr = "10.88.0.1/16";  // its gateway address and prefix (--bip)
  std::string pool = "10.89.0.0/16";         // where user networks' /24 subnets come from
  std::string netns_dir;                     // sandboxes; <exec_root>/netns
  std::string resolv_conf = "/etc/resolv.conf";
};

// A network's record (persisted in engine.db as this JSON, see toJson).
struct Network {
  std::string id;
  std::string name;
  std::string driver;  // bridge, macvlan, host, null
  std::string subnet;
  std::string gateway;
  std::string ip_range;
  bool internal = false;
  std::map<std::string, std::string> options;
  std::map<std::string, std::string> labels;
  int64_t created_ns = 0;
  std::string interface;  // bridge: its bridge; macvlan: the parent

  bool builtin() const { return name == "bridge" || name == "host" || name == "none"; }
};
nlohmann::json toJson(const Network& n);
Result<Network> networkFromJson(const nlohmann::json& j);

struct NetworkCreate {
  std::string name;
  std::string driver = "bridge";
  std::string subnet;
  std::string gateway;
  std::string ip_range;
  bool internal = false;
  std::map<std::string, std::string> options;
  std::map<std::string, std::string> labels;
};

// What a container asks of its networks when it starts.
struct SandboxRequest {
  std::string id;
  std::string name;
  // The networks in order (the first has the default route) with their settings; empty
  // for network mode none (a namespace with loopback only).
  std::vector<std::pair<std::string, EndpointConfig>> networks;
  std::vector<PortBinding> ports;  // host_port 0: a free one is chosen
};

class NetworkManager {
 public:
  static Result<std::unique_ptr<NetworkManager>> open(NetworkOptions opts, ContainerStore& store);
  ~NetworkManager();

  Result<Network> create(NetworkCreate req);
  std::vector<Network> list();
  // By name, id or unique id prefix; kNotFound "network 'x' not found".
  Result<Network> find(const std::string& ref);
  // The running containers on a network: id → (name, endpoint).
  std::map<std::string, std::pair<std::string, Endpoint>> attached(const std::string& id);
  // The caller has checked that no container refers to it; kConflict while one is
  // attached, kForbidden-like kInvalidArgument for the built-in ones.
  Status remove(const std::string& ref);
  // The resolver's address on a network ("" when it has none).
  std::string dnsAddress(const Network& n) const;

  // Creates the namespace, the endpoints and the published ports. All or nothing.
  Result<NetworkState> setUp(const SandboxRequest& req);
  // Undoes setUp; what is gone already is skipped. Leaves `st` empty. With `exited` (the
  // container's processes are gone) the interfaces are left to the kernel, which removes
  // them with the namespace, off the caller's path: deleting a veth waits for RCU grace
  // periods (10-25 ms here). Otherwise (a failed start) they are deleted before returning.
  void tearDown(const std::string& id, NetworkState& st, bool exited = false);
  // A running container joins (leaves) a network.
  Result<Endpoint> connect(const std::string& id, const std::string& name, NetworkState& st,
                           const std::string& network, const EndpointConfig& cfg);
  Status disconnect(const std::string& id, NetworkState& st, const std::string& network);
  // A rename changes the names the resolver answers.
  void renamed(const std::string& id, const std::string& new_name, const NetworkState& st);

  // After a daemon restart, for each running container: its addresses, ports and names
  // are taken again. Then finishRestore() re-applies every rule from scratch and removes
  // the veths and namespaces that belong to no running container.
  void restore(const std::string& id, const std::string& name, const NetworkState& st);
  Status finishRestore();
  // Removes the rules and the bridges (berthd --cleanup, after containers stopped).
  Status cleanup();

  // The container's resolv.conf: `dns` if given, else the resolver on its first network's
  // gateway (a bridge's, the default one's too: it answers NAME.service.berth and forwards
  // the rest), else the host's nameservers.
  std::string resolvConf(const NetworkState& st, const std::vector<std::string>& dns);

  // Names the engine does not own (NAME.service.berth …), asked before container names on
  // every listener; nullopt leaves the question to the engine. Called on the resolver's
  // thread: it must answer from memory.
  using DnsZone = std::function<std::optional<network::DnsReply>(const network::DnsQuestion&)>;
  void setDnsZone(DnsZone zone);
  // Forgets the resolver's cached answers (the zone's data changed).
  void invalidateDnsCache();
  // Serves the resolver on one more address (the host's own, for `dig @127.0.0.1 -p 8600`);
  // returns the port (0: any free one). There the zone answers and the rest is forwarded.
  Result<uint16_t> listenDns(const std::string& addr, uint16_t port);

 private:
  struct Attachment {
    std::string name;  // the container's
    Endpoint ep;
  };
  struct Published {
    PortBinding binding;
    std::string container_id;
  };

  explicit NetworkManager(NetworkOptions opts, ContainerStore& store);
  Result<Network> findLocked(const std::string& ref);
  network::NetworkSpec specOf(const Network& n) const;
  Status applyChains();
  Status ensureBuiltins();
  Status bringUp(const Network& n);
  // Claims an address (and records the attachment) under the lock.
  Result<Endpoint> claim(const std::string& id, const std::string& name, const Network& n,
                         const EndpointConfig& cfg, int index, const std::string& host_if = "");
  void release(const std::string& id, const std::string& network_id);
  Result<std::vector<PortBinding>> claimPorts(const std::string& id,
                                              const std::vector<PortBinding>& want);
  void releasePorts(const std::string& id);
  // Adds (or removes) published ports: the DNAT map elements, and the redirect of the
  // host's own TCP clients when the kernel has it (sys/connect_redirect.h).
  Status publish(const std::vector<network::PortMap>& maps, bool add);
  network::DnsReply answer(const network::DnsQuestion& q);

  // Sandboxes are taken from a few namespaces made ahead of time by a background thread
  // (a namespace costs 0.3-0.7 ms of kernel time, on the start's critical path otherwise).
  struct Prepared {
    std::string path;     // the namespace
    std::string host_if;  // "" or a veth on the default bridge, its eth0 inside
  };
  Result<Prepared> takeNamespace(bool bridged, sys::Fd& fd);
  Result<Prepared> prepare(bool bridged);
  void fillPool();

  NetworkOptions opts_;
  ContainerStore& store_;
  std::unique_ptr<network::DnsServer> dns_;
  std::unique_ptr<sys::ConnectRedirect> redirect_;  // null: the DNAT rules alone
  std::atomic<std::shared_ptr<const DnsZone>> zone_;

  std::mutex mu_;                            // guards everything below
  std::map<std::string, Network> networks_;  // id → network
  std::map<std::string, std::map<std::string, Attachment>>
      attached_;                             // network id → container id → …
  std::map<std::string, uint32_t> last_ip_;  // network id → last handed out
  std::vector<Published> published_;
  std::set<std::string> restored_sandboxes_;

  std::mutex chains_mu_;  // serialises applyChains()

  std::mutex pool_mu_;  // guards pool_, reap_, stopping_
  std::condition_variable pool_cv_;
  std::vector<Prepared> pool_;     // ready namespaces
  std::vector<std::string> reap_;  // host veths of exited containers, to delete
  bool stopping_ = false;
  std::thread filler_;
};

}  // namespace berth::engine
