#pragma once
// The drivers (see driver.h for the contract).

#include "network/driver.h"

namespace berth::network {

class BridgeDriver : public Driver {
 public:
  Status check(NetworkSpec& spec) override;
  Status up(const NetworkSpec& spec) override;
  Status down(const NetworkSpec& spec) override;
  Status attach(const NetworkSpec& spec, const EndpointSpec& ep, int netns_fd) override;
  Status detach(const NetworkSpec& spec, const EndpointSpec& ep, int netns_fd) override;
  // The host's half of attach(): a veth whose host end `host_if` is on the bridge (up,
  // hairpin) and whose other end `if_name` waits, unaddressed and down, in `netns_fd`.
  // attach() with `prepared` then only addresses it.
  Status plug(const NetworkSpec& spec, const std::string& host_if, const std::string& if_name,
              int netns_fd);
};

// macvlan in bridge mode on a parent interface: containers are stations on the parent's
// segment, reachable from it (not from the host itself, as the kernel has it).
class MacvlanDriver : public Driver {
 public:
  Status check(NetworkSpec& spec) override;
  Status up(const NetworkSpec& spec) override;
  Status down(const NetworkSpec& spec) override;
  Status attach(const NetworkSpec& spec, const EndpointSpec& ep, int netns_fd) override;
  Status detach(const NetworkSpec& spec, const EndpointSpec& ep, int netns_fd) override;
};

// Addresses, MAC, up and the default route of `ep.if_name` inside the namespace; the
// default route's own MTU is `default_route_mtu` (0: the link's).
Status configureInside(int netns_fd, const EndpointSpec& ep, int default_route_mtu = 0);

}  // namespace berth::network
