// How soon clients see a change of the service catalog, for bench/catalog.sh (issue 7:
// "register → visible in DNS", "a blocking HTTP watch returns within 100 ms of a
// registration"). One change at a time, N times; every sample is printed as a line
//   METRIC MICROSECONDS
// and the script takes the percentiles.
//
// Usage: catalog_latency MODE ARGS…
//   dns SOCKET DNS N [INTERVAL_US]
//       berthd on its API socket SOCKET and its DNS listener DNS (IPV4:PORT). Registers
//       instance i of service "lat" (id lat-PID-i, address 10.77.x.y, distinct for each i)
//       with a PUT, and from the moment the PUT is sent asks DNS for lat.service.berth A
//       until the address is in the answer: register_dns; the PUT's answer came after
//       register_ack. Then deregisters it (DELETE) and asks until the address is gone:
//       deregister_dns, deregister_ack.
//   hostsdir DIR DNS N [INTERVAL_US]
//       the same against dnsmasq started with --hostsdir=DIR: registering is a hosts file
//       "ADDRESS lat.service.berth" written next to DIR, fsync'd and renamed into it (the
//       directory fsync'd too: durable, as berth's registrations are); deregistering is its
//       unlink (and the directory's fsync).
//   watch SOCKET N
//       GET /v1/catalog/services/watched?index=I&wait=30s blocked on one connection, and
//       20 ms later a registration of "watched" sent on another: watch = from the PUT's
//       send to the GET's answer. Each instance is deregistered before the next round.
//   etcd-watch HOST:PORT N
//       the reference for `watch`: a watch stream on etcd's JSON gateway (/v3/watch) and
//       a put sent on another connection: watch = from the put's send to its event
//       arriving; put_ack = the put's answer.
// DNS is asked one query at a time, INTERVAL_US (default 200) between an answer and the
// next query, so a sample is late by at most that plus one query's round trip.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/http.h"
#include "common/base64.h"
#include "etcd_gateway.h"
#include "ipv4_endpoint.h"
#include "network/ldns.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kGiveUp = 10s;  // a change not seen by then ends the run with an error

[[noreturn]] void die(const std::string& m) {
  std::fprintf(stderr, "catalog_latency: %s\n", m.c_str());
  std::exit(1);
}

void sample(const std::string& metric, Clock::duration d) {
  std::printf(
      "%s %lld\n", metric.c_str(),
      static_cast<long long>(std::chrono::duration_cast<std::chrono::microseconds>(d).count()));
}

// Instance i's address: 10.77.0.1, 10.77.0.2, … (250 a /24).
std::string addressOf(int i) {
  return "10.77." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
}

// Asks one DNS server for NAME A, one query at a time.
class DnsProbe {
 public:
  DnsProbe(const std::string& target, const std::string& name) {
    std::optional<sockaddr_in> server = berth::bench::ipv4Endpoint(target);
    if (!server) die("'" + target + "': expected IPV4:PORT");
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&*server), sizeof *server) != 0)
      die("connect to " + target + ": " + std::strerror(errno));
    ldns_rdf* owner = ldns_dname_new_frm_str(name.c_str());
    ldns_pkt* q = ldns_pkt_query_new(owner, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, LDNS_RD);
    uint8_t* data = nullptr;
    size_t size = 0;
    if (ldns_pkt2wire(&data, q, &size) != LDNS_STATUS_OK) die("encode a query for " + name);
    query_.assign(data, data + size);
    std::free(data);
    ldns_pkt_free(q);
  }
  ~DnsProbe() { ::close(fd_); }

  // Whether the answer section holds an A record of `address` (NXDOMAIN: no). A query
  // unanswered after 200 ms is sent again; any other rcode ends the run.
  bool answers(const std::string& address) {
    in_addr want{};
    inet_pton(AF_INET, address.c_str(), &want);
    ++id_;
    query_[0] = static_cast<uint8_t>(id_ >> 8);
    query_[1] = static_cast<uint8_t>(id_);
    while (true) {
      if (::send(fd_, query_.data(), query_.size(), 0) < 0)
        die(std::string("send a DNS query: ") + std::strerror(errno));
      pollfd p{fd_, POLLIN, 0};
      while (::poll(&p, 1, 200) == 1) {
        uint8_t reply[4096];
        ssize_t n = ::recv(fd_, reply, sizeof reply, 0);
        if (n < 12 || reply[0] != query_[0] || reply[1] != query_[1]) continue;  // stale
        return holds(reply, static_cast<size_t>(n), want);
      }
    }
  }

 private:
  static bool holds(const uint8_t* reply, size_t size, const in_addr& want) {
    ldns_pkt* pkt = nullptr;
    if (ldns_wire2pkt(&pkt, reply, size) != LDNS_STATUS_OK) die("an unreadable DNS reply");
    // Only "there" or "not there" count: a failing server must not pass for a deregistration.
    ldns_pkt_rcode rcode = ldns_pkt_get_rcode(pkt);
    if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN)
      die("the DNS server answered with rcode " + std::to_string(rcode));
    bool found = false;
    ldns_rr_list* answer = ldns_pkt_answer(pkt);
    for (size_t i = 0; i < ldns_rr_list_rr_count(answer) && !found; ++i) {
      ldns_rr* rr = ldns_rr_list_rr(answer, i);
      if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_A || ldns_rr_rd_count(rr) != 1) continue;
      ldns_rdf* rd = ldns_rr_rdf(rr, 0);
      found = ldns_rdf_size(rd) == 4 && std::memcmp(ldns_rdf_data(rd), &want, 4) == 0;
    }
    ldns_pkt_free(pkt);
    return found;
  }

  int fd_ = -1;
  std::vector<uint8_t> query_;
  uint16_t id_ = 0;
};

