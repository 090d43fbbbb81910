#include "network/dns_socket.h"

#include <netinet/in.h>

#include "gtest/gtest.h"

namespace berth::network {
namespace {

// "ip port" of a parsed upstream, or "-" when it does not parse.
std::string upstream(const std::string& text) {
  std::optional<SockAddr> a = hostPortAddress(text, 53);
  return a ? a->ip() + " " + std::to_string(a->port()) : "-";
}

TEST(DnsSocketTest, HostPortAddress) {
  EXPECT_EQ(upstream("192.168.1.1"), "192.168.1.1 53");
  EXPECT_EQ(upstream("127.0.0.1:5353"), "127.0.0.1 5353");
  EXPECT_EQ(upstream("fd00::53"), "fd00::53 53");
  EXPECT_EQ(upstream("[fd00::53]"), "fd00::53 53");
  EXPECT_EQ(upstream("[fd00::53]:5353"), "fd00::53 5353");
  EXPECT_EQ(upstream("web"), "-");
  EXPECT_EQ(upstream("web:53"), "-");
  EXPECT_EQ(upstream("1.2.3.4:0"), "-");
  EXPECT_EQ(upstream("1.2.3.4:65536"), "-");
  EXPECT_EQ(upstream("1.2.3.4:x"), "-");
  EXPECT_EQ(upstream("[fd00::53]x"), "-");
  EXPECT_EQ(upstream("[fd00::53"), "-");
  EXPECT_EQ(upstream(""), "-");
  // A zone becomes the scope id ("lo" exists everywhere).
  std::optional<SockAddr> scoped = hostPortAddress("fe80::1%lo", 53);
  ASSERT_TRUE(scoped);
  EXPECT_NE(reinterpret_cast<const sockaddr_in6*>(&scoped->ss)->sin6_scope_id, 0u);
}

TEST(DnsSocketTest, IpAddress) {
  EXPECT_EQ(ipAddress("10.89.0.1", 53)->ip(), "10.89.0.1");
  EXPECT_EQ(ipAddress("fd00:0::1", 53)->ip(), "fd00::1");  // normalised
  EXPECT_EQ(ipAddress("fd00::1", 53)->port(), 53);
  EXPECT_FALSE(ipAddress("fe80::1%lo", 53));
  EXPECT_FALSE(ipAddress("10.89.0.1:53", 53));
  EXPECT_FALSE(ipAddress("localhost", 53));
}

TEST(DnsSocketTest, HostPort) {
  EXPECT_EQ(hostPort("10.89.0.1", 53), "10.89.0.1:53");
  EXPECT_EQ(hostPort("fd00::1", 53), "[fd00::1]:53");
}

}  // namespace
}  // namespace berth::network
