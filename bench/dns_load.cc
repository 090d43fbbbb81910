// UDP load generator for bench/dns.sh: keeps a fixed number of queries in flight against one
// DNS server for a fixed time, each answer making room for the next query, and counts the
// answers by kind. Any server: berth's and dnsmasq are measured with the same tool, the
// same queries and the same window in one run.
//
// Usage: dns_load HOST:PORT SECONDS THREADS SOCKETS WINDOW NAME/TYPE...
//   THREADS  client threads, each with SOCKETS sockets (each its own source port: servers
//            that spread by flow see several flows), WINDOW queries in flight on each.
//   NAME/TYPE  the queries, sent in turn: "web.service.berth/A", "_web._tcp.service.berth/SRV".
// Prints one line:
//   qps=N answered=N noerror=N nxdomain=N other=N empty=N lost=N p50_us=N p99_us=N
// where `empty` counts NOERROR replies without answers and `lost` queries unanswered after
// a second (sent again, as a stub resolver would).
//
// The socket calls go in batches (sendmmsg, recvmmsg), so that the tool spends its time in
// the kernel's UDP path as the servers do; on a machine shared with other work one client
// thread gets too small a share of a core to keep a fast server busy, hence THREADS.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ipv4_endpoint.h"
#include "network/ldns.h"

namespace {

using Clock = std::chrono::steady_clock;
using Wire = std::vector<uint8_t>;

constexpr size_t kBatch = 64;
constexpr size_t kMaxReply = 4096;
constexpr auto kLostAfter = std::chrono::seconds(1);

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "dns_load: %s\n", msg.c_str());
  std::exit(2);
}

Wire makeQuery(const std::string& spec) {
  size_t slash = spec.rfind('/');
  if (slash == std::string::npos) die("query '" + spec + "': NAME/TYPE");
  std::string name = spec.substr(0, slash);
  ldns_rr_type type = ldns_get_rr_type_by_name(spec.substr(slash + 1).c_str());
  if (type == 0) die("query '" + spec + "': unknown type");
  ldns_rdf* owner = ldns_dname_new_frm_str(name.c_str());
  if (owner == nullptr) die("query '" + spec + "': bad name");
  ldns_pkt* p = ldns_pkt_query_new(owner, type, LDNS_RR_CLASS_IN, LDNS_RD);
  uint8_t* data = nullptr;
  size_t size = 0;
  if (ldns_pkt2wire(&data, p, &size) != LDNS_STATUS_OK) die("encode '" + spec + "'");
  Wire w(data, data + size);
  std::free(data);
  ldns_pkt_free(p);
  return w;
}

// Latencies in microseconds, 1 µs buckets up to one second.
class Histogram {
 public:
  void add(Clock::duration d) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
    ++buckets_[std::clamp<int64_t>(us, 0, buckets_.size() - 1)];
    ++n_;
  }
  void merge(const Histogram& o) {
    for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += o.buckets_[i];
    n_ += o.n_;
  }
  int64_t percentile(double p) const {
    uint64_t want = static_cast<uint64_t>(p * n_), seen = 0;
    for (size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen > want) return static_cast<int64_t>(i);
    }
    return static_cast<int64_t>(buckets_.size() - 1);
  }

 private:
  std::vector<uint64_t> buckets_ = std::vector<uint64_t>(1000000);
  uint64_t n_ = 0;
};

struct Counts {
  uint64_t answered = 0, noerror = 0, nxdomain = 0, other = 0, empty = 0, lost = 0;

  void merge(const Counts& o) {
    answered += o.answered;
    noerror += o.noerror;
    nxdomain += o.nxdomain;
    other += o.other;
    empty += o.empty;
    lost += o.lost;
  }
};

// One socket and its window: slot i holds the query in flight with ID `ids[i]`.
struct Client {
  int fd = -1;
  std::vector<uint16_t> ids;
  std::vector<Clock::time_point> sent;
  std::vector<int32_t> slot_of = std::vector<int32_t>(65536, -1);  // ID → slot
  uint16_t next_id = 0;
};

