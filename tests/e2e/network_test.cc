// Networking on one host as a user drives it (issue 5): published ports with the client's
// own address, user networks with DNS, links, macvlan, a daemon crash, and bad input that
// leaves nothing behind. Each test has its own berthd whose bridge, addresses and
// nftables table are its own (e2e/daemon.h); the "other hosts" are network namespaces
// the test makes and removes.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cstdio>

#include "common/strings.h"
#include "e2e/daemon.h"

namespace berth::test {
namespace {

// A network namespace joined to the host by a veth pair: host end `host_if` with
// 10.250.K.1/24, the other end inside with .2 — a second machine on a cable.
class PeerHost {
 public:
  PeerHost(const std::string& tag, int k) : ns_("bp" + tag), host_if_("vp" + tag), k_(k) {
    std::string sub = "10." + std::to_string(k) + ".0.";
    sh("ip netns add " + ns_ + " && ip link add " + host_if_ + " type veth peer name eth0 netns " +
       ns_ + " && ip addr add " + sub + "1/24 dev " + host_if_ + " && ip link set " + host_if_ +
       " up && ip -n " + ns_ + " addr add " + sub + "2/24 dev eth0 && ip -n " + ns_ +
       " link set eth0 up && ip -n " + ns_ + " link set lo up && ip -n " + ns_ +
       " route add default via " + sub + "1");
  }
  ~PeerHost() { sh("ip link del " + host_if_ + " 2>/dev/null; ip netns del " + ns_); }
  std::string hostAddr() const { return "10." + std::to_string(k_) + ".0.1"; }
  std::string peerAddr() const { return "10." + std::to_string(k_) + ".0.2"; }
  const std::string& hostIf() const { return host_if_; }
  const std::string& ns() const { return ns_; }
  CmdResult exec(const std::string& cmd) const {
    return runCmd({"ip", "netns", "exec", ns_, "/bin/sh", "-c", cmd}, "", 30);
  }
  static CmdResult sh(const std::string& cmd) { return runCmd({"/bin/sh", "-c", cmd}, "", 30); }

 private:
  std::string ns_, host_if_;
  int k_;
};

const char* kHttpd =
    "mkdir -p /www && echo \"page of $(hostname)\" > /www/index.html && "
    "exec httpd -f -vv -p 80 -h /www";

class Network : public RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (HasFatalFailure()) return;
    d_ = std::make_unique<Daemon>();
    tag_ = std::to_string(::getpid() % 100000);
  }
  void TearDown() override { d_.reset(); }

  std::string ipOf(const std::string& name, const std::string& network) {
    auto j = d_->inspect(name);
    return j["network_settings"]["networks"][network].value("ip", "");
  }
  CmdResult curl(const std::string& url) {
    return runCmd({"curl", "-s", "--max-time", "5", url}, "", 15);
  }
  // Interfaces enslaved to the daemon's bridges, and its table's rules and elements.
  std::string links() { return PeerHost::sh("ip -o link show | grep -c 'vb' || true").out; }
  std::string ruleset() { return PeerHost::sh("nft list table ip " + d_->table()).out; }

  std::unique_ptr<Daemon> d_;
  std::string tag_;
};

