#include "network/dns_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <optional>
#include <stdexcept>

#include "gtest/gtest.h"
#include "network/dns_message.h"
#include "network/ldns.h"
#include "sys/fd.h"

namespace berth::network {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using Wire = std::vector<uint8_t>;

// ---- a client, built on ldns and plain sockets ----

struct PktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktFree>;

Wire toWire(const ldns_pkt* p) {
  uint8_t* data = nullptr;
  size_t size = 0;
  EXPECT_EQ(ldns_pkt2wire(&data, p, &size), LDNS_STATUS_OK);
  Wire w(data, data + size);
  free(data);
  return w;
}

Wire makeQuery(const std::string& name, ldns_rr_type type, uint16_t id, uint16_t edns_size = 0,
               bool rd = true) {
  Pkt p(ldns_pkt_query_new(ldns_dname_new_frm_str(name.c_str()), type, LDNS_RR_CLASS_IN,
                           rd ? LDNS_RD : 0));
  ldns_pkt_set_id(p.get(), id);
  if (edns_size != 0) ldns_pkt_set_edns_udp_size(p.get(), edns_size);
  return toWire(p.get());
}

Pkt parse(const Wire& w) {
  ldns_pkt* p = nullptr;
  EXPECT_EQ(ldns_wire2pkt(&p, w.data(), w.size()), LDNS_STATUS_OK);
  return Pkt(p);
}

// The records of a section as "owner TYPE rdata": "web. A 10.89.0.2".
std::vector<std::string> records(const ldns_pkt* p, ldns_pkt_section section) {
  std::vector<std::string> out;
  ldns_rr_list* list = ldns_pkt_get_section_clone(p, section);
  for (size_t i = 0; i < ldns_rr_list_rr_count(list); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(list, i);
    char* owner = ldns_rdf2str(ldns_rr_owner(rr));
    char* type = ldns_rr_type2str(ldns_rr_get_type(rr));
    std::string s = std::string(owner) + " " + type;
    free(owner);
    free(type);
    for (size_t j = 0; j < ldns_rr_rd_count(rr); ++j) {
      char* field = ldns_rdf2str(ldns_rr_rdf(rr, j));
      s += std::string(" ") + field;
      free(field);
    }
    out.push_back(s);
  }
  ldns_rr_list_deep_free(list);
  return out;
}

sockaddr_in loopback(uint16_t port, const char* ip = "127.0.0.1") {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

// Waits for `events` on `fd`; false at the deadline.
bool waitFor(int fd, short events, milliseconds timeout) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) > 0;
}

class UdpClient {
 public:
  explicit UdpClient(uint16_t port, const char* ip = "127.0.0.1")
      : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in a = loopback(port, ip);
    EXPECT_EQ(::connect(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  }
  void send(const Wire& q) {
    EXPECT_EQ(::send(fd_.get(), q.data(), q.size(), 0), (ssize_t)q.size());
  }
  // The next datagram, or nullopt at the deadline; `err` gets a socket error (ICMP).
  std::optional<Wire> receive(milliseconds timeout = milliseconds(3000), int* err = nullptr) {
    if (!waitFor(fd_.get(), POLLIN, timeout)) return std::nullopt;
    Wire buf(65536);
    ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
    if (n < 0) {
      if (err) *err = errno;
      return std::nullopt;
    }
    buf.resize(n);
    return buf;
  }
  Pkt ask(const Wire& q) {
    send(q);
    std::optional<Wire> r = receive();
    EXPECT_TRUE(r) << "no reply";
    return r ? parse(*r) : nullptr;
  }

 private:
  sys::Fd fd_;
};

class TcpClient {
 public:
  explicit TcpClient(uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in a = loopback(port);
    connect_errno_ =
        ::connect(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 ? 0 : errno;
  }
  int connectErrno() const { return connect_errno_; }
  static Wire frame(const Wire& q) {
    Wire f{static_cast<uint8_t>(q.size() >> 8), static_cast<uint8_t>(q.size())};
    f.insert(f.end(), q.begin(), q.end());
    return f;
  }
  void sendRaw(const Wire& bytes) {
    EXPECT_EQ(::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL), (ssize_t)bytes.size());
  }
  void send(const Wire& q) { sendRaw(frame(q)); }
  // The next framed message; nullopt at the deadline or when the server closed.
  std::optional<Wire> receive(milliseconds timeout = milliseconds(3000)) {
    Clock::time_point end = Clock::now() + timeout;
    while (true) {
      if (buf_.size() >= 2) {
        size_t len = (size_t{buf_[0]} << 8) | buf_[1];
        if (buf_.size() >= 2 + len) {
          Wire m(buf_.begin() + 2, buf_.begin() + 2 + len);
          buf_.erase(buf_.begin(), buf_.begin() + 2 + len);
          return m;
        }
      }
      auto left = std::chrono::duration_cast<milliseconds>(end - Clock::now());
      if (left.count() <= 0 || !waitFor(fd_.get(), POLLIN, left)) return std::nullopt;
      uint8_t chunk[65536];
      ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, 0);
      if (n <= 0) return std::nullopt;
      buf_.insert(buf_.end(), chunk, chunk + n);
    }
  }
  // True when the server closes the connection within `timeout`.
  bool closedWithin(milliseconds timeout) {
    if (!waitFor(fd_.get(), POLLIN, timeout)) return false;
    uint8_t b;
    return ::recv(fd_.get(), &b, 1, 0) <= 0;
  }
  Pkt ask(const Wire& q) {
    send(q);
    std::optional<Wire> r = receive();
    EXPECT_TRUE(r) << "no reply";
    return r ? parse(*r) : nullptr;
  }

