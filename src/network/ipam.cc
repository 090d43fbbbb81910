#include "network/ipam.h"

#include <arpa/inet.h>

#include <cctype>
#include <charconv>
#include <cstdio>

#include "common/strings.h"

namespace berth::network {

Result<Ipv4> parseIpv4(std::string_view text) {
  in_addr a{};
  std::string s(text);
  if (s.empty() || inet_pton(AF_INET, s.c_str(), &a) != 1)
    return invalidArgument(quote(s) + " is not an IPv4 address");
  return ntohl(a.s_addr);
}

std::string formatIpv4(Ipv4 a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
         std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

std::string Subnet::str() const { return formatIpv4(base) + "/" + std::to_string(prefix); }

Result<Subnet> parseSubnet(std::string_view cidr) {
  auto slash = cidr.find('/');
  if (slash == std::string_view::npos)
    return invalidArgument(quote(std::string(cidr)) + " is not a CIDR subnet (like 10.89.0.0/24)");
  auto addr = parseIpv4(cidr.substr(0, slash));
  if (!addr) return addr.error();
  std::string_view p = cidr.substr(slash + 1);
  int prefix = -1;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
  if (ec != std::errc() || end != p.data() + p.size() || prefix < 8 || prefix > 30)
    return invalidArgument(quote(std::string(cidr)) + ": the prefix length must be 8 to 30");
  Subnet s{*addr, prefix};
  if ((*addr & s.mask()) != *addr) {
    Subnet meant{*addr & s.mask(), prefix};
    return invalidArgument(quote(std::string(cidr)) + " has host bits set (did you mean " +
                           meant.str() + "?)");
  }
  return s;
}

Result<Subnet> freeSubnet(const Subnet& pool, int prefix, const std::vector<Subnet>& taken) {
  uint64_t step = uint64_t{1} << (32 - prefix);
  for (uint64_t b = pool.base; b + step - 1 <= pool.broadcast(); b += step) {
    Subnet s{static_cast<Ipv4>(b), prefix};
    bool free = true;
    for (const auto& t : taken) free = free && !t.overlaps(s);
    if (free) return s;
  }
  return unavailable("no free /" + std::to_string(prefix) + " subnet left in " + pool.str() +
                     ": give one with --subnet");
}

Result<Pool> makePool(std::string_view subnet, std::string_view gateway, std::string_view range) {
  Pool p;
  auto s = parseSubnet(subnet);
  if (!s) return s.error().context("subnet");
  p.subnet = *s;
  p.range = p.subnet;
  if (!range.empty()) {
    auto r = parseSubnet(range);
    if (!r) return r.error().context("ip range");
    p.range = *r;
    if (!p.subnet.contains(p.range))
      return invalidArgument("ip range " + p.range.str() + " is outside subnet " + p.subnet.str());
  }
  if (gateway.empty()) {
    p.gateway = p.subnet.base + 1;
  } else {
    auto g = parseIpv4(gateway);
    if (!g) return g.error().context("gateway");
    p.gateway = *g;
    if (!p.subnet.contains(p.gateway))
      return invalidArgument("gateway " + std::string(gateway) + " is outside subnet " +
                             p.subnet.str());
    if (p.gateway == p.subnet.base || p.gateway == p.subnet.broadcast())
      return invalidArgument("gateway " + std::string(gateway) +
                             " is the network or broadcast address of " + p.subnet.str());
  }
  return p;
}

namespace {
bool usable(const Pool& p, Ipv4 a) {
  return a != p.subnet.base && a != p.subnet.broadcast() && a != p.gateway;
}
}  // namespace

Result<Ipv4> allocate(const Pool& pool, const std::set<Ipv4>& taken, Ipv4 last) {
  uint64_t size = uint64_t{1} << (32 - pool.range.prefix);
  uint64_t start = pool.range.contains(last) ? last - pool.range.base + 1 : 0;
  for (uint64_t i = 0; i < size; ++i) {
    Ipv4 a = pool.range.base + static_cast<Ipv4>((start + i) % size);
    if (usable(pool, a) && !taken.count(a)) return a;
  }
  return unavailable("no free address in " + pool.range.str());
}

Status reserve(const Pool& pool, const std::set<Ipv4>& taken, Ipv4 want) {
  if (!pool.subnet.contains(want))
    return invalidArgument("address " + formatIpv4(want) + " is outside subnet " +
                           pool.subnet.str());
  if (!usable(pool, want))
    return invalidArgument("address " + formatIpv4(want) +
                           " is the network, broadcast or gateway address");
  if (taken.count(want)) return conflict("address " + formatIpv4(want) + " is already in use");
  return okStatus();
}

std::string macFor(Ipv4 a) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "02:42:%02x:%02x:%02x:%02x", a >> 24, (a >> 16) & 255,
                (a >> 8) & 255, a & 255);
  return buf;
}

Result<std::string> parseMac(std::string_view text) {
  std::string m(text);
  auto bad = [&] {
    return invalidArgument(quote(m) + " is not a MAC address (like 02:42:0a:59:00:02)");
  };
  if (m.size() != 17) return bad();
  for (size_t i = 0; i < m.size(); ++i) {
    if (i % 3 == 2) {
      if (m[i] != ':') return bad();
    } else if (!std::isxdigit(static_cast<unsigned char>(m[i]))) {
      return bad();
    }
    m[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(m[i])));
  }
  if (std::stoi(m.substr(0, 2), nullptr, 16) & 1)
    return invalidArgument(quote(m) + " is a multicast MAC address: the first byte must be even");
  return m;
}

}  // namespace berth::network
