#pragma once
// Published ports for clients on the host itself, without NAT per packet.
//
// A published port is a DNAT rule (network/ruleset.h), and that stays the path for other
// hosts, containers and UDP. For a TCP client on the host, berthd also loads two cgroup
// BPF programs (bpf/connect_redirect.bpf.c) and attaches them to the root of the cgroup2
// hierarchy: connect() to a published address:port (an exact host address, or any
// 127.0.0.0/8 address for a port published on every address) goes to the container's
// address:port directly, so the connection's packets are never rewritten; getpeername()
// still answers the address the client asked for. Only sockets in berthd's own network
// namespace are redirected (a container's 127.0.0.1 is its own).
//
// Lifecycle: the programs are attached through BPF links held by this object: they go
// when it is destroyed or berthd dies, and connections made then take the DNAT rules,
// which are always in place. Each berthd has its own maps; several on one host do not
// see each other's ports.
//
// Thread-safety: add/remove/reset may be called from any thread (the kernel's map
// updates are atomic per element; reset is not atomic as a whole).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

struct bpf_object;
struct bpf_link;

namespace berth::sys {

struct RedirectedPort {
  std::string host_ip;  // "" or "0.0.0.0": every local address (loopback clients only)
  uint16_t host_port = 0;
  std::string container_ip;
  uint16_t container_port = 0;
};

class ConnectRedirect {
 public:
  // Loads and attaches the programs. kUnsupported when the kernel lacks cgroup2, cgroup
  // BPF or network namespace cookies (berthd then runs with the DNAT rules alone).
  static Result<std::unique_ptr<ConnectRedirect>> open();
  ~ConnectRedirect();
  ConnectRedirect(const ConnectRedirect&) = delete;
  ConnectRedirect& operator=(const ConnectRedirect&) = delete;

  // Adds or replaces the redirect of a TCP port.
  Status add(const RedirectedPort& p);
  // Removes it; removing one that is not there is not an error.
  Status remove(const RedirectedPort& p);
  // Exactly `ports` from now on.
  Status reset(const std::vector<RedirectedPort>& ports);

 private:
  ConnectRedirect() = default;

  bpf_object* obj_ = nullptr;
  bpf_link* connect_ = nullptr;
  bpf_link* peer_name_ = nullptr;
  int published_ = -1;  // the map's descriptor, owned by obj_
};

}  // namespace berth::sys
