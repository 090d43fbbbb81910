#pragma once
// Socket addresses and sockets as the DNS server needs them: IP literals for listening,
// "ip:port" for upstreams, and non-blocking bound sockets whose bind failures read as
// berth errors.

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"
#include "sys/fd.h"

namespace berth::network {

// An IPv4 or IPv6 socket address.
struct SockAddr {
  sockaddr_storage ss{};
  socklen_t len = sizeof(sockaddr_storage);  // recvfrom/accept fill it in

  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&ss); }
  sockaddr* sa() { return reinterpret_cast<sockaddr*>(&ss); }
  int family() const { return ss.ss_family; }
  uint16_t port() const;
  void setPort(uint16_t port);
  // The address alone, as inet_ntop writes it: "10.89.0.1", "fd00::1".
  std::string ip() const;
};

// An IP literal without a zone ("10.89.0.1", "fd00::1"); nullopt for anything else.
std::optional<SockAddr> ipAddress(const std::string& ip, uint16_t port);

// "ip", "ip:port", "ipv6", "[ipv6]" or "[ipv6]:port", an IPv6 address possibly with a zone
// ("fe80::1%eth0"); a missing port is `default_port`. nullopt for anything else, port 0
// included.
std::optional<SockAddr> hostPortAddress(const std::string& text, uint16_t default_port);

// "10.89.0.1:53", "[fd00::1]:53": how messages name a socket address.
std::string hostPort(const std::string& ip, uint16_t port);

// A non-blocking, close-on-exec socket of `type` (SOCK_DGRAM, or SOCK_STREAM then
// listening) bound to `addr`. Errors read "`what`: cause"; a failed bind is kUnavailable
// (the address may come up, the port may free up) unless it was not permitted.
Result<sys::Fd> boundSocket(int type, const SockAddr& addr, const std::string& what);

// The port a socket is bound to, 0 if it cannot be read.
uint16_t localPort(int fd);

}  // namespace berth::network
