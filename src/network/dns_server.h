#pragma once
// The embedded DNS server of berthd: each network's gateway address gets a listener that
// containers' resolv.conf points to. Names the engine knows (containers, later
// NAME.service.berth) are answered by a handler; everything else is relayed to the host's
// resolvers. Messages are parsed and built with ldns (dns_message.h); this file owns the
// sockets and the one thread that serves them.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "network/resolv_conf.h"  // nameserversFrom, containerResolvConf: set up together

namespace berth::network {

struct DnsQuestion {
  std::string name;         // lowercase, no trailing dot: "web" or "web.service.berth"
  uint16_t type = 0;        // 1 A, 28 AAAA, 33 SRV, 255 ANY …
  std::string local_addr;   // the address the query arrived on ("10.89.0.1"): which network asks
  std::string client_addr;  // the asker's address
};

struct DnsRecord {
  std::string name;  // owner, no trailing dot
  uint16_t type = 1;
  uint32_t ttl = 0;
  std::string data;  // rdata in presentation form: "10.89.0.2", or SRV "0 0 80 web-1.node.berth"
};

enum class DnsVerdict { kAnswer, kNxDomain, kForward };

struct DnsReply {
  DnsVerdict verdict = DnsVerdict::kForward;
  std::vector<DnsRecord> answers;     // kAnswer with no answers = NODATA (NOERROR, empty) —
  std::vector<DnsRecord> additional;  //   musl/busybox need that rather than NXDOMAIN for AAAA
  // The reply depends on the question's name and type alone, whoever asks and wherever,
  // and holds until DnsServer::invalidate(): the server keeps it and answers the same
  // question from memory, without calling the handler, rotating the answers from one
  // reply to the next. (kForward is never kept.)
  bool cacheable = false;
};

// Called on a serving thread for the first question of every class-IN query the server
// keeps no reply for; that thread serves nothing else meanwhile, so it must answer from
// memory and never block. With DnsServerOptions::threads > 1 it is called from several
// threads at once. An exception it throws becomes SERVFAIL; a record whose data does not
// parse makes the whole reply SERVFAIL (and a warning in the log).
using DnsHandler = std::function<DnsReply(const DnsQuestion&)>;

// Limits; the defaults suit production, tests shorten them.
struct DnsServerOptions {
  // Budget for a forwarded query across all upstreams (each gets an equal share of what
  // is left), after which the client gets SERVFAIL.
  std::chrono::milliseconds forward_timeout{2000};
  // A TCP connection with nothing in flight for this long is closed.
  std::chrono::milliseconds tcp_idle_timeout{10000};
  // Open TCP client connections across all listeners; a new one beyond it evicts the
  // connection idle longest (or is refused when every connection has work in flight).
  size_t max_tcp_connections = 128;
  // Forwarded queries in flight (each holds a socket) per serving thread; beyond it
  // clients get SERVFAIL.
  size_t max_forwards = 512;
  // Serving threads. Each waits on every UDP socket and the kernel hands a datagram to
  // one of them; the first also serves TCP. More than one makes the handler concurrent.
  size_t threads = 1;
};

// Serves DNS over UDP and TCP on any number of addresses. Each serving thread polls the
// sockets it serves; a forwarded query never blocks others (its upstream socket joins the
// poll set of the thread that took the query).
//
// Replies: only the first question is handled; RD, CD and the ID are copied, RA is set,
// AA on our own answers. A packet too short for a header, or one that is a response, is
// dropped; one whose header parses but whose body does not is answered FORMERR; an opcode
// other than QUERY gets NOTIMP. UDP answers larger than 512 bytes (or the client's EDNS
// size, capped at 1232) keep the answers that fit and set TC, so clients retry over TCP.
// TCP carries several queries per connection (answered possibly out of order, RFC 7766).
//
// Speed: UDP datagrams are read and answered in batches (recvmmsg, sendmmsg), and a reply
// the handler marks cacheable is kept, encoded, by question (name in any case, type) and
// served from memory until invalidate(), its answers rotated from one reply to the next;
// see bench/dns.sh and bench/RESULTS.md.
//
// Forwarding relays the client's query unchanged to the upstreams in order over UDP (one
// socket per query, so IDs never need rewriting), retrying over TCP when a TCP client's
// answer comes back truncated; an upstream that refuses (ICMP, REFUSED, SERVFAIL) or
// stays silent past its share of the budget hands over to the next. The upstream's reply
// goes back to the client unchanged.
//
// Thread-safety: every method may be called from any thread while serving, including
// from the handler (then unlisten takes effect before the next poll rather than on
// return). The destructor must not be called from the handler.
class DnsServer {
 public:
  // Upstreams are "ip", "ip:port", "[ipv6]:port" (IPv6 may carry a zone, "fe80::1%eth0");
  // invalid entries are logged and skipped. Starts the serving thread.
  DnsServer(DnsHandler handler, std::vector<std::string> upstreams, DnsServerOptions options = {});
  // Stops the thread and closes every socket; forwarded queries in flight are dropped.
  ~DnsServer();
  DnsServer(const DnsServer&) = delete;
  DnsServer& operator=(const DnsServer&) = delete;

  // Binds UDP and TCP on addr:port (port 0: any free one, the same number for both) and
  // returns the port. kInvalidArgument for an address that is not an IP literal;
  // kAlreadyExists when already listening there; kUnavailable with the errno text when a
  // bind fails ("listen dns on '10.89.0.1:53': address already in use"), except that a
  // privileged port without the right to bind it is kPermissionDenied.
  Result<uint16_t> listen(const std::string& addr, uint16_t port = 53);
  // Closes the listeners on every port of `addr` and the TCP connections they accepted;
  // when it returns (off the serving thread) nothing more is answered there. Unknown
  // addresses are ignored.
  void unlisten(const std::string& addr);
  // Replaces the upstreams for queries forwarded from now on.
  void setUpstreams(std::vector<std::string> upstreams);
  // Forgets every reply kept (DnsReply::cacheable): call it whenever what the handler
  // would answer changes (Catalog::onChange). Cheap (an atomic increment) and never
  // blocks; queries read after it returns are answered by the handler again.
  void invalidate();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::network