// Sends `change` from a thread of its own and asks `seen` from this one, `interval` apart,
// until it says yes; prints NAME_dns (change sent → seen) and NAME_ack (→ change answered).
void timeChange(const std::string& name, const std::function<void()>& change,
                const std::function<bool()>& seen, std::chrono::microseconds interval) {
  const Clock::time_point sent = Clock::now();
  Clock::time_point acked;
  std::thread changer([&] {
    change();
    acked = Clock::now();
  });
  Clock::time_point visible;
  while (true) {
    if (seen()) {
      visible = Clock::now();
      break;
    }
    if (Clock::now() - sent > kGiveUp) die(name + ": not seen in DNS after 10 s");
    std::this_thread::sleep_for(interval);
  }
  changer.join();
  sample(name + "_dns", visible - sent);
  sample(name + "_ack", acked - sent);
}

berth::api::ClientResponse call(berth::api::Client& c, const std::string& method,
                                const std::string& target, int want, const std::string& body = "") {
  auto r = c.request(method, target, body);
  if (!r) die(method + " " + target + ": " + r.error().message());
  if (r->status != want)
    die(method + " " + target + ": " + std::to_string(r->status) + " " + r->errorMessage());
  return std::move(*r);
}

std::string instanceBody(const std::string& id, const std::string& address) {
  return nlohmann::json{{"id", id}, {"address", address}, {"port", 8080}}.dump();
}

std::string instanceId(int i) {
  return "lat-" + std::to_string(::getpid()) + "-" + std::to_string(i);
}

void berthDns(const std::string& socket, const std::string& dns, int n,
              std::chrono::microseconds interval) {
  berth::api::Client api(socket);
  DnsProbe probe(dns, "lat.service.berth");
  for (int i = 0; i < n; ++i) {
    const std::string id = instanceId(i), address = addressOf(i);
    timeChange(
        "register",
        [&] { call(api, "PUT", "/v1/catalog/services/lat", 201, instanceBody(id, address)); },
        [&] { return probe.answers(address); }, interval);
    timeChange(
        "deregister", [&] { call(api, "DELETE", "/v1/catalog/services/lat/" + id, 200); },
        [&] { return !probe.answers(address); }, interval);
  }
}

void syncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) die("fsync '" + dir + "': " + std::strerror(errno));
  ::close(fd);
}

void hostsDir(const std::string& dir, const std::string& dns, int n,
              std::chrono::microseconds interval) {
  DnsProbe probe(dns, "lat.service.berth");
  const std::string temp = dir + ".tmp";  // beside DIR: dnsmasq sees only the rename
  for (int i = 0; i < n; ++i) {
    const std::string file = dir + "/" + instanceId(i), address = addressOf(i);
    auto write = [&] {
      const std::string line = address + " lat.service.berth\n";
      int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0 || ::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()) ||
          ::fsync(fd) != 0 || ::close(fd) != 0 || ::rename(temp.c_str(), file.c_str()) != 0)
        die("write '" + file + "': " + std::strerror(errno));
      syncDir(dir);
    };
    auto remove = [&] {
      if (::unlink(file.c_str()) != 0) die("remove '" + file + "': " + std::strerror(errno));
      syncDir(dir);
    };
    timeChange(
        "register", write, [&] { return probe.answers(address); }, interval);
    timeChange(
        "deregister", remove, [&] { return !probe.answers(address); }, interval);
  }
}