TEST_F(Network, PublishedPortServesLoopbackOtherAddressesAndOtherHostsWithTheirOwnAddress) {
  PeerHost peer(tag_, 250);
  auto run =
      d_->berth({"run", "-d", "--name", "web", "-p", "18080:80", "busybox", "sh", "-c", kHttpd});
  ASSERT_EQ(run.code, 0) << run.err;
  ASSERT_TRUE(eventually([&] { return curl("http://127.0.0.1:18080/").out.starts_with("page"); }))
      << curl("http://127.0.0.1:18080/").err << d_->berth({"logs", "web"}).err;
  // From the host through another of its addresses: the server sees that address.
  EXPECT_EQ(curl("http://" + peer.hostAddr() + ":18080/").out.rfind("page of", 0), 0u);
  // From another machine: it sees the client's own address (no proxy, no masquerade).
  auto remote = peer.exec("wget -qO- http://" + peer.hostAddr() +
                          ":18080/ 2>&1 || "
                          "busybox wget -qO- http://" +
                          peer.hostAddr() + ":18080/");
  EXPECT_EQ(remote.out.rfind("page of", 0), 0u) << remote.out << remote.err;
  ASSERT_TRUE(eventually(
      [&] {
        return d_->berth({"logs", "web"}).err.find(peer.peerAddr()) != std::string::npos;
      },
      5))
      << d_->berth({"logs", "web"}).err;
  EXPECT_NE(d_->berth({"logs", "web"}).err.find(peer.hostAddr()), std::string::npos);
  // Hairpin: another container through the host's address.
  auto hair = d_->berth(
      {"run", "--rm", "busybox", "wget", "-qO-", "http://" + peer.hostAddr() + ":18080/"});
  EXPECT_EQ(hair.out.rfind("page of", 0), 0u) << hair.err;
  // port and ps tell where it is published.
  EXPECT_EQ(d_->berth({"port", "web"}).out, "80/tcp -> 0.0.0.0:18080\n");
}

// Where the kernel has cgroup2, cgroup BPF and network namespace cookies (5.14), the
// host's own TCP clients of a published port are redirected at connect()
// (sys/connect_redirect.h) instead of being translated packet by packet.
bool connectRedirectExpected() {
  utsname u{};
  ::uname(&u);
  int major = 0, minor = 0;
  std::sscanf(u.release, "%d.%d", &major, &minor);
  bool cgroup2 = PeerHost::sh("grep -q ' cgroup2 ' /proc/self/mounts").code == 0;
  return cgroup2 && (major > 5 || (major == 5 && minor >= 14));
}

// Connects to 127.0.0.1:port; returns the peer the socket reports, or "" when refused.
std::string peerOfLoopbackConnection(uint16_t port) {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string peer;
  if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    sockaddr_in p{};
    socklen_t len = sizeof p;
    if (::getpeername(s, reinterpret_cast<sockaddr*>(&p), &len) == 0) {
      char ip[INET_ADDRSTRLEN] = {};
      ::inet_ntop(AF_INET, &p.sin_addr, ip, sizeof ip);
      peer = std::string(ip) + ":" + std::to_string(ntohs(p.sin_port));
    }
  }
  ::close(s);
  return peer;
}

TEST_F(Network, HostClientsOfAPublishedPortConnectStraightToTheContainer) {
  if (!connectRedirectExpected()) GTEST_SKIP() << "the kernel lacks cgroup2 or netns cookies";
  auto run =
      d_->berth({"run", "-d", "--name", "web", "-p", "18084:80", "busybox", "sh", "-c", kHttpd});
  ASSERT_EQ(run.code, 0) << run.err;
  ASSERT_TRUE(eventually([&] { return curl("http://127.0.0.1:18084/").out.starts_with("page"); }))
      << runCmd({"cat", d_->path("berthd.log")}).out;
  // Without the DNAT element the host's clients still arrive: their connect() went to the
  // container's address. They see the address they asked for as their peer.
  ASSERT_EQ(PeerHost::sh("nft flush map ip " + d_->table() + " pub_any").code, 0);
  EXPECT_EQ(curl("http://127.0.0.1:18084/").out.rfind("page of", 0), 0u)
      << runCmd({"cat", d_->path("berthd.log")}).out;
  EXPECT_EQ(curl("http://127.0.0.2:18084/").out.rfind("page of", 0), 0u);
  EXPECT_EQ(peerOfLoopbackConnection(18084), "127.0.0.1:18084");
  // A container's 127.0.0.1 is its own, and the host's other addresses go through DNAT
  // (flushed here), so neither reaches the port now.
  auto inside = d_->berth({"run", "--rm", "busybox", "wget", "-qO-", "http://127.0.0.1:18084/"});
  EXPECT_NE(inside.code, 0);
  EXPECT_EQ(inside.out, "");
  // Gone with the container.
  ASSERT_EQ(d_->berth({"rm", "-f", "web"}).code, 0);
  EXPECT_EQ(peerOfLoopbackConnection(18084), "");
  EXPECT_NE(curl("http://127.0.0.1:18084/").code, 0);
}

