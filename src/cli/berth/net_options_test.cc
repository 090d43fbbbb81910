// The networking flags: -p/--expose parsing, addresses, and the network verbs' bodies.

#include "cli/berth/net_options.h"

#include <gtest/gtest.h>

namespace berth::cli {
namespace {

using nlohmann::json;

json port(int container, const char* protocol, const char* ip, int host) {
  return {
      {"container_port", container}, {"protocol", protocol}, {"host_ip", ip}, {"host_port", host}};
}

std::string publishError(std::string_view text) {
  auto r = parsePublish(text);
  return r ? "(parsed)" : r.error().message();
}

TEST(ParsePublish, SinglePorts) {
  EXPECT_EQ(*parsePublish("80"), (std::vector<json>{port(80, "tcp", "", 0)}));
  EXPECT_EQ(*parsePublish("18080:80"), (std::vector<json>{port(80, "tcp", "", 18080)}));
  EXPECT_EQ(*parsePublish("127.0.0.1:9000:9000/udp"),
            (std::vector<json>{port(9000, "udp", "127.0.0.1", 9000)}));
  EXPECT_EQ(*parsePublish("127.0.0.1::80"), (std::vector<json>{port(80, "tcp", "127.0.0.1", 0)}));
  EXPECT_EQ(*parsePublish("0.0.0.0:8080:80/tcp"),
            (std::vector<json>{port(80, "tcp", "0.0.0.0", 8080)}));
  EXPECT_EQ(*parsePublish("53/UDP"), (std::vector<json>{port(53, "udp", "", 0)}));
  EXPECT_EQ(*parsePublish("65535:1"), (std::vector<json>{port(1, "tcp", "", 65535)}));
}

TEST(ParsePublish, RangesAreExpanded) {
  EXPECT_EQ(*parsePublish("8000-8002:80-82"),
            (std::vector<json>{port(80, "tcp", "", 8000), port(81, "tcp", "", 8001),
                               port(82, "tcp", "", 8002)}));
  EXPECT_EQ(*parsePublish("80-81"),
            (std::vector<json>{port(80, "tcp", "", 0), port(81, "tcp", "", 0)}));
  EXPECT_EQ(*parsePublish("127.0.0.1::80-81/udp"),
            (std::vector<json>{port(80, "udp", "127.0.0.1", 0), port(81, "udp", "127.0.0.1", 0)}));
  EXPECT_EQ(*parsePublish("9000-9000:80"), (std::vector<json>{port(80, "tcp", "", 9000)}));
}

TEST(ParsePublish, ErrorsSayWhatIsWrong) {
  EXPECT_EQ(publishError("80:abc"), "container port must be a number 1-65535");
  EXPECT_EQ(publishError("0"), "container port must be a number 1-65535");
  EXPECT_EQ(publishError("65536"), "container port must be a number 1-65535");
  EXPECT_EQ(publishError("-80"), "container port must be a number 1-65535");
  EXPECT_EQ(publishError("80-"), "container port must be a number 1-65535");
  EXPECT_EQ(publishError(" 80"), "container port must be a number 1-65535");
  EXPECT_EQ(publishError("abc:80"), "host port must be a number 1-65535");
  EXPECT_EQ(publishError("0:80"), "host port must be a number 1-65535");
  EXPECT_EQ(publishError(""), "container port is missing");
  EXPECT_EQ(publishError("8080:"), "container port is missing");
  EXPECT_EQ(publishError("82-80"), "container port range 82-80 ends before it starts");
  EXPECT_EQ(publishError("8002-8000:80-82"), "host port range 8002-8000 ends before it starts");
  EXPECT_EQ(publishError("8000-8010:80"),
            "a host port range needs a container port range of the same size (berth cannot "
            "pick one free port out of a range yet)");
  EXPECT_EQ(publishError("8000-8001:80-82"),
            "host ports 8000-8001 and container ports 80-82 are ranges of different sizes");
  EXPECT_EQ(publishError("8000:80-82"),
            "host ports 8000 and container ports 80-82 are ranges of different sizes");
  EXPECT_EQ(publishError("80/sctp"), "protocol 'sctp' is not supported (use tcp or udp)");
  EXPECT_EQ(publishError("80/"), "the protocol after '/' is missing (use tcp or udp)");
  EXPECT_EQ(publishError("[::1]:80:80"), "IPv6 addresses are not supported yet");
  EXPECT_EQ(publishError("::1:80:80"),
            "expected [IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL] (IPv6 addresses are not "
            "supported yet)");
  EXPECT_EQ(publishError("1.2.3:80:80"), "host IP '1.2.3': not an IPv4 address such as 10.89.0.9");
  EXPECT_EQ(publishError("localhost:80:80"),
            "host IP 'localhost': not an IPv4 address such as 10.89.0.9");
}

TEST(ParseExpose, PortsAndRanges) {
  EXPECT_EQ(*parseExpose("80"), (std::vector<std::string>{"80/tcp"}));
  EXPECT_EQ(*parseExpose("53/udp"), (std::vector<std::string>{"53/udp"}));
  EXPECT_EQ(*parseExpose("8000-8002"),
            (std::vector<std::string>{"8000/tcp", "8001/tcp", "8002/tcp"}));
  EXPECT_EQ(parseExpose("x").error().message(), "port must be a number 1-65535");
  EXPECT_EQ(parseExpose("8080:80").error().message(),
            "expected PORT[-END][/PROTOCOL] (no host part: that is --publish)");
  EXPECT_EQ(parseExpose("80/icmp").error().message(),
            "protocol 'icmp' is not supported (use tcp or udp)");
}

TEST(ParseIpv4, DottedQuadsOnly) {
  EXPECT_EQ(*parseIpv4("10.89.0.9"), 0x0a590009u);
  EXPECT_EQ(*parseIpv4("0.0.0.0"), 0u);
  EXPECT_EQ(*parseIpv4("255.255.255.255"), 0xffffffffu);
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1..3.4", "a.b.c.d",
                          "1.2.3.4 ", "1.2.3.-4"})
    EXPECT_EQ(parseIpv4(bad).error().message(), "not an IPv4 address such as 10.89.0.9") << bad;
  EXPECT_EQ(parseIpv4("::1").error().message(), "IPv6 addresses are not supported yet");
}