 private:
  sys::Fd fd_;
  int connect_errno_ = 0;
  Wire buf_;
};

// A UDP port nobody listens on: bound, then closed.
uint16_t closedUdpPort() {
  sys::Fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in a = loopback(0);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

// ---- the names the servers under test know ----

DnsRecord a(std::string name, std::string ip, uint32_t ttl = 60) {
  return {std::move(name), 1, ttl, std::move(ip)};
}

DnsReply answer(std::vector<DnsRecord> answers, std::vector<DnsRecord> additional = {}) {
  return {DnsVerdict::kAnswer, std::move(answers), std::move(additional)};
}

std::vector<DnsRecord> manyA(const std::string& name, int n) {
  std::vector<DnsRecord> out;
  for (int i = 1; i <= n; ++i) out.push_back(a(name, "10.0.0." + std::to_string(i)));
  return out;
}

// What berthd's engine would answer: its own names, NXDOMAIN for the rest of .berth and
// bare names, everything else to the upstream.
DnsReply localNames(const DnsQuestion& q) {
  if (q.name == "web") return q.type == 1 ? answer({a("web", "10.89.0.2")}) : answer({});
  if (q.name == "web.service.berth" && q.type == 33)
    return answer({{"web.service.berth", 33, 5, "0 0 80 web-1.node.berth"}},
                  {a("web-1.node.berth", "10.89.0.2", 5)});
  if (q.name == "big") return answer(manyA("big", 60));
  if (q.name == "broken") return answer({a("broken", "10.0.0")});
  if (q.name == "throws") throw std::runtime_error("boom");
  if (q.name.find('.') == std::string::npos || q.name.ends_with(".berth"))
    return {DnsVerdict::kNxDomain, {}, {}};
  return {};
}

class DnsServerTest : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }

  void start(std::vector<std::string> upstreams, DnsServerOptions options = {}) {
    server_ = std::make_unique<DnsServer>(
        [this](const DnsQuestion& q) {
          {
            std::lock_guard<std::mutex> lk(mu_);
            asked_.push_back(q);
          }
          if (q.name == "changing.service.berth") {
            // The catalog changes while the handler reads it.
            server_->invalidate();
            DnsReply r = answer({a(q.name, "10.0.0.5")});
            r.cacheable = true;
            return r;
          }
          if (q.name == "svc.service.berth") {
            std::lock_guard<std::mutex> lk(mu_);
            DnsReply r = answer(kept_answers_);
            r.cacheable = true;
            return r;
          }
          return localNames(q);
        },
        std::move(upstreams), options);
    Result<uint16_t> port = server_->listen("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.error().message();
    port_ = *port;
  }

  DnsQuestion lastAsked() {
    std::lock_guard<std::mutex> lk(mu_);
    return asked_.empty() ? DnsQuestion{} : asked_.back();
  }

  size_t timesAsked(const std::string& name) {
    std::lock_guard<std::mutex> lk(mu_);
    return std::count_if(asked_.begin(), asked_.end(),
                         [&](const DnsQuestion& q) { return q.name == name; });
  }

  std::mutex mu_;
  std::vector<DnsQuestion> asked_;  // GUARDED_BY(mu_)
  // What svc.service.berth answers, a reply the server may keep.
  std::vector<DnsRecord> kept_answers_ = {a("svc.service.berth", "10.0.0.1"),  // GUARDED_BY(mu_)
                                          a("svc.service.berth", "10.0.0.2"),
                                          a("svc.service.berth", "10.0.0.3")};
  std::unique_ptr<DnsServer> server_;
  uint16_t port_ = 0;
};