class Load {
 public:
  Load(sockaddr_in server, std::vector<Wire> queries, size_t sockets, size_t window,
       size_t first_socket)
      : queries_(std::move(queries)) {
    for (size_t i = 0; i < sockets; ++i) {
      Client c;
      c.fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (c.fd < 0 || ::connect(c.fd, reinterpret_cast<sockaddr*>(&server), sizeof server) != 0)
        die(std::string("connect: ") + std::strerror(errno));
      int buf = 4 << 20;
      (void)::setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
      c.ids.resize(window);
      c.sent.resize(window);
      c.next_id = static_cast<uint16_t>((first_socket + i) * 7919);
      clients_.push_back(std::move(c));
    }
  }

  void run(Clock::time_point start, Clock::duration duration, Clock::duration warmup) {
    for (Client& c : clients_) {
      std::vector<size_t> all(c.ids.size());
      for (size_t s = 0; s < all.size(); ++s) all[s] = s;
      send(c, all);
    }
    counting_from_ = start + warmup;
    end_ = counting_from_ + duration;
    std::vector<pollfd> pfds;
    for (const Client& c : clients_) pfds.push_back({c.fd, POLLIN, 0});
    Clock::time_point next_sweep = start + kLostAfter;
    while (true) {
      Clock::time_point now = Clock::now();
      if (now >= end_) break;
      if (now >= next_sweep) {
        for (Client& c : clients_) resendLost(c, now);
        next_sweep = now + std::chrono::milliseconds(100);
      }
      if (::poll(pfds.data(), pfds.size(), 10) <= 0) continue;
      for (size_t i = 0; i < pfds.size(); ++i)
        if (pfds[i].revents & POLLIN) receive(clients_[i]);
    }
  }

  const Counts& counts() const { return counts_; }
  const Histogram& latency() const { return latency_; }

