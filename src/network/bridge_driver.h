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

// Addresses, MAC, up and the default route of `ep.if_name` inside the namespace.
Status configureInside(int netns_fd, const EndpointSpec& ep);

}  // namespace berth::network