TEST_F(DnsServerTest, AnswersA) {
  UdpClient c(port_);
  Pkt r = c.ask(makeQuery("web", LDNS_RR_TYPE_A, 4242));
  ASSERT_TRUE(r);
  EXPECT_EQ(ldns_pkt_id(r.get()), 4242);
  EXPECT_TRUE(ldns_pkt_qr(r.get()));
  EXPECT_TRUE(ldns_pkt_aa(r.get()));
  EXPECT_TRUE(ldns_pkt_ra(r.get()));
  EXPECT_TRUE(ldns_pkt_rd(r.get()));
  EXPECT_FALSE(ldns_pkt_tc(r.get()));
  EXPECT_EQ(ldns_pkt_get_rcode(r.get()), LDNS_RCODE_NOERROR);
  EXPECT_EQ(records(r.get(), LDNS_SECTION_QUESTION), std::vector<std::string>{"web. A"});
  EXPECT_EQ(records(r.get(), LDNS_SECTION_ANSWER), std::vector<std::string>{"web. A 10.89.0.2"});
  EXPECT_EQ(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(r.get()), 0)), 60u);

  DnsQuestion q = lastAsked();
  EXPECT_EQ(q.name, "web");
  EXPECT_EQ(q.type, 1);
  EXPECT_EQ(q.local_addr, "127.0.0.1");
  EXPECT_EQ(q.client_addr, "127.0.0.1");

  Pkt no_rd = c.ask(makeQuery("web", LDNS_RR_TYPE_A, 7, 0, /*rd=*/false));
  ASSERT_TRUE(no_rd);
  EXPECT_FALSE(ldns_pkt_rd(no_rd.get()));
}

TEST_F(DnsServerTest, NoDataForAaaaOfKnownName) {
  Pkt r = UdpClient(port_).ask(makeQuery("web", LDNS_RR_TYPE_AAAA, 1));
  ASSERT_TRUE(r);
  EXPECT_EQ(ldns_pkt_get_rcode(r.get()), LDNS_RCODE_NOERROR);
  EXPECT_TRUE(ldns_pkt_aa(r.get()));
  EXPECT_EQ(ldns_pkt_ancount(r.get()), 0);
}

TEST_F(DnsServerTest, NxDomain) {
  Pkt r = UdpClient(port_).ask(makeQuery("nope.berth", LDNS_RR_TYPE_A, 2));
  ASSERT_TRUE(r);
  EXPECT_EQ(ldns_pkt_get_rcode(r.get()), LDNS_RCODE_NXDOMAIN);
  EXPECT_TRUE(ldns_pkt_aa(r.get()));
  EXPECT_EQ(ldns_pkt_ancount(r.get()), 0);
}

TEST_F(DnsServerTest, SrvWithAdditionalA) {
  Pkt r = UdpClient(port_).ask(makeQuery("web.service.berth", LDNS_RR_TYPE_SRV, 3));
  ASSERT_TRUE(r);
  EXPECT_EQ(records(r.get(), LDNS_SECTION_ANSWER),
            std::vector<std::string>{"web.service.berth. SRV 0 0 80 web-1.node.berth."});
  EXPECT_EQ(records(r.get(), LDNS_SECTION_ADDITIONAL),
            std::vector<std::string>{"web-1.node.berth. A 10.89.0.2"});
}

TEST_F(DnsServerTest, NamesAreCaseInsensitive) {
  Pkt r = UdpClient(port_).ask(makeQuery("WeB.SeRvIcE.BeRtH.", LDNS_RR_TYPE_SRV, 4));
  ASSERT_TRUE(r);
  EXPECT_EQ(lastAsked().name, "web.service.berth");
  EXPECT_EQ(ldns_pkt_ancount(r.get()), 1);
  // The question comes back as asked (resolvers match it byte for byte, 0x20 encoding).
  EXPECT_EQ(records(r.get(), LDNS_SECTION_QUESTION),
            std::vector<std::string>{"WeB.SeRvIcE.BeRtH. SRV"});
}

TEST_F(DnsServerTest, EscapedLabelsRoundTrip) {
  Pkt r = UdpClient(port_).ask(makeQuery("a\\.b\\000c.berth", LDNS_RR_TYPE_A, 5));
  ASSERT_TRUE(r);
  EXPECT_EQ(ldns_pkt_get_rcode(r.get()), LDNS_RCODE_NXDOMAIN);
  EXPECT_EQ(records(r.get(), LDNS_SECTION_QUESTION),
            std::vector<std::string>{"a\\.b\\000c.berth. A"});
}