TEST_F(Network, UserNetworkResolvesNamesUntilDisconnected) {
  auto net = d_->berth({"network", "create", "appnet"});
  ASSERT_EQ(net.code, 0) << net.err;
  ASSERT_EQ(d_->berth({"run", "-d", "--name", "a", "--network", "appnet", "--network-alias",
                       "alpha", "busybox", "sh", "-c", kHttpd})
                .code,
            0);
  std::string a_ip = ipOf("a", "appnet");
  ASSERT_FALSE(a_ip.empty());
  auto got = d_->berth({"run", "--rm", "--network", "appnet", "busybox", "sh", "-c",
                        "wget -qO- http://a/ && wget -qO- http://alpha/ && cat /etc/resolv.conf"});
  EXPECT_EQ(got.code, 0) << got.err;
  EXPECT_EQ(got.out.rfind("page of", 0), 0u) << got.out;
  auto info = nlohmann::json::parse(d_->berth({"network", "inspect", "appnet"}).out);
  std::string resolver = info[0].value("dns", "");
  ASSERT_FALSE(resolver.empty()) << info.dump();
  EXPECT_NE(got.out.find("nameserver " + resolver), std::string::npos) << got.out;
  auto dig = runCmd({"dig", "+short", "+time=2", "+tries=1", "@" + resolver, "-q", "a"});
  EXPECT_EQ(dig.out, a_ip + "\n") << dig.err;
  EXPECT_EQ(runCmd({"dig", "+short", "+tcp", "@" + resolver, "-q", "alpha"}).out, a_ip + "\n");

  ASSERT_EQ(d_->berth({"network", "disconnect", "appnet", "a"}).code, 0);
  EXPECT_EQ(runCmd({"dig", "+short", "+time=2", "+tries=1", "@" + resolver, "-q", "a"}).out, "");
  // (No -T: busybox-static's wget crashes with it, which would pass this for any reason.)
  auto after =
      d_->berth({"run", "--rm", "--network", "appnet", "busybox", "wget", "-qO-", "http://a/"});
  EXPECT_EQ(after.code, 1);
  EXPECT_NE(after.err.find("bad address 'a'"), std::string::npos) << after.err;
  // Connected again, with the name back.
  ASSERT_EQ(d_->berth({"network", "connect", "appnet", "a"}).code, 0);
  EXPECT_FALSE(runCmd({"dig", "+short", "@" + resolver, "-q", "a"}).out.empty());
}

TEST_F(Network, NamesResolveAcrossEveryNetworkOfTheAsker) {
  ASSERT_EQ(d_->berth({"network", "create", "front"}).code, 0);
  ASSERT_EQ(d_->berth({"network", "create", "back"}).code, 0);
  ASSERT_EQ(
      d_->berth({"run", "-d", "--name", "db", "--network", "back", "busybox", "sh", "-c", kHttpd})
          .code,
      0);
  // `app` is on front first (its resolver) and joins back while it runs.
  ASSERT_EQ(
      d_->berth({"run", "-d", "--name", "app", "--network", "front", "busybox", "sleep", "600"})
          .code,
      0);
  ASSERT_EQ(d_->berth({"network", "connect", "back", "app"}).code, 0);
  auto got = d_->berth({"exec", "app", "wget", "-qO-", "http://db/"});
  EXPECT_EQ(got.out.rfind("page of", 0), 0u) << got.out << got.err;
  // A container on front only does not see db.
  auto other = d_->berth({"run", "--rm", "--network", "front", "busybox", "nslookup", "db"});
  EXPECT_NE(other.code, 0) << other.out;
}

