#pragma once
// IPv4 address management: subnets, their overlaps, and handing out addresses. Pure: the
// caller says what is taken (the engine derives it from its records, so nothing is handed
// out twice, also across daemon restarts).

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::network {

using Ipv4 = uint32_t;  // host byte order

Result<Ipv4> parseIpv4(std::string_view text);  // "10.89.0.2"
std::string formatIpv4(Ipv4 a);

struct Subnet {
  Ipv4 base = 0;  // the network address (host bits zero)
  int prefix = 0;

  Ipv4 mask() const { return prefix == 0 ? 0 : ~Ipv4{0} << (32 - prefix); }
  Ipv4 broadcast() const { return base | ~mask(); }
  bool contains(Ipv4 a) const { return (a & mask()) == base; }
  bool contains(const Subnet& s) const { return s.prefix >= prefix && contains(s.base); }
  bool overlaps(const Subnet& s) const { return contains(s.base) || s.contains(base); }
  std::string str() const;  // "10.89.0.0/24"
};

// "10.89.0.0/24". Host bits must be zero ("10.89.0.1/24" is refused, naming the network
// it probably meant); prefixes 8–30.
Result<Subnet> parseSubnet(std::string_view cidr);

// The first /`prefix` inside `pool` that overlaps none of `taken`; kUnavailable if none.
Result<Subnet> freeSubnet(const Subnet& pool, int prefix, const std::vector<Subnet>& taken);

// Where addresses of a network come from: `range` (a part of `subnet`, or the subnet) minus
// the network and broadcast addresses and the gateway.
struct Pool {
  Subnet subnet;
  Subnet range;
  Ipv4 gateway = 0;
};

// Checks a user's subnet/gateway/ip-range and fills the defaults: gateway the first host
// address, range the whole subnet. Errors name the field ("gateway 10.90.0.1 is outside
// subnet 10.89.0.0/24").
Result<Pool> makePool(std::string_view subnet, std::string_view gateway, std::string_view range);

// The next free address after `last` (wrapping), so that a released address is not
// reused at once; kUnavailable "no free address in 10.89.0.0/24" when full.
Result<Ipv4> allocate(const Pool& pool, const std::set<Ipv4>& taken, Ipv4 last);
// Checks that a requested address can be given: inside the subnet, not the network,
// broadcast or gateway address, not taken (kConflict).
Status reserve(const Pool& pool, const std::set<Ipv4>& taken, Ipv4 want);

// docker's scheme: 02:42 followed by the four bytes of the address.
std::string macFor(Ipv4 a);
// "aa:bb:cc:dd:ee:ff", unicast; returns it lowercased.
Result<std::string> parseMac(std::string_view text);

}  // namespace berth::network