TEST_F(DnsServerTest, KeptRepliesRotateUntilInvalidated) {
  UdpClient c(port_);
  std::vector<std::string> firsts;
  for (uint16_t id = 1; id <= 4; ++id) {
    Pkt r =
        c.ask(makeQuery(id % 2 ? "svc.service.berth" : "SVC.Service.Berth", LDNS_RR_TYPE_A, id));
    ASSERT_TRUE(r);
    EXPECT_EQ(ldns_pkt_id(r.get()), id);
    std::vector<std::string> got = records(r.get(), LDNS_SECTION_ANSWER);
    ASSERT_EQ(got.size(), 3u);
    // The question and the owners as asked, whatever the case of the reply kept.
    EXPECT_EQ(records(r.get(), LDNS_SECTION_QUESTION)[0],
              id % 2 ? "svc.service.berth. A" : "SVC.Service.Berth. A");
    EXPECT_TRUE(got[0].starts_with(id % 2 ? "svc.service.berth. A " : "SVC.Service.Berth. A "));
    firsts.push_back(got[0].substr(got[0].rfind(' ') + 1));
  }
  // Asked once, then answered from memory, each reply starting on the next address.
  EXPECT_EQ(timesAsked("svc.service.berth"), 1u);
  EXPECT_EQ(firsts, (std::vector<std::string>{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.1"}));
  // Over TCP too.
  EXPECT_EQ(ldns_pkt_ancount(
                TcpClient(port_).ask(makeQuery("svc.service.berth", LDNS_RR_TYPE_A, 5)).get()),
            3);
  EXPECT_EQ(timesAsked("svc.service.berth"), 1u);

  // Another type is another question.
  Pkt aaaa = c.ask(makeQuery("svc.service.berth", LDNS_RR_TYPE_AAAA, 6));
  ASSERT_TRUE(aaaa);
  EXPECT_EQ(timesAsked("svc.service.berth"), 2u);

  {
    std::lock_guard<std::mutex> lk(mu_);
    kept_answers_ = {a("svc.service.berth", "10.0.0.9")};
  }
  server_->invalidate();
  Pkt r = c.ask(makeQuery("svc.service.berth", LDNS_RR_TYPE_A, 7));
  ASSERT_TRUE(r);
  EXPECT_EQ(records(r.get(), LDNS_SECTION_ANSWER),
            std::vector<std::string>{"svc.service.berth. A 10.0.0.9"});
  EXPECT_EQ(timesAsked("svc.service.berth"), 3u);
}

TEST_F(DnsServerTest, ReplyOutdatedWhileMadeIsNotKept) {
  UdpClient c(port_);
  ASSERT_TRUE(c.ask(makeQuery("changing.service.berth", LDNS_RR_TYPE_A, 1)));
  ASSERT_TRUE(c.ask(makeQuery("changing.service.berth", LDNS_RR_TYPE_A, 2)));
  EXPECT_EQ(timesAsked("changing.service.berth"), 2u);
}

TEST_F(DnsServerTest, RepliesNotMarkedCacheableAskTheHandlerEveryTime) {
  UdpClient c(port_);
  ASSERT_TRUE(c.ask(makeQuery("web", LDNS_RR_TYPE_A, 1)));
  ASSERT_TRUE(c.ask(makeQuery("web", LDNS_RR_TYPE_A, 2)));
  EXPECT_EQ(timesAsked("web"), 2u);
}

TEST_F(DnsServerTest, TwoQueriesOnOneTcpConnection) {
  TcpClient c(port_);
  ASSERT_EQ(c.connectErrno(), 0);
  // Both in one write: the server must split the stream by the length prefixes.
  Wire both = TcpClient::frame(makeQuery("web", LDNS_RR_TYPE_A, 10));
  Wire second = TcpClient::frame(makeQuery("nope.berth", LDNS_RR_TYPE_A, 11));
  both.insert(both.end(), second.begin(), second.end());
  c.sendRaw(both);
  std::optional<Wire> r1 = c.receive(), r2 = c.receive();
  ASSERT_TRUE(r1 && r2);
  Pkt p1 = parse(*r1), p2 = parse(*r2);
  EXPECT_EQ(ldns_pkt_id(p1.get()), 10);
  EXPECT_EQ(records(p1.get(), LDNS_SECTION_ANSWER), std::vector<std::string>{"web. A 10.89.0.2"});
  EXPECT_EQ(ldns_pkt_id(p2.get()), 11);
  EXPECT_EQ(ldns_pkt_get_rcode(p2.get()), LDNS_RCODE_NXDOMAIN);
  // And a third after the replies, on the same connection.
  Pkt p3 = c.ask(makeQuery("web", LDNS_RR_TYPE_AAAA, 12));
  ASSERT_TRUE(p3);
  EXPECT_EQ(ldns_pkt_id(p3.get()), 12);
}

TEST_F(DnsServerTest, BigUdpAnswerIsTruncatedAndTcpCarriesAll) {
  UdpClient u(port_);
  u.send(makeQuery("big", LDNS_RR_TYPE_A, 20));
  std::optional<Wire> w = u.receive();
  ASSERT_TRUE(w);
  EXPECT_LE(w->size(), 512u);
  Pkt r = parse(*w);
  EXPECT_TRUE(ldns_pkt_tc(r.get()));
  EXPECT_GT(ldns_pkt_ancount(r.get()), 0);  // what fits, for resolvers that use it as is
  EXPECT_LT(ldns_pkt_ancount(r.get()), 60);

  // A client announcing a larger buffer with EDNS gets it all, and an OPT record back.
  u.send(makeQuery("big", LDNS_RR_TYPE_A, 21, 4096));
  w = u.receive();
  ASSERT_TRUE(w);
  EXPECT_LE(w->size(), kDnsEdnsSize);
  r = parse(*w);
  EXPECT_FALSE(ldns_pkt_tc(r.get()));
  EXPECT_EQ(ldns_pkt_ancount(r.get()), 60);
  EXPECT_EQ(ldns_pkt_edns_udp_size(r.get()), kDnsEdnsSize);

  Pkt t = TcpClient(port_).ask(makeQuery("big", LDNS_RR_TYPE_A, 22));
  ASSERT_TRUE(t);
  EXPECT_FALSE(ldns_pkt_tc(t.get()));
  EXPECT_EQ(ldns_pkt_ancount(t.get()), 60);
}

TEST_F(DnsServerTest, MalformedQueries) {
  UdpClient c(port_);
  // Shorter than a header: dropped, so the next reply is the next query's.
  c.send(Wire{0x12, 0x34, 0x01});
  // A header whose question runs past the end: FORMERR with the ID.
  Wire broken = makeQuery("web", LDNS_RR_TYPE_A, 30);
  broken.resize(broken.size() - 3);
  Pkt r = c.ask(broken);
  ASSERT_TRUE(r);
  EXPECT_EQ(ldns_pkt_id(r.get()), 30);
  EXPECT_EQ(ldns_pkt_get_rcode(r.get()), LDNS_RCODE_FORMERR);
  // No question at all: FORMERR too.
  Wire header_only = makeQuery("web", LDNS_RR_TYPE_A, 31);
  header_only.resize(kDnsHeaderSize);
  header_only[5] = 0;  // QDCOUNT
  r = c.ask(header_only);
  ASSERT_TRUE(r);
  EXPECT_EQ(ldns_pkt_get_rcode(r.get()), LDNS_RCODE_FORMERR);
  // Another opcode (STATUS): NOTIMP.
  Wire status = makeQuery("web", LDNS_RR_TYPE_A, 32);
  status[2] |= 2 << 3;
  r = c.ask(status);
  ASSERT_TRUE(r);
  EXPECT_EQ(ldns_pkt_get_rcode(r.get()), LDNS_RCODE_NOTIMPL);
}

TEST_F(DnsServerTest, BadRecordsAndExceptionsAreServfail) {
  UdpClient c(port_);
  Pkt r = c.ask(makeQuery("broken", LDNS_RR_TYPE_A, 40));
  ASSERT_TRUE(r);
  EXPECT_EQ(ldns_pkt_get_rcode(r.get()), LDNS_RCODE_SERVFAIL);
  r = c.ask(makeQuery("throws", LDNS_RR_TYPE_A, 41));
  ASSERT_TRUE(r);
  EXPECT_EQ(ldns_pkt_get_rcode(r.get()), LDNS_RCODE_SERVFAIL);
}

TEST_F(DnsServerTest, NoUpstreamIsServfail) {
  Pkt r = UdpClient(port_).ask(makeQuery("example.com", LDNS_RR_TYPE_A, 50));
  ASSERT_TRUE(r);
  EXPECT_EQ(ldns_pkt_get_rcode(r.get()), LDNS_RCODE_SERVFAIL);
  EXPECT_FALSE(ldns_pkt_aa(r.get()));
}

// A second DnsServer plays the host's resolver.
class ForwardTest : public DnsServerTest {
 protected:
  void SetUp() override {
    upstream_ = std::make_unique<DnsServer>(
        [](const DnsQuestion& q) -> DnsReply {
          if (q.name == "example.com") return answer({a("example.com", "192.0.2.1")});
          if (q.name == "big.example.com") return answer(manyA("big.example.com", 60));
          return {DnsVerdict::kNxDomain, {}, {}};
        },
        std::vector<std::string>{});
    Result<uint16_t> port = upstream_->listen("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.error().message();
    upstream_port_ = *port;
  }
  std::string upstream() const { return "127.0.0.1:" + std::to_string(upstream_port_); }

  std::unique_ptr<DnsServer> upstream_;
  uint16_t upstream_port_ = 0;
};

TEST_F(ForwardTest, RelaysToUpstream) {
  start({upstream()});
  Pkt r = UdpClient(port_).ask(makeQuery("Example.COM", LDNS_RR_TYPE_A, 60));
  ASSERT_TRUE(r);
  EXPECT_EQ(ldns_pkt_id(r.get()), 60);
  // The owner compresses to the question's bytes, so it reads in the question's case.
  EXPECT_EQ(records(r.get(), LDNS_SECTION_ANSWER),
            std::vector<std::string>{"Example.COM. A 192.0.2.1"});
  // The upstream's reply comes back unchanged: its AA bit included.
  EXPECT_TRUE(ldns_pkt_aa(r.get()));

  Pkt t = TcpClient(port_).ask(makeQuery("example.com", LDNS_RR_TYPE_A, 61));
  ASSERT_TRUE(t);
  EXPECT_EQ(ldns_pkt_id(t.get()), 61);
  EXPECT_EQ(ldns_pkt_ancount(t.get()), 1);
}

TEST_F(ForwardTest, TcpClientGetsTruncatedUpstreamAnswerInFull) {
  start({upstream()});
  // A UDP client gets the upstream's truncated reply as it is, and retries over TCP.
  Pkt u = UdpClient(port_).ask(makeQuery("big.example.com", LDNS_RR_TYPE_A, 62));
  ASSERT_TRUE(u);
  EXPECT_TRUE(ldns_pkt_tc(u.get()));
  Pkt t = TcpClient(port_).ask(makeQuery("big.example.com", LDNS_RR_TYPE_A, 63));
  ASSERT_TRUE(t);
  EXPECT_FALSE(ldns_pkt_tc(t.get()));
  EXPECT_EQ(ldns_pkt_ancount(t.get()), 60);
}

TEST_F(ForwardTest, RefusingUpstreamHandsOverToTheNext) {
  start({"127.0.0.1:" + std::to_string(closedUdpPort()), upstream()});
  Clock::time_point t0 = Clock::now();
  Pkt r = UdpClient(port_).ask(makeQuery("example.com", LDNS_RR_TYPE_A, 64));
  ASSERT_TRUE(r);
  EXPECT_EQ(ldns_pkt_ancount(r.get()), 1);
  EXPECT_LT(Clock::now() - t0, milliseconds(900));  // ICMP, not the timeout
}

TEST_F(ForwardTest, SilentUpstreamIsServfailAfterTwoSecondsAndBlocksNothing) {
  // Bound and never read: the query vanishes as into a dead host.
  sys::Fd hole(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in h = loopback(0);
  ASSERT_EQ(::bind(hole.get(), reinterpret_cast<sockaddr*>(&h), sizeof h), 0);
  socklen_t len = sizeof h;
  ::getsockname(hole.get(), reinterpret_cast<sockaddr*>(&h), &len);
  start({"127.0.0.1:" + std::to_string(ntohs(h.sin_port))});

  UdpClient forwarded(port_), local(port_);
  Clock::time_point t0 = Clock::now();
  forwarded.send(makeQuery("example.com", LDNS_RR_TYPE_A, 70));
  Pkt l = local.ask(makeQuery("web", LDNS_RR_TYPE_A, 71));
  ASSERT_TRUE(l);
  EXPECT_EQ(ldns_pkt_ancount(l.get()), 1);
  EXPECT_LT(Clock::now() - t0, milliseconds(500));

  std::optional<Wire> w = forwarded.receive(milliseconds(4000));
  ASSERT_TRUE(w);
  Clock::duration took = Clock::now() - t0;
  Pkt r = parse(*w);
  EXPECT_EQ(ldns_pkt_id(r.get()), 70);
  EXPECT_EQ(ldns_pkt_get_rcode(r.get()), LDNS_RCODE_SERVFAIL);
  EXPECT_GE(took, milliseconds(1900));
  EXPECT_LT(took, milliseconds(3000));
}

TEST_F(DnsServerTest, ListenTwiceIsAlreadyExists) {
  Result<uint16_t> again = server_->listen("127.0.0.1", port_);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), ErrorCode::kAlreadyExists);
}

TEST_F(DnsServerTest, PortTakenByAnotherIsUnavailable) {
  sys::Fd other(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in o = loopback(0);
  ASSERT_EQ(::bind(other.get(), reinterpret_cast<sockaddr*>(&o), sizeof o), 0);
  socklen_t len = sizeof o;
  ::getsockname(other.get(), reinterpret_cast<sockaddr*>(&o), &len);
  uint16_t taken = ntohs(o.sin_port);
  Result<uint16_t> r = server_->listen("127.0.0.1", taken);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().message(),
            "listen dns on '127.0.0.1:" + std::to_string(taken) + "': address already in use");

  Result<uint16_t> bad = server_->listen("web", 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(DnsServerTest, UnlistenStopsAnswering) {
  TcpClient open_conn(port_);
  ASSERT_TRUE(open_conn.ask(makeQuery("web", LDNS_RR_TYPE_A, 80)));
  server_->unlisten("127.0.0.1");

  // Nobody at the port any more: the kernel refuses at once, no waiting for silence.
  UdpClient u(port_);
  u.send(makeQuery("web", LDNS_RR_TYPE_A, 81));
  int err = 0;
  EXPECT_FALSE(u.receive(milliseconds(3000), &err));
  EXPECT_EQ(err, ECONNREFUSED);
  EXPECT_EQ(TcpClient(port_).connectErrno(), ECONNREFUSED);
  // Connections accepted there went too.
  EXPECT_TRUE(open_conn.closedWithin(milliseconds(3000)));

  // The same port can be taken again at once (SO_REUSEADDR despite TIME_WAIT).
  Result<uint16_t> again = server_->listen("127.0.0.1", port_);
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_TRUE(UdpClient(port_).ask(makeQuery("web", LDNS_RR_TYPE_A, 82)));
}

TEST_F(DnsServerTest, LocalAddressTellsNetworksApart) {
  Result<uint16_t> second = server_->listen("127.0.0.2", 0);
  ASSERT_TRUE(second.ok()) << second.error().message();
  ASSERT_TRUE(UdpClient(*second, "127.0.0.2").ask(makeQuery("web", LDNS_RR_TYPE_A, 90)));
  EXPECT_EQ(lastAsked().local_addr, "127.0.0.2");
  ASSERT_TRUE(UdpClient(port_).ask(makeQuery("web", LDNS_RR_TYPE_A, 91)));
  EXPECT_EQ(lastAsked().local_addr, "127.0.0.1");
}

TEST_F(DnsServerTest, Ipv6) {
  Result<uint16_t> p = server_->listen("::1", 0);
  if (!p.ok()) GTEST_SKIP() << "no ipv6 loopback: " << p.error().message();
  sys::Fd fd(::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in6 s{};
  s.sin6_family = AF_INET6;
  s.sin6_port = htons(*p);
  s.sin6_addr = in6addr_loopback;
  Wire q = makeQuery("web", LDNS_RR_TYPE_A, 95);
  ASSERT_EQ(::sendto(fd.get(), q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&s), sizeof s),
            (ssize_t)q.size());
  ASSERT_TRUE(waitFor(fd.get(), POLLIN, milliseconds(3000)));
  Wire buf(4096);
  buf.resize(::recv(fd.get(), buf.data(), buf.size(), 0));
  EXPECT_EQ(ldns_pkt_ancount(parse(buf).get()), 1);
  EXPECT_EQ(lastAsked().local_addr, "::1");
  EXPECT_EQ(lastAsked().client_addr, "::1");
}

TEST_F(DnsServerTest, IdleTcpConnectionIsClosed) {
  DnsServerOptions o;
  o.tcp_idle_timeout = milliseconds(200);
  start({}, o);
  TcpClient c(port_);
  ASSERT_TRUE(c.ask(makeQuery("web", LDNS_RR_TYPE_A, 100)));
  Clock::time_point t0 = Clock::now();
  EXPECT_TRUE(c.closedWithin(milliseconds(3000)));
  EXPECT_GE(Clock::now() - t0, milliseconds(150));
}

TEST_F(DnsServerTest, TcpConnectionCapEvictsTheIdlest) {
  DnsServerOptions o;
  o.max_tcp_connections = 2;
  start({}, o);
  TcpClient c1(port_), c2(port_);
  ASSERT_TRUE(c1.ask(makeQuery("web", LDNS_RR_TYPE_A, 110)));
  ASSERT_TRUE(c2.ask(makeQuery("web", LDNS_RR_TYPE_A, 111)));
  TcpClient c3(port_);
  EXPECT_TRUE(c3.ask(makeQuery("web", LDNS_RR_TYPE_A, 112)));
  EXPECT_TRUE(c1.closedWithin(milliseconds(3000)));
  EXPECT_TRUE(c2.ask(makeQuery("web", LDNS_RR_TYPE_A, 113)));
}

// Several serving threads: the same behaviour, the handler called concurrently.
class ThreadedDnsServerTest : public ForwardTest {
 protected:
  void SetUp() override {
    ForwardTest::SetUp();
    DnsServerOptions o;
    o.threads = 3;
    start({upstream()}, o);
  }
};

TEST_F(ThreadedDnsServerTest, EveryQueryOfManyClientsGetsItsOwnAnswer) {
  std::vector<std::unique_ptr<UdpClient>> clients;
  for (int i = 0; i < 8; ++i) clients.push_back(std::make_unique<UdpClient>(port_));
  // All in flight at once: the threads take them as they come.
  for (uint16_t n = 0; n < 20; ++n)
    for (size_t i = 0; i < clients.size(); ++i)
      clients[i]->send(makeQuery(n % 2 ? "web" : "svc.service.berth", LDNS_RR_TYPE_A,
                                 static_cast<uint16_t>(i * 100 + n)));
  for (size_t i = 0; i < clients.size(); ++i) {
    std::vector<int> ids;
    for (int n = 0; n < 20; ++n) {
      std::optional<Wire> w = clients[i]->receive();
      ASSERT_TRUE(w) << "client " << i << " reply " << n;
      Pkt r = parse(*w);
      uint16_t id = ldns_pkt_id(r.get());
      EXPECT_EQ(ldns_pkt_ancount(r.get()), id % 2 ? 1 : 3) << id;
      ids.push_back(id - static_cast<int>(i * 100));
    }
    std::sort(ids.begin(), ids.end());
    for (int n = 0; n < 20; ++n) EXPECT_EQ(ids[n], n);
  }
  // Each thread asks once at most for the reply it keeps.
  EXPECT_LE(timesAsked("svc.service.berth"), 3u);
  EXPECT_EQ(timesAsked("web"), 8u * 10u);
}

TEST_F(ThreadedDnsServerTest, InvalidateReachesEveryThread) {
  std::vector<std::unique_ptr<UdpClient>> clients;
  for (int i = 0; i < 8; ++i) clients.push_back(std::make_unique<UdpClient>(port_));
  for (auto& c : clients) ASSERT_TRUE(c->ask(makeQuery("svc.service.berth", LDNS_RR_TYPE_A, 1)));
  {
    std::lock_guard<std::mutex> lk(mu_);
    kept_answers_ = {a("svc.service.berth", "10.0.0.9")};
  }
  server_->invalidate();
  for (auto& c : clients) {
    Pkt r = c->ask(makeQuery("svc.service.berth", LDNS_RR_TYPE_A, 2));
    ASSERT_TRUE(r);
    EXPECT_EQ(records(r.get(), LDNS_SECTION_ANSWER),
              std::vector<std::string>{"svc.service.berth. A 10.0.0.9"});
  }
}

TEST_F(ThreadedDnsServerTest, ForwardsAndServesTcp) {
  for (uint16_t id = 1; id <= 6; ++id) {
    Pkt r = UdpClient(port_).ask(makeQuery("example.com", LDNS_RR_TYPE_A, id));
    ASSERT_TRUE(r);
    EXPECT_EQ(ldns_pkt_id(r.get()), id);
    EXPECT_EQ(ldns_pkt_ancount(r.get()), 1);
  }
  TcpClient t(port_);
  Pkt r = t.ask(makeQuery("web", LDNS_RR_TYPE_A, 7));
  ASSERT_TRUE(r);
  EXPECT_EQ(ldns_pkt_ancount(r.get()), 1);
  r = t.ask(makeQuery("example.com", LDNS_RR_TYPE_A, 8));
  ASSERT_TRUE(r);
  EXPECT_EQ(ldns_pkt_ancount(r.get()), 1);
}

TEST_F(ThreadedDnsServerTest, UnlistenStopsEveryThread) {
  ASSERT_TRUE(UdpClient(port_).ask(makeQuery("web", LDNS_RR_TYPE_A, 1)));
  server_->unlisten("127.0.0.1");
  UdpClient u(port_);
  u.send(makeQuery("web", LDNS_RR_TYPE_A, 2));
  int err = 0;
  EXPECT_FALSE(u.receive(milliseconds(3000), &err));
  EXPECT_EQ(err, ECONNREFUSED);
  Result<uint16_t> again = server_->listen("127.0.0.1", port_);
  ASSERT_TRUE(again.ok()) << again.error().message();
  for (uint16_t id = 3; id < 9; ++id)
    EXPECT_TRUE(UdpClient(port_).ask(makeQuery("web", LDNS_RR_TYPE_A, id)));
}

// For the record, not a check: ./network_test --gtest_also_run_disabled_tests
//   --gtest_filter='*QueriesPerSecond*'
TEST_F(DnsServerTest, DISABLED_UdpQueriesPerSecond) {
  UdpClient c(port_);
  Wire q = makeQuery("web", LDNS_RR_TYPE_A, 1);
  size_t n = 0;
  Clock::time_point end = Clock::now() + std::chrono::seconds(1);
  while (Clock::now() < end) {
    c.send(q);
    ASSERT_TRUE(c.receive());
    ++n;
  }
  std::printf("answered %zu queries/s over udp, one client, one at a time\n", n);
}

}  // namespace
}  // namespace berth::network
