#include "network/dns_socket.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>

#include "common/strings.h"

namespace berth::network {
namespace {

constexpr int kListenBacklog = 128;

// A bind failure is "unavailable" (the address may come up, the port may free up), but
// lacking the right to bind a low port stays what it is.
Error bindError(const std::string& what, int err) {
  Error e = errnoError(what, err);
  if (e.code() == ErrorCode::kPermissionDenied) return e;
  return unavailable(e.message());
}

}  // namespace

uint16_t SockAddr::port() const {
  return ntohs(family() == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port
                                    : reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
}

void SockAddr::setPort(uint16_t p) {
  if (family() == AF_INET6)
    reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port = htons(p);
  else
    reinterpret_cast<sockaddr_in*>(&ss)->sin_port = htons(p);
}

std::string SockAddr::ip() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET6)
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, buf, sizeof buf);
  else
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, buf, sizeof buf);
  return buf;
}

std::optional<SockAddr> ipAddress(const std::string& ip, uint16_t port) {
  SockAddr a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.ss);
  if (::inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    a.len = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    a.len = sizeof(sockaddr_in6);
  } else {
    return std::nullopt;
  }
  a.setPort(port);
  return a;
}

std::string hostPort(const std::string& ip, uint16_t port) {
  bool v6 = ip.find(':') != std::string::npos;
  return (v6 ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

std::optional<SockAddr> hostPortAddress(const std::string& text, uint16_t default_port) {
  std::string host = text, port = std::to_string(default_port);
  if (startsWith(text, "[")) {
    size_t close = text.find(']');
    if (close == std::string::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    std::string rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return std::nullopt;
      port = rest.substr(1);
    }
  } else if (size_t colon = text.find(':');
             colon != std::string::npos && text.find(':', colon + 1) == std::string::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  auto p = parseInt(port);
  if (!p || *p <= 0 || *p > 65535) return std::nullopt;
  // getaddrinfo rather than inet_pton, for it turns an IPv6 zone into a scope id;
  // AI_NUMERICHOST keeps it off the network.
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr)
    return std::nullopt;
  SockAddr a;
  std::memcpy(&a.ss, res->ai_addr, res->ai_addrlen);
  a.len = res->ai_addrlen;
  ::freeaddrinfo(res);
  return a;
}

Result<sys::Fd> boundSocket(int type, const SockAddr& addr, const std::string& what) {
  sys::Fd fd(::socket(addr.family(), type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return errnoError(what + ": socket", errno);
  int one = 1;
  // TCP: a restarted berthd must rebind while old connections sit in TIME_WAIT.
  if (type == SOCK_STREAM) ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (addr.family() == AF_INET6)
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd.get(), addr.sa(), addr.len) != 0) return bindError(what, errno);
  if (type == SOCK_STREAM && ::listen(fd.get(), kListenBacklog) != 0) return bindError(what, errno);
  return fd;
}

uint16_t localPort(int fd) {
  SockAddr a;
  if (::getsockname(fd, a.sa(), &a.len) != 0) return 0;
  return a.port();
}

}  // namespace berth::network
