#pragma once
// The nftables rules berth owns, as scripts (sys::nftApply applies each as one
// transaction). Everything lives in one table (default `ip berth`) that nothing else
// touches:
//
//   map pub_any   proto . host port           → container address . port  (every local address)
//   map pub_ip    host address . proto . port → container address . port
//   chain publish     DNAT through the maps; jumped to from prerouting (other hosts,
//                     containers) and output (the host itself) for local destinations
//   chain postrouting masquerade: leaving a bridge's subnet for elsewhere (not internal
//                     networks), loopback clients of a published port (their 127.0.0.1
//                     cannot leave the host), hairpin (a container reaching a published port
//                     on its own bridge), so replies come back through the NAT
//   chain forward     published and established traffic passes; internal networks reach
//                     nothing outside their bridge; bridges are isolated from each other
//
// Published ports are map elements, so adding or removing one is one element change and
// re-adding everything after a crash duplicates nothing. The chains are re-rendered
// whole (flushed and filled in the same transaction) when a network comes or goes.

#include <cstdint>
#include <string>
#include <vector>

namespace berth::network {

struct BridgeRules {
  std::string interface;  // "berth0", "br-1a2b3c4d5e6f"
  std::string subnet;     // "10.88.0.0/16"
  bool internal = false;
};

struct PortMap {
  std::string host_ip;   // "" every local address
  std::string protocol;  // "tcp" or "udp"
  uint16_t host_port = 0;
  std::string container_ip;
  uint16_t container_port = 0;
};

// Creates the table, maps and chains if missing and (re)writes the chains' rules.
std::string chainsScript(const std::string& table, const std::vector<BridgeRules>& bridges);
// Adds (or deletes) published ports.
std::string portsScript(const std::string& table, const std::vector<PortMap>& ports, bool add);
// Empties both maps and adds `ports`: the state after a daemon restart.
std::string resetPortsScript(const std::string& table, const std::vector<PortMap>& ports);
// Deletes the table and everything in it.
std::string deleteTableScript(const std::string& table);

}  // namespace berth::network