TEST(ParseCidr, NetworksAndContainment) {
  auto c = *parseCidr("10.89.0.0/24");
  EXPECT_EQ(c.address, 0x0a590000u);
  EXPECT_EQ(c.prefix_len, 24);
  EXPECT_TRUE(c.contains(*parseIpv4("10.89.0.255")));
  EXPECT_FALSE(c.contains(*parseIpv4("10.89.1.0")));
  EXPECT_TRUE(c.contains(*parseCidr("10.89.0.128/25")));
  EXPECT_FALSE(c.contains(*parseCidr("10.89.0.0/23")));
  EXPECT_TRUE(parseCidr("0.0.0.0/0")->contains(*parseIpv4("1.2.3.4")));
  EXPECT_EQ(parseCidr("10.89.0.1/24").error().message(),
            "host bits are set (the network is '10.89.0.0/24')");
  EXPECT_EQ(parseCidr("10.89.0.0").error().message(),
            "expected ADDRESS/PREFIX such as 10.89.0.0/24");
  EXPECT_EQ(parseCidr("10.89.0.0/33").error().message(), "the prefix length must be a number 0-32");
  EXPECT_EQ(parseCidr("10.89.0.0/").error().message(), "the prefix length must be a number 0-32");
  EXPECT_EQ(parseCidr("10.89.0/24").error().message(), "not an IPv4 address such as 10.89.0.9");
}

TEST(ParseMac, NormalisedUnicast) {
  EXPECT_EQ(*parseMac("02:42:0A:59:00:09"), "02:42:0a:59:00:09");
  EXPECT_EQ(*parseMac("02-42-0a-59-00-09"), "02:42:0a:59:00:09");
  for (const char* bad : {"", "02:42:0a:59:00", "02:42:0a:59:00:09:10", "02:42:0a:59:00:9",
                          "02:42:0a:59:00:zz", "02:42-0a:59:00:09", "0242.0a59.0009"})
    EXPECT_EQ(parseMac(bad).error().message(), "not a MAC address such as 02:42:0a:59:00:09")
        << bad;
  EXPECT_EQ(parseMac("01:00:5e:00:00:01").error().message(),
            "a multicast address (its first octet is odd); use a unicast one");
}

TEST(CheckLink, NameAndAlias) {
  EXPECT_TRUE(checkLink("db").ok());
  EXPECT_TRUE(checkLink("db-1:database").ok());
  EXPECT_EQ(checkLink("a:b:c").error().message(), "expected NAME[:ALIAS]");
  EXPECT_EQ(checkLink(":x").error().message(), "the name is empty");
  EXPECT_EQ(checkLink("db:my alias").error().message(),
            "'my alias' is not a valid name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)");
}

