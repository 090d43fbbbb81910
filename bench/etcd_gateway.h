#pragma once
// The thinnest client of etcd's JSON gateway we can write, for the benchmarks' reference
// side (bench/store_load.cc, bench/catalog_latency.cc): one keep-alive HTTP/1.1
// connection on loopback, raw socket calls, no library between the bench and etcd.
// Any failure ends the process with a message (a bench has nothing to recover).
//
// Thread-compatible: one request at a time per RawGateway.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "ipv4_endpoint.h"

namespace berth::bench {

class RawGateway {
 public:
  // `endpoint`: "127.0.0.1:2379".
  explicit RawGateway(const std::string& endpoint) : host_(endpoint) {
    std::optional<sockaddr_in> addr = ipv4Endpoint(endpoint);
    if (!addr) die("endpoint '" + endpoint + "': expected IPV4:PORT");
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) != 0)
      die("connect " + endpoint + ": " + std::strerror(errno));
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~RawGateway() { ::close(fd_); }
  RawGateway(const RawGateway&) = delete;
  RawGateway& operator=(const RawGateway&) = delete;

  // POSTs `body` (JSON) to `path` and reads the whole answer, which must be 200.
  void post(const std::string& path, const std::string& body) {
    bool chunked = send(path, body);
    if (!chunked) return;
    while (true) {
      size_t eol;
      while ((eol = buf_.find("\r\n")) == std::string::npos) fill();
      size_t size = std::stoul(buf_.substr(0, eol), nullptr, 16);
      while (buf_.size() < eol + 2 + size + 2) fill();
      buf_.erase(0, eol + 2 + size + 2);
      if (size == 0) return;
    }
  }

  // POSTs a request whose answer streams (/v3/watch) and returns after the answer's head;
  // readSome() then gives the body as it arrives.
  void postStreaming(const std::string& path, const std::string& body) {
    if (!send(path, body)) die("gateway: " + path + " answered with a length, not a stream");
  }

  // The next bytes of a streaming answer (chunk framing included: the gateway sends each
  // message as one chunk, so a message's text is never cut by it); blocks until some come;
  // "" once the connection is closed or shut down.
  std::string readSome() {
    if (buf_.empty() && !fillOnce()) return "";
    std::string out;
    out.swap(buf_);
    return out;
  }

  // Ends the connection: a readSome() blocked in another thread returns "".
  void shutdown() { ::shutdown(fd_, SHUT_RDWR); }

 private:
  [[noreturn]] static void die(const std::string& m) {
    std::fprintf(stderr, "etcd gateway: %s\n", m.c_str());
    std::exit(1);
  }

  // Sends the request and reads the answer's head; reads a Content-Length body too.
  // Returns whether the body is chunked (left to the caller).
  bool send(const std::string& path, const std::string& body) {
    std::string req =
        "POST " + path + " HTTP/1.1\r\nHost: " + host_ +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\n\r\n" + body;
    if (::write(fd_, req.data(), req.size()) != static_cast<ssize_t>(req.size()))
      die("write to the gateway");
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) fill();
    if (buf_.compare(0, 12, "HTTP/1.1 200") != 0) die(path + ": " + buf_.substr(0, 200));
    std::string head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    if (size_t cl = head.find("Content-Length: "); cl != std::string::npos) {
      size_t total = std::stoul(head.substr(cl + 16));
      while (buf_.size() < total) fill();
      buf_.erase(0, total);
      return false;
    }
    if (head.find("Transfer-Encoding: chunked") == std::string::npos)
      die(path + ": an answer without a length");
    return true;
  }

  void fill() {
    if (!fillOnce()) die("read from the gateway: the connection closed");
  }

  bool fillOnce() {
    char piece[64 << 10];
    ssize_t n = ::read(fd_, piece, sizeof piece);
    if (n <= 0) return false;
    buf_.append(piece, static_cast<size_t>(n));
    return true;
  }

  int fd_;
  std::string host_;
  std::string buf_;
};

}  // namespace berth::bench
