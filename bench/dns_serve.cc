// berth's side of bench/dns.sh: the embedded DNS server (network::DnsServer) answering the
// catalog's zone (catalog::DnsZone) for a fixed list of instances, as berthd's host
// listener will once the catalog is wired in. Names outside the zone are NXDOMAIN (nothing
// is forwarded).
//
// Usage: dns_serve IP PORT INSTANCES_FILE [THREADS]
//   INSTANCES_FILE: one instance a line, "SERVICE ADDRESS PORT [TAG,TAG…]".
//   THREADS: the server's serving threads (DnsServerOptions::threads), 1 by default.
// Prints "listening IP:PORT" once it serves, and serves until SIGTERM or SIGINT.

#include <signal.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "catalog/dns_zone.h"
#include "common/strings.h"
#include "network/dns_server.h"

namespace {

using namespace berth;

std::vector<catalog::Instance> readInstances(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "dns_serve: cannot read '%s'\n", path.c_str());
    std::exit(2);
  }
  std::vector<catalog::Instance> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    catalog::Instance i;
    std::string tags;
    if (!(fields >> i.service >> i.address >> i.port)) continue;
    fields >> tags;
    if (!tags.empty()) i.tags = split(tags, ',');
    i.id = i.service + "-" + std::to_string(out.size());
    out.push_back(std::move(i));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: dns_serve IP PORT INSTANCES_FILE [THREADS]\n");
    return 2;
  }
  const std::vector<catalog::Instance> instances = readInstances(argv[3]);
  catalog::DnsZone zone([&](const std::string& service, const std::string& tag) {
    std::vector<catalog::Instance> out;
    for (const catalog::Instance& i : instances) {
      bool tagged = tag.empty();
      for (const std::string& t : i.tags) tagged = tagged || t == tag;
      if (i.service == service && tagged) out.push_back(i);
    }
    return out;
  });

  // Blocked before any thread starts, so that only sigwait below takes them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  network::DnsServerOptions options;
  if (argc == 5) options.threads = std::stoul(argv[4]);
  network::DnsServer server(
      [&](const network::DnsQuestion& q) {
        if (std::optional<network::DnsReply> r = zone.answer(q)) return *r;
        network::DnsReply nx;
        nx.verdict = network::DnsVerdict::kNxDomain;
        nx.cacheable = true;
        return nx;
      },
      {}, options);
  Result<uint16_t> port = server.listen(argv[1], static_cast<uint16_t>(std::stoi(argv[2])));
  if (!port.ok()) {
    std::fprintf(stderr, "dns_serve: %s\n", port.error().message().c_str());
    return 1;
  }
  std::printf("listening %s:%u\n", argv[1], *port);
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  return 0;
}
