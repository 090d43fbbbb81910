#include "network/ruleset.h"

#include <gtest/gtest.h>

namespace berth::network {
namespace {

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST(Ruleset, ChainsAreFlushedAndRefilledInOneScript) {
  auto s =
      chainsScript("berth", {{"berth0", "10.88.0.0/16", false}, {"br-x", "10.89.0.0/24", true}});
  // Re-applying must not duplicate: every chain is flushed before its rules are added.
  for (const char* c : {"publish", "prerouting", "output", "postrouting", "forward"})
    EXPECT_EQ(count(s, std::string("flush chain ip berth ") + c + "\n"), 1u) << c;
  EXPECT_LT(s.find("flush chain ip berth forward"), s.find("add rule ip berth forward"));
  // Outgoing NAT for the normal bridge, none for the internal one, which is fenced in.
  EXPECT_NE(s.find("postrouting ip saddr 10.88.0.0/16 oifname != \"berth0\" masquerade"),
            std::string::npos);
  EXPECT_EQ(s.find("ip saddr 10.89.0.0/24 oifname != \"br-x\" masquerade"), std::string::npos);
  EXPECT_NE(s.find("forward iifname \"br-x\" oifname != \"br-x\" drop"), std::string::npos);
  // Loopback clients and hairpin traffic are masqueraded on every bridge.
  EXPECT_EQ(count(s, "ct status dnat ip saddr 127.0.0.0/8 masquerade"), 2u);
}

TEST(Ruleset, PortsAreMapElements) {
  std::vector<PortMap> ports{{"", "tcp", 18080, "10.88.0.2", 80},
                             {"127.0.0.1", "udp", 5353, "10.88.0.2", 53}};
  auto add = portsScript("berth", ports, true);
  EXPECT_EQ(add,
            "add element ip berth pub_any { tcp . 18080 : 10.88.0.2 . 80 }\n"
            "add element ip berth pub_ip { 127.0.0.1 . udp . 5353 : 10.88.0.2 . 53 }\n");
  auto del = portsScript("berth", ports, false);
  EXPECT_EQ(del,
            "delete element ip berth pub_any { tcp . 18080 }\n"
            "delete element ip berth pub_ip { 127.0.0.1 . udp . 5353 }\n");
  EXPECT_EQ(portsScript("berth", {}, true), "");
  auto reset = resetPortsScript("t", ports);
  EXPECT_EQ(reset.rfind("flush map ip t pub_any\nflush map ip t pub_ip\n", 0), 0u);
}

}  // namespace
}  // namespace berth::network