void berthWatch(const std::string& socket, int n) {
  berth::api::Client watcher(socket), writer(socket);
  const std::string path = "/v1/catalog/services/watched";
  auto indexOf = [](const berth::api::ClientResponse& r) {
    auto it = r.headers.find("x-berth-index");
    if (it == r.headers.end()) die("an answer without X-Berth-Index");
    return it->second;
  };
  std::string index = indexOf(call(watcher, "GET", path, 200));
  for (int i = 0; i < n; ++i) {
    const std::string id = instanceId(i);
    std::atomic<bool> answered{false};
    Clock::time_point woke;
    berth::api::ClientResponse watch;
    std::thread blocked([&] {
      watch = call(watcher, "GET", path + "?index=" + index + "&wait=30s", 200);
      woke = Clock::now();
      answered = true;
    });
    std::this_thread::sleep_for(20ms);  // the GET is waiting in berthd by then
    if (answered) die("the watch at index " + index + " answered before any change");
    const Clock::time_point sent = Clock::now();
    auto put = call(writer, "PUT", path, 201, instanceBody(id, addressOf(i)));
    blocked.join();
    if (watch.body.find('"' + id + '"') == std::string::npos)
      die("the watch answered without instance " + id + ": " + watch.body);
    sample("watch", woke - sent);
    // Waits until berthd's mirror has the deregistration, so that the next watch blocks.
    call(writer, "DELETE", path + "/" + id, 200);
    index = indexOf(call(watcher, "GET", path + "?index=" + indexOf(put) + "&wait=10s", 200));
  }
}

void etcdWatch(const std::string& endpoint, int n) {
  using berth::base64Encode;
  const std::string prefix = "/bench/catalog-watch/" + std::to_string(::getpid()) + "/";
  std::string end = prefix;
  ++end.back();  // the prefix's range end ('/' + 1)
  berth::bench::RawGateway stream(endpoint), writer(endpoint);
  stream.postStreaming("/v3/watch", "{\"create_request\":{\"key\":\"" + base64Encode(prefix) +
                                        "\",\"range_end\":\"" + base64Encode(end) + "\"}}");
  // The reader thread looks for `needle` in what arrives and notes when it came.
  std::mutex mu;
  std::condition_variable cv;
  std::string needle = "\"created\":true", pending;
  Clock::time_point arrived;
  std::thread reader([&] {
    while (true) {
      std::string piece = stream.readSome();
      const Clock::time_point now = Clock::now();
      std::lock_guard lock(mu);
      if (piece.empty()) return;
      pending += piece;
      if (!needle.empty() && pending.find(needle) != std::string::npos) {
        arrived = now;
        needle.clear();
        pending.clear();
        cv.notify_all();
      }
    }
  });
  auto awaitNeedle = [&](const std::string& what) {
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, kGiveUp, [&] { return needle.empty(); }))
      die("etcd: no " + what + " on the watch after 10 s");
  };
  awaitNeedle("creation");
  for (int i = 0; i < n; ++i) {
    const std::string value = instanceBody(instanceId(i), addressOf(i));
    {
      std::lock_guard lock(mu);
      needle = base64Encode(value);
      pending.clear();
    }
    const Clock::time_point sent = Clock::now();
    writer.post("/v3/kv/put", "{\"key\":\"" + base64Encode(prefix + std::to_string(i)) +
                                  "\",\"value\":\"" + base64Encode(value) + "\"}");
    const Clock::time_point acked = Clock::now();
    awaitNeedle("event of put " + std::to_string(i));
    sample("watch", arrived - sent);
    sample("put_ack", acked - sent);
  }
  stream.shutdown();
  reader.join();
}

int positive(const char* arg, const char* what) {
  int v = std::atoi(arg);
  if (v <= 0) die(std::string(what) + " '" + arg + "': a positive number");
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string usage =
      "usage: catalog_latency dns SOCKET DNS N [INTERVAL_US] | hostsdir DIR DNS N "
      "[INTERVAL_US] | watch SOCKET N | etcd-watch HOST:PORT N";
  if (argc < 4) die(usage);
  const std::string mode = argv[1];
  // Every line is one sample: flushed at exit, all of them.
  std::setvbuf(stdout, nullptr, _IOFBF, 1 << 20);
  if ((mode == "dns" || mode == "hostsdir") && (argc == 5 || argc == 6)) {
    const int n = positive(argv[4], "N");
    const std::chrono::microseconds interval(argc == 6 ? std::atoi(argv[5]) : 200);
    if (mode == "dns") {
      berthDns(argv[2], argv[3], n, interval);
    } else {
      hostsDir(argv[2], argv[3], n, interval);
    }
  } else if (mode == "watch" && argc == 4) {
    berthWatch(argv[2], positive(argv[3], "N"));
  } else if (mode == "etcd-watch" && argc == 4) {
    etcdWatch(argv[2], positive(argv[3], "N"));
  } else {
    die(usage);
  }
  return 0;
}
