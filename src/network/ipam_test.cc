#include "network/ipam.h"

#include <gtest/gtest.h>

namespace berth::network {
namespace {

Ipv4 ip(const char* s) { return *parseIpv4(s); }

TEST(Ipam, ParsesAndFormatsAddressesAndSubnets) {
  EXPECT_EQ(formatIpv4(ip("10.89.0.2")), "10.89.0.2");
  EXPECT_FALSE(parseIpv4("10.89.0.256"));
  EXPECT_FALSE(parseIpv4("10.89.0"));
  auto s = parseSubnet("10.89.0.0/24");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->str(), "10.89.0.0/24");
  EXPECT_EQ(formatIpv4(s->broadcast()), "10.89.0.255");
  EXPECT_TRUE(s->contains(ip("10.89.0.77")));
  EXPECT_FALSE(s->contains(ip("10.89.1.1")));
}

TEST(Ipam, RefusesBadSubnetsWithTheReason) {
  auto host_bits = parseSubnet("10.89.0.1/24");
  ASSERT_FALSE(host_bits);
  EXPECT_NE(host_bits.error().message().find("did you mean 10.89.0.0/24"), std::string::npos);
  EXPECT_FALSE(parseSubnet("10.89.0.0"));
  EXPECT_FALSE(parseSubnet("10.89.0.0/33"));
  EXPECT_FALSE(parseSubnet("10.89.0.0/31"));  // no room for a gateway and a container
  EXPECT_FALSE(parseSubnet("10.89.0.0/2x"));
  EXPECT_FALSE(parseSubnet("banana/24"));
}

TEST(Ipam, OverlapsBothWays) {
  auto a = *parseSubnet("10.89.0.0/16"), b = *parseSubnet("10.89.4.0/24"),
       c = *parseSubnet("10.90.0.0/24");
  EXPECT_TRUE(a.overlaps(b));
  EXPECT_TRUE(b.overlaps(a));
  EXPECT_FALSE(a.overlaps(c));
}

TEST(Ipam, FreeSubnetSkipsTakenOnes) {
  auto pool = *parseSubnet("10.89.0.0/16");
  auto first = freeSubnet(pool, 24, {});
  ASSERT_TRUE(first);
  EXPECT_EQ(first->str(), "10.89.0.0/24");
  auto next = freeSubnet(pool, 24, {*parseSubnet("10.89.0.0/23"), *parseSubnet("10.89.3.0/24")});
  ASSERT_TRUE(next);
  EXPECT_EQ(next->str(), "10.89.2.0/24");
  EXPECT_FALSE(freeSubnet(*parseSubnet("10.89.0.0/24"), 24, {*parseSubnet("10.0.0.0/8")}));
}

TEST(Ipam, PoolChecksGatewayAndRange) {
  auto p = makePool("10.89.0.0/24", "", "");
  ASSERT_TRUE(p);
  EXPECT_EQ(formatIpv4(p->gateway), "10.89.0.1");
  auto outside = makePool("10.89.0.0/24", "10.90.0.1", "");
  ASSERT_FALSE(outside);
  EXPECT_EQ(outside.error().message(), "gateway 10.90.0.1 is outside subnet 10.89.0.0/24");
  EXPECT_FALSE(makePool("10.89.0.0/24", "10.89.0.0", ""));
  EXPECT_FALSE(makePool("10.89.0.0/24", "10.89.0.255", ""));
  EXPECT_FALSE(makePool("10.89.0.0/24", "", "10.89.1.0/25"));
  auto bad = makePool("10.89.0.0/24", "nope", "");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message().rfind("gateway: ", 0), 0u);
}

TEST(Ipam, AllocatesEveryUsableAddressOnceAndMovesOn) {
  auto p = *makePool("10.89.0.0/29", "", "");  // .1 gateway, .2–.6 usable, .7 broadcast
  std::set<Ipv4> taken;
  Ipv4 last = 0;
  for (int i = 0; i < 5; ++i) {
    auto a = allocate(p, taken, last);
    ASSERT_TRUE(a) << i;
    EXPECT_FALSE(taken.count(*a));
    EXPECT_NE(*a, p.gateway);
    taken.insert(*a);
    last = *a;
  }
  EXPECT_EQ(formatIpv4(*taken.begin()), "10.89.0.2");
  EXPECT_EQ(formatIpv4(*taken.rbegin()), "10.89.0.6");
  auto full = allocate(p, taken, last);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code(), ErrorCode::kUnavailable);
  // A released address is not handed out again at once: the next one after the last is.
  taken.erase(ip("10.89.0.3"));
  taken.erase(ip("10.89.0.5"));
  EXPECT_EQ(formatIpv4(*allocate(p, taken, ip("10.89.0.3"))), "10.89.0.5");
}

TEST(Ipam, AllocatesInsideTheRange) {
  auto p = *makePool("10.89.0.0/24", "", "10.89.0.128/25");
  auto a = allocate(p, {}, 0);
  ASSERT_TRUE(a);
  EXPECT_EQ(formatIpv4(*a), "10.89.0.128");
}

TEST(Ipam, ReserveRefusesTakenAndSpecialAddresses) {
  auto p = *makePool("10.89.0.0/24", "", "");
  EXPECT_TRUE(reserve(p, {}, ip("10.89.0.9")));
  EXPECT_EQ(reserve(p, {ip("10.89.0.9")}, ip("10.89.0.9")).error().code(), ErrorCode::kConflict);
  EXPECT_FALSE(reserve(p, {}, ip("10.89.0.1")));
  EXPECT_FALSE(reserve(p, {}, ip("10.89.1.9")));
}

TEST(Ipam, Macs) {
  EXPECT_EQ(macFor(ip("10.89.0.2")), "02:42:0a:59:00:02");
  EXPECT_EQ(*parseMac("02:42:0A:59:00:02"), "02:42:0a:59:00:02");
  EXPECT_FALSE(parseMac("02:42:0a:59:00"));
  EXPECT_FALSE(parseMac("02-42-0a-59-00-02"));
  EXPECT_FALSE(parseMac("01:00:5e:00:00:01"));
}

}  // namespace
}  // namespace berth::network
