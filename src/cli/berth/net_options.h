#pragma once
// The networking flags, parsed into the native API's bodies (src/api/native_api.md):
// run/create's -p, --expose, --ip, --mac-address, --link and --dns (run_options.cc puts
// them into the create body), and `network create` / `network connect`. Pure, like
// run_options.h: a bad value is refused with its reason before anything is sent.
//
// The parsers return the cause alone ("container port must be a number 1-65535"); the
// caller puts "invalid --publish '80:abc': " in front (flagError in run_options.h).
// IPv4 only: an IPv6 address is refused as "not supported yet".

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::cli {

// -p [IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp], where either port may be a range
// ("8000-8002:80-82"): one port object of the create body per container port,
// {"container_port","protocol","host_ip","host_port"}. No host port is 0 (the daemon picks
// a free one); no IP is "" (every local address). A host range needs a container range of
// the same size: picking one free port out of a host range (docker's "8000-8010:80") is
// refused, since the API takes one host port per entry.
Result<std::vector<nlohmann::json>> parsePublish(std::string_view text);
// --expose PORT[-END][/tcp|udp] → {"80/tcp", …}, one per port.
Result<std::vector<std::string>> parseExpose(std::string_view text);

// A dotted-quad IPv4 address ("10.89.0.9") as a number.
Result<uint32_t> parseIpv4(std::string_view text);
// An IPv4 CIDR ("10.89.0.0/24"), its host bits clear.
struct Cidr {
  uint32_t address = 0;
  int prefix_len = 0;
  bool contains(uint32_t ip) const;
  bool contains(const Cidr& other) const;
};
Result<Cidr> parseCidr(std::string_view text);
// A unicast MAC address, "02:42:0A:59:00:09" or with '-': returned as "02:42:0a:59:00:09".
Result<std::string> parseMac(std::string_view text);
// A network, container or alias name: [a-zA-Z0-9][a-zA-Z0-9_.-]*.
Status checkName(std::string_view text);
// --link NAME[:ALIAS].
Status checkLink(std::string_view text);

// `berth network create` as typed.
struct NetworkCreateFlags {
  std::string name;
  std::string driver = "bridge";  // bridge or macvlan
  std::string subnet, gateway, ip_range;
  bool internal = false;
  std::vector<std::string> options;  // -o K=V (parent=eth1 for macvlan)
  std::vector<std::string> labels;   // --label K=V
};
// The body of POST /v1/networks, every field present: {"name","driver","subnet","gateway",
// "ip_range","internal","options","labels"}. The gateway and the IP range must lie in
// the subnet, and need one.
Result<nlohmann::json> networkCreateBody(const NetworkCreateFlags& flags);
// The body of POST /v1/networks/{id}/connect: {"container","aliases","ip","mac"}.
Result<nlohmann::json> networkConnectBody(const std::string& container, const std::string& ip,
                                          const std::vector<std::string>& aliases);
// One `network ls --filter`: name=, driver= or label=K[=V].
Status checkNetworkFilter(std::string_view filter);

}  // namespace berth::cli