TEST_F(Network, LinkGivesDockersVariablesAndAHostsEntry) {
  ASSERT_EQ(d_->berth({"run", "-d", "--name", "a", "--expose", "80", "-e", "SECRET=s3", "busybox",
                       "sh", "-c", kHttpd})
                .code,
            0);
  std::string ip = ipOf("a", "bridge");
  ASSERT_FALSE(ip.empty());
  auto r = d_->berth({"run", "--rm", "--link", "a:db", "busybox", "sh", "-c",
                      "env | sort; grep db /etc/hosts; wget -qO- http://db/"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const std::string& line : std::vector<std::string>{
           "DB_PORT_80_TCP_ADDR=" + ip, "DB_PORT_80_TCP_PORT=80", "DB_PORT_80_TCP_PROTO=tcp",
           "DB_PORT_80_TCP=tcp://" + ip + ":80", "DB_PORT=tcp://" + ip + ":80", "DB_NAME=/",
           "DB_ENV_SECRET=s3", ip + "\tdb a", "page of"})
    EXPECT_NE(r.out.find(line), std::string::npos) << line << "\n" << r.out;
}

TEST_F(Network, ModesMacAndPublishAll) {
  auto a = d_->berth({"run", "-d", "--name", "a", "-P", "--expose", "80", "--mac-address",
                      "02:42:aa:bb:cc:dd", "busybox", "sh", "-c", kHttpd});
  ASSERT_EQ(a.code, 0) << a.err;
  // -P put the exposed port on a free host port.
  auto port = d_->berth({"port", "a", "80"});
  ASSERT_EQ(port.code, 0) << port.err;
  std::string hostport =
      std::string(trim(port.out)).substr(std::string(trim(port.out)).rfind(':') + 1);
  EXPECT_GE(std::stoi(hostport), 49153) << port.out;
  EXPECT_TRUE(eventually(
      [&] { return curl("http://127.0.0.1:" + hostport + "/").out.starts_with("page"); }, 5));
  // container:a shares a's network: its loopback reaches a's server.
  auto shared = d_->berth({"run", "--rm", "--network", "container:a", "busybox", "sh", "-c",
                           "wget -qO- http://127.0.0.1/; cat /sys/class/net/eth0/address"});
  EXPECT_EQ(shared.out.rfind("page of", 0), 0u) << shared.err;
  EXPECT_NE(shared.out.find("02:42:aa:bb:cc:dd"), std::string::npos) << shared.out;
  // none: loopback only; host: the host's interfaces.
  EXPECT_EQ(d_->berth({"run", "--rm", "--network", "none", "busybox", "ls", "/sys/class/net"}).out,
            "lo\n");
  auto host = d_->berth({"run", "--rm", "--network", "host", "busybox", "ls", "/sys/class/net"});
  EXPECT_NE(host.out.find(d_->bridge()), std::string::npos) << host.out;
}

// The host, its containers and containers on one bridge exchange 64 KiB packets, as over
// loopback; what goes out through the gateway keeps the 1500 bytes of a Docker
// container's eth0 (on the default route), so other hosts see what they always saw.
TEST_F(Network, TheBridgeCarriesLargePacketsAndTheWayOutKeepsDockersMtu) {
  auto run = d_->berth({"run", "-d", "--name", "big", "busybox", "sleep", "1000"});
  ASSERT_EQ(run.code, 0) << run.err;
  ASSERT_EQ(d_->berth({"network", "create", "jumbo"}).code, 0);
  ASSERT_EQ(
      d_->berth({"run", "-d", "--name", "other", "--network", "jumbo", "busybox", "sleep", "1000"})
          .code,
      0);
  for (std::string name : {"big", "other"}) {
    auto j = d_->inspect(name);
    const std::string pid = std::to_string(j["state"]["pid"].get<int>());
    std::string network = name == "big" ? "bridge" : "jumbo";
    std::string ip = ipOf(name, network);
    ASSERT_FALSE(ip.empty()) << j.dump();
    auto mtu = d_->berth({"exec", name, "cat", "/sys/class/net/eth0/mtu"});
    EXPECT_EQ(mtu.out, "65535\n") << name << ": " << mtu.err;
    // A 60,000-byte ping that may not be fragmented arrives whole.
    auto ping = runCmd({"ping", "-M", "do", "-s", "60000", "-c", "1", "-W", "3", ip}, "", 10);
    EXPECT_EQ(ping.code, 0) << name << ": " << ping.out << ping.err;
    auto route = runCmd({"nsenter", "-t", pid, "-n", "ip", "route", "show", "default"}, "", 10);
    EXPECT_NE(route.out.find("mtu 1500"), std::string::npos) << name << ": " << route.out;
    auto out = runCmd({"nsenter", "-t", pid, "-n", "ip", "route", "get", "192.0.2.1"}, "", 10);
    EXPECT_NE(out.out.find("mtu 1500"), std::string::npos) << name << ": " << out.out;
  }
}

TEST_F(Network, InternalNetworkReachesOnlyItself) {
  PeerHost peer(tag_, 252);
  ASSERT_EQ(d_->berth({"network", "create", "--internal", "inside"}).code, 0);
  ASSERT_EQ(
      d_->berth({"run", "-d", "--name", "i1", "--network", "inside", "busybox", "sh", "-c", kHttpd})
          .code,
      0);
  auto r = d_->berth(
      {"run", "--rm", "--network", "inside", "busybox", "sh", "-c",
       "wget -qO- http://i1/; ip route; nc -w 2 " + peer.peerAddr() + " 9 </dev/null 2>&1; true"});
  EXPECT_EQ(r.out.rfind("page of", 0), 0u) << r.out << r.err;
  EXPECT_EQ(r.out.find("default"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("unreachable"), std::string::npos) << r.out;
  // The same from the default bridge reaches the other machine (which refuses port 9).
  auto out = d_->berth({"run", "--rm", "busybox", "sh", "-c",
                        "nc -w 2 " + peer.peerAddr() + " 9 </dev/null 2>&1; true"});
  EXPECT_NE(out.out.find("refused"), std::string::npos) << out.out;
}

TEST_F(Network, MacvlanContainersAreReachableFromTheParentsSegment) {
  PeerHost seg(tag_, 251);
  std::string sub = "10.251.0.";
  // The segment's machines are .1 (the host's end) and .2: containers take .128 and up.
  auto net =
      d_->berth({"network", "create", "-d", "macvlan", "--subnet", sub + "0/24", "--gateway",
                 sub + "1", "--ip-range", sub + "128/25", "-o", "parent=" + seg.hostIf(), "mv"});
  ASSERT_EQ(net.code, 0) << net.err;
  for (const char* n : {"m1", "m2"})
    ASSERT_EQ(
        d_->berth({"run", "-d", "--name", n, "--network", "mv", "busybox", "sh", "-c", kHttpd})
            .code,
        0);
  for (const char* n : {"m1", "m2"}) {
    std::string ip = ipOf(n, "mv");
    ASSERT_EQ(ip.rfind(sub + "12", 0), 0u) << ip;
    auto got = seg.exec("for i in 1 2 3 4 5; do curl -s --max-time 2 http://" + ip +
                        "/ && break; sleep 0.2; done");
    std::string id = d_->inspect(n)["id"].get<std::string>();
    EXPECT_EQ(got.out, "page of " + id.substr(0, 12) + "\n") << n << " " << ip << got.err;
  }
}

TEST_F(Network, PublishedPortsSurviveADaemonCrashWithoutDuplicates) {
  ASSERT_EQ(d_->berth({"network", "create", "crashnet"}).code, 0);
  ASSERT_EQ(
      d_->berth({"run", "-d", "--name", "web", "-p", "18081:80", "busybox", "sh", "-c", kHttpd})
          .code,
      0);
  ASSERT_EQ(d_->berth({"run", "-d", "--name", "other", "--network", "crashnet", "busybox", "sleep",
                       "600"})
                .code,
            0);
  ASSERT_TRUE(eventually([&] { return curl("http://127.0.0.1:18081/").out.starts_with("page"); }));
  std::string rules = ruleset(), before_links = links();
  d_->kill9();
  d_->start();
  EXPECT_EQ(curl("http://127.0.0.1:18081/").out.rfind("page of", 0), 0u);
  EXPECT_EQ(ruleset(), rules);
  EXPECT_EQ(links(), before_links);
  // A new container gets a new address, not one that is still in use.
  ASSERT_EQ(d_->berth({"run", "-d", "--name", "web2", "busybox", "sleep", "600"}).code, 0);
  EXPECT_NE(ipOf("web2", "bridge"), ipOf("web", "bridge"));

  // Removing a network in use is refused; once unused, nothing of it is left.
  auto busy = d_->berth({"network", "rm", "crashnet"});
  EXPECT_NE(busy.code, 0);
  EXPECT_NE(busy.err.find("other"), std::string::npos) << busy.err;
  auto info = nlohmann::json::parse(d_->berth({"network", "inspect", "crashnet"}).out);
  std::string bridge = info[0].value("interface", "");
  ASSERT_FALSE(bridge.empty());
  ASSERT_EQ(d_->berth({"rm", "-f", "other"}).code, 0);
  ASSERT_EQ(d_->berth({"network", "rm", "crashnet"}).code, 0);
  EXPECT_NE(PeerHost::sh("ip link show " + bridge).code, 0);
  EXPECT_EQ(ruleset().find(bridge), std::string::npos) << ruleset();
}

TEST_F(Network, BadInputIsRefusedAndLeavesNothing) {
  ASSERT_EQ(d_->berth({"network", "create", "--subnet", "10.252.0.0/24", "n1"}).code, 0);
  std::string rules = ruleset(), before = links();
  auto overlap = d_->berth({"network", "create", "--subnet", "10.252.0.128/25", "n2"});
  EXPECT_NE(overlap.code, 0);
  EXPECT_NE(overlap.err.find("overlaps network 'n1'"), std::string::npos) << overlap.err;
  auto cidr = d_->berth({"network", "create", "--subnet", "10.252.1.0/33", "n3"});
  EXPECT_NE(cidr.code, 0);
  EXPECT_NE(cidr.err.find("prefix"), std::string::npos) << cidr.err;
  auto gw = d_->berth(
      {"network", "create", "--subnet", "10.252.2.0/24", "--gateway", "10.252.3.1", "n4"});
  EXPECT_NE(gw.code, 0);
  EXPECT_NE(gw.err.find("outside"), std::string::npos) << gw.err;
  EXPECT_EQ(d_->berth({"network", "ls", "-q"}).out.size(), 4 * 13u);  // bridge host none n1

  ASSERT_EQ(d_->berth({"run", "-d", "--name", "fixed", "--network", "n1", "--ip", "10.252.0.9",
                       "busybox", "sleep", "600"})
                .code,
            0);
  std::string with_one = links();
  auto taken = d_->berth({"run", "-d", "--name", "clash", "--network", "n1", "--ip", "10.252.0.9",
                          "busybox", "sleep", "600"});
  EXPECT_NE(taken.code, 0);
  EXPECT_NE(taken.err.find("already in use"), std::string::npos) << taken.err;
  EXPECT_EQ(links(), with_one);

  // A port a host process holds.
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(18082);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ::listen(s, 1);
  auto busy = d_->berth({"run", "-d", "--name", "busy", "-p", "18082:80", "busybox", "sleep", "9"});
  ::close(s);
  EXPECT_NE(busy.code, 0);
  EXPECT_NE(busy.err.find("already in use"), std::string::npos) << busy.err;
  EXPECT_EQ(links(), with_one);
  EXPECT_EQ(ruleset().find("18082"), std::string::npos);
  // Two containers cannot publish the same port.
  ASSERT_EQ(
      d_->berth({"run", "-d", "--name", "p1", "-p", "18083:80", "busybox", "sleep", "600"}).code,
      0);
  auto twice = d_->berth({"run", "-d", "--name", "p2", "-p", "18083:80", "busybox", "sleep", "9"});
  EXPECT_NE(twice.code, 0);
  EXPECT_NE(twice.err.find("already published"), std::string::npos) << twice.err;

  // A failed `run -d` leaves its container created, as docker's does: it still refers to n1.
  for (const char* c : {"clash", "busy", "p2"}) d_->berth({"rm", "-f", c});
  auto in_use = d_->berth({"network", "rm", "n1"});
  EXPECT_NE(in_use.code, 0);
  EXPECT_NE(in_use.err.find("fixed"), std::string::npos) << in_use.err;
  EXPECT_NE(d_->berth({"network", "rm", "bridge"}).code, 0);
}

}  // namespace
}  // namespace berth::test