 private:
  // Sends the next queries of the mix from the given slots, in batches.
  void send(Client& c, const std::vector<size_t>& slots) {
    for (size_t off = 0; off < slots.size(); off += kBatch) {
      size_t n = std::min(kBatch, slots.size() - off);
      std::array<mmsghdr, kBatch> msgs{};
      std::array<iovec, kBatch> iov{};
      std::array<std::array<uint8_t, 512>, kBatch>& bufs = send_bufs_;
      Clock::time_point now = Clock::now();
      for (size_t i = 0; i < n; ++i) {
        size_t slot = slots[off + i];
        const Wire& q = queries_[next_query_++ % queries_.size()];
        std::memcpy(bufs[i].data(), q.data(), q.size());
        if (c.slot_of[c.ids[slot]] == static_cast<int32_t>(slot)) c.slot_of[c.ids[slot]] = -1;
        uint16_t id = c.next_id++;
        while (c.slot_of[id] != -1) id = c.next_id++;
        c.ids[slot] = id;
        c.sent[slot] = now;
        c.slot_of[id] = static_cast<int32_t>(slot);
        bufs[i][0] = static_cast<uint8_t>(id >> 8);
        bufs[i][1] = static_cast<uint8_t>(id);
        iov[i] = {bufs[i].data(), q.size()};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      size_t done = 0;
      while (done < n) {
        int rc = ::sendmmsg(c.fd, msgs.data() + done, n - done, 0);
        if (rc < 0) {
          if (errno == EINTR) continue;
          break;  // a full buffer loses the rest: the lost-query sweep sends them again
        }
        done += rc;
      }
    }
  }

  void receive(Client& c) {
    std::array<mmsghdr, kBatch> msgs{};
    std::array<iovec, kBatch> iov{};
    for (size_t i = 0; i < kBatch; ++i) {
      iov[i] = {recv_bufs_[i].data(), recv_bufs_[i].size()};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = ::recvmmsg(c.fd, msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;
    Clock::time_point now = Clock::now();
    std::vector<size_t> again;
    for (int i = 0; i < n; ++i) {
      const uint8_t* r = recv_bufs_[i].data();
      if (msgs[i].msg_len < 12 || !(r[2] & 0x80)) continue;
      uint16_t id = static_cast<uint16_t>(r[0] << 8 | r[1]);
      int32_t slot = c.slot_of[id];
      if (slot < 0) continue;  // an answer to a query given up on
      c.slot_of[id] = -1;
      again.push_back(slot);
      if (now < counting_from_ || now >= end_) continue;
      ++counts_.answered;
      latency_.add(now - c.sent[slot]);
      uint8_t rcode = r[3] & 0x0f;
      uint16_t ancount = static_cast<uint16_t>(r[6] << 8 | r[7]);
      if (rcode == 0) {
        ++counts_.noerror;
        if (ancount == 0) ++counts_.empty;
      } else if (rcode == 3) {
        ++counts_.nxdomain;
      } else {
        ++counts_.other;
      }
    }
    send(c, again);
  }

  void resendLost(Client& c, Clock::time_point now) {
    std::vector<size_t> lost;
    for (size_t s = 0; s < c.ids.size(); ++s)
      if (c.slot_of[c.ids[s]] == static_cast<int32_t>(s) && now - c.sent[s] >= kLostAfter)
        lost.push_back(s);
    if (now >= counting_from_) counts_.lost += lost.size();
    send(c, lost);
  }

  std::vector<Wire> queries_;
  std::vector<Client> clients_;
  size_t next_query_ = 0;
  Clock::time_point counting_from_, end_;
  Counts counts_;
  Histogram latency_;
  std::array<std::array<uint8_t, 512>, kBatch> send_bufs_{};
  std::array<std::array<uint8_t, kMaxReply>, kBatch> recv_bufs_{};
};

void report(const Counts& c, const Histogram& latency, double seconds) {
  std::printf(
      "qps=%.0f answered=%llu noerror=%llu nxdomain=%llu other=%llu empty=%llu lost=%llu "
      "p50_us=%lld p99_us=%lld\n",
      c.answered / seconds, static_cast<unsigned long long>(c.answered),
      static_cast<unsigned long long>(c.noerror), static_cast<unsigned long long>(c.nxdomain),
      static_cast<unsigned long long>(c.other), static_cast<unsigned long long>(c.empty),
      static_cast<unsigned long long>(c.lost), static_cast<long long>(latency.percentile(0.50)),
      static_cast<long long>(latency.percentile(0.99)));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 7) die("usage: dns_load HOST:PORT SECONDS THREADS SOCKETS WINDOW NAME/TYPE...");
  const std::string target = argv[1];
  const std::optional<sockaddr_in> server = berth::bench::ipv4Endpoint(target);
  if (!server) die("target '" + target + "': IPV4:PORT");
  double seconds = std::atof(argv[2]);
  size_t threads = std::strtoul(argv[3], nullptr, 10);
  size_t sockets = std::strtoul(argv[4], nullptr, 10);
  size_t window = std::strtoul(argv[5], nullptr, 10);
  if (seconds <= 0 || threads == 0 || sockets == 0 || window == 0 || window > 16384)
    die("SECONDS > 0, THREADS ≥ 1, SOCKETS ≥ 1, 1 ≤ WINDOW ≤ 16384");
  std::vector<Wire> queries;
  for (int i = 6; i < argc; ++i) queries.push_back(makeQuery(argv[i]));

  std::vector<std::unique_ptr<Load>> loads;
  for (size_t t = 0; t < threads; ++t)
    loads.push_back(std::make_unique<Load>(*server, queries, sockets, window, t * sockets));
  const Clock::time_point start = Clock::now();
  const auto duration =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> running;
  for (auto& l : loads)
    running.emplace_back(
        [&, load = l.get()] { load->run(start, duration, std::chrono::milliseconds(300)); });
  for (std::thread& t : running) t.join();
  Counts total;
  Histogram latency;
  for (const auto& l : loads) {
    total.merge(l->counts());
    latency.merge(l->latency());
  }
  report(total, latency, seconds);
  return 0;
}
