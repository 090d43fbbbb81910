#pragma once
// Network drivers: how a network exists in the kernel and how a container's network
// namespace joins it. The engine decides (addresses, names, which networks); a driver only
// carries it out, over netlink. The drivers are listed in registry.cc.
//
// Every call is idempotent where the kernel lets it be: up() on an existing bridge
// completes what is missing, down() and detach() of what is gone succeed. Thread-safety:
// drivers keep no state; calls for different networks or endpoints may run in parallel.

#include <map>
#include <string>
#include <string_view>

#include "common/result.h"

namespace berth::network {

struct NetworkSpec {
  std::string id;
  std::string name;
  std::string driver;     // "bridge", "macvlan"
  std::string interface;  // the bridge (bridge) or the parent (macvlan)
  std::string subnet;     // "10.89.0.0/24"
  std::string gateway;    // "10.89.0.1"
  bool internal = false;
  std::map<std::string, std::string> options;
};

struct EndpointSpec {
  std::string host_if;  // the host end of a veth (bridge); unused for macvlan
  std::string if_name;  // the interface in the container ("eth0")
  std::string ip;
  int prefix_len = 0;
  std::string mac;
  std::string gateway;         // "": no route through this network
  bool default_route = false;  // the route to everywhere goes through `gateway`
  bool prepared = false;       // the interface is there already (BridgeDriver::plug)
};

class Driver {
 public:
  virtual ~Driver() = default;
  // Checks the options of a new network and fills what the driver decides (`interface`).
  // kInvalidArgument names the option.
  virtual Status check(NetworkSpec& spec) = 0;
  // Makes the network exist in the kernel (after check(), and again at every daemon start).
  virtual Status up(const NetworkSpec& spec) = 0;
  virtual Status down(const NetworkSpec& spec) = 0;
  // Gives the namespace `netns_fd` an interface on the network, addressed and up.
  virtual Status attach(const NetworkSpec& spec, const EndpointSpec& ep, int netns_fd) = 0;
  // Removes it again; `netns_fd` -1 when the namespace is gone already.
  virtual Status detach(const NetworkSpec& spec, const EndpointSpec& ep, int netns_fd) = 0;
};

// The driver called `name`, or nullptr.
Driver* findDriver(std::string_view name);

}  // namespace berth::network
