#pragma once
// resolv.conf(5) as berth reads the host's and writes a container's. Pure text, no files.

#include <string>
#include <string_view>
#include <vector>

namespace berth::network {

// The nameservers of resolv.conf text (IPv4 and IPv6 addresses, an IPv6 one possibly with
// a zone, in order). Comment lines and nameservers whose address does not parse are
// skipped.
std::vector<std::string> nameserversFrom(std::string_view resolv_conf);

// A resolv.conf for a container: one "nameserver X" line per entry of `nameservers`, then
// the search, domain and options lines of the host's text in their order (the resolver
// keeps the last search or domain line, so order matters). The host's nameservers and
// anything else are left out.
std::string containerResolvConf(std::string_view host_resolv_conf,
                                const std::vector<std::string>& nameservers);

}  // namespace berth::network
