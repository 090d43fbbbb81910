#pragma once
// The catalog's DNS zone (issue 7): the names under service.berth that answer with the
// passing instances of a service, and the names under addr.berth that SRV records give as
// targets. Pure: it answers from the instances a lookup hands it, keeps no state, touches
// no socket; the DNS server (network/dns_server.h) calls it and keeps its answers until
// the catalog changes (DnsReply::cacheable, DnsServer::invalidate).
//
// Names (case-insensitive; every TTL is 0, so that no resolver keeps an instance that
// stopped or failed its check):
//   NAME.service.berth        A: the address of every passing instance (each once);
//                             AAAA: none (instances have IPv4 addresses: NODATA);
//                             SRV "1 1 PORT HEX.addr.berth." per instance with a port,
//                             the targets' A records in the additional section;
//                             ANY: A, AAAA and SRV together.
//   TAG.NAME.service.berth    the same, for the passing instances carrying TAG.
//   _NAME._tcp.service.berth  SRV only (RFC 2782's form; _udp too, the catalog knowing no
//                             protocols), other types NODATA.
//   HEX.addr.berth            A for 8 hex digits (0a590002 → 10.89.0.2), AAAA for 32,
//                             whatever the catalog holds (as Consul's node addresses do).
//   service.berth, addr.berth NODATA: names exist below them (RFC 8020).
// A service that is unknown or has no passing instance (with that tag) is NXDOMAIN, as is
// any other name under service.berth or addr.berth. Names outside both are not the zone's:
// answer() returns nullopt and the caller decides (container names, forwarding).
//
// Order: the catalog's (the lookup's). Clients mostly take the first address, so the
// server rotates the answers from one reply to the next (cyclic, as BIND's default
// rrset-order): consecutive clients start on consecutive instances, which spreads load
// evenly where a shuffle only does so on average.
//
// Thread-safety: answer() may be called from any thread at once if the lookup may.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/catalog.h"
#include "network/dns_server.h"

namespace berth::catalog {

inline constexpr std::string_view kServiceDomain = "service.berth";
inline constexpr std::string_view kAddrDomain = "addr.berth";

// The passing instances of `service` that carry `tag` ("": any tag), empty when the
// service is unknown or none passes. With a Catalog:
//   [&](const auto& s, const auto& t) { return catalog.instances(s, true, t); }
using PassingInstances =
    std::function<std::vector<Instance>(const std::string& service, const std::string& tag)>;

class DnsZone {
 public:
  explicit DnsZone(PassingInstances lookup) : lookup_(std::move(lookup)) {}

  // The reply for a question under service.berth or addr.berth, marked cacheable; nullopt
  // for any other name.
  std::optional<network::DnsReply> answer(const network::DnsQuestion& q) const;

 private:
  PassingInstances lookup_;
};

// The name an SRV record gives as the target for `address`: "0a590002.addr.berth" for
// 10.89.0.2, 32 hex digits for IPv6; "" when `address` is not an IP literal.
std::string addrName(std::string_view address);

}  // namespace berth::catalog