TEST(NetworkCreateBody, EveryFieldIsSent) {
  NetworkCreateFlags f;
  f.name = "appnet";
  EXPECT_EQ(*networkCreateBody(f), (json{{"name", "appnet"},
                                         {"driver", "bridge"},
                                         {"subnet", ""},
                                         {"gateway", ""},
                                         {"ip_range", ""},
                                         {"internal", false},
                                         {"options", json::object()},
                                         {"labels", json::object()}}));
  f.driver = "macvlan";
  f.subnet = "192.168.50.0/24";
  f.gateway = "192.168.50.1";
  f.ip_range = "192.168.50.128/25";
  f.internal = true;
  f.options = {"parent=eth1"};
  f.labels = {"team=web", "flag"};
  EXPECT_EQ(*networkCreateBody(f), (json{{"name", "appnet"},
                                         {"driver", "macvlan"},
                                         {"subnet", "192.168.50.0/24"},
                                         {"gateway", "192.168.50.1"},
                                         {"ip_range", "192.168.50.128/25"},
                                         {"internal", true},
                                         {"options", {{"parent", "eth1"}}},
                                         {"labels", {{"team", "web"}, {"flag", ""}}}}));
}

std::string createError(void (*set)(NetworkCreateFlags&)) {
  NetworkCreateFlags f;
  f.name = "n";
  set(f);
  auto body = networkCreateBody(f);
  return body ? "(accepted)" : body.error().message();
}

TEST(NetworkCreateBody, BadFlags) {
  EXPECT_EQ(createError([](NetworkCreateFlags& f) { f.name = "my net"; }),
            "invalid network name: 'my net' is not a valid name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)");
  EXPECT_EQ(createError([](NetworkCreateFlags& f) { f.driver = "overlay"; }),
            "invalid --driver 'overlay': use bridge or macvlan");
  EXPECT_EQ(createError([](NetworkCreateFlags& f) { f.subnet = "10.0.0.1/8"; }),
            "invalid --subnet '10.0.0.1/8': host bits are set (the network is '10.0.0.0/8')");
  EXPECT_EQ(createError([](NetworkCreateFlags& f) { f.gateway = "10.0.0.1"; }),
            "invalid --gateway '10.0.0.1': needs --subnet");
  EXPECT_EQ(createError([](NetworkCreateFlags& f) {
              f.subnet = "10.1.0.0/16";
              f.gateway = "10.2.0.1";
            }),
            "invalid --gateway '10.2.0.1': outside the subnet '10.1.0.0/16'");
  EXPECT_EQ(createError([](NetworkCreateFlags& f) {
              f.subnet = "10.1.0.0/16";
              f.gateway = "10.1.0.256";
            }),
            "invalid --gateway '10.1.0.256': not an IPv4 address such as 10.89.0.9");
  EXPECT_EQ(createError([](NetworkCreateFlags& f) { f.ip_range = "10.1.0.0/24"; }),
            "invalid --ip-range '10.1.0.0/24': needs --subnet");
  EXPECT_EQ(createError([](NetworkCreateFlags& f) {
              f.subnet = "10.1.0.0/24";
              f.ip_range = "10.1.0.0/16";
            }),
            "invalid --ip-range '10.1.0.0/16': outside the subnet '10.1.0.0/24'");
  EXPECT_EQ(createError([](NetworkCreateFlags& f) { f.options = {"parent"}; }),
            "invalid --opt 'parent': expected KEY=VALUE");
  EXPECT_EQ(createError([](NetworkCreateFlags& f) { f.labels = {"=v"}; }),
            "invalid --label '=v': the key is empty");
}

TEST(NetworkConnectBody, Shape) {
  EXPECT_EQ(*networkConnectBody("web", "", {}),
            (json{{"container", "web"}, {"aliases", json::array()}, {"ip", ""}, {"mac", ""}}));
  EXPECT_EQ(
      *networkConnectBody("web", "10.89.0.9", {"db", "cache"}),
      (json{{"container", "web"}, {"aliases", {"db", "cache"}}, {"ip", "10.89.0.9"}, {"mac", ""}}));
  EXPECT_EQ(networkConnectBody("web", "10.89.0", {}).error().message(),
            "invalid --ip '10.89.0': not an IPv4 address such as 10.89.0.9");
  EXPECT_EQ(networkConnectBody("web", "", {"a b"}).error().message(),
            "invalid --alias 'a b': 'a b' is not a valid name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)");
}

TEST(NetworkFilter, KnownKeys) {
  for (const char* good : {"name=app", "driver=bridge", "label=team", "label=team=web"})
    EXPECT_TRUE(checkNetworkFilter(good).ok()) << good;
  EXPECT_EQ(checkNetworkFilter("scope=local").error().message(),
            "invalid --filter 'scope=local': use name=, driver= or label=K[=V]");
  EXPECT_FALSE(checkNetworkFilter("name").ok());
}

}  // namespace
}  // namespace berth::cli
