#pragma once
// "IPV4:PORT" as the benchmarks' tools take their targets ("127.0.0.1:5353").

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

namespace berth::bench {

// nullopt unless `endpoint` is an IPv4 address, a colon and a port.
inline std::optional<sockaddr_in> ipv4Endpoint(const std::string& endpoint) {
  size_t colon = endpoint.rfind(':');
  sockaddr_in a{};
  a.sin_family = AF_INET;
  if (colon == std::string::npos ||
      inet_pton(AF_INET, endpoint.substr(0, colon).c_str(), &a.sin_addr) != 1)
    return std::nullopt;
  int port = std::atoi(endpoint.c_str() + colon + 1);
  if (port <= 0 || port > 65535) return std::nullopt;
  a.sin_port = htons(static_cast<uint16_t>(port));
  return a;
}

}  // namespace berth::bench
