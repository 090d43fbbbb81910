// The bridge driver: a Linux bridge holding the gateway address, one veth pair per
// endpoint (the host end enslaved to the bridge with hairpin on, so a container can reach
// its own published ports; the other end created directly inside the container's
// namespace). NAT and published ports are rules (ruleset.h), not the driver's business.

#include "network/bridge_driver.h"

#include "common/strings.h"
#include "sys/netlink.h"

namespace berth::network {

namespace {

// The MTU of a bridge network's links: traffic between containers of the bridge and
// between them and the host goes in 64 KiB packets, as on loopback (a 1500-byte link
// held that path to ~2/3 of loopback's throughput). Traffic through the gateway to
// anywhere else keeps the MTU a Docker container's eth0 has, on its route (kRouteMtu), so
// what leaves the host is what it was.
constexpr int kLinkMtu = 65535;
constexpr int kRouteMtu = 1500;

}  // namespace

Status BridgeDriver::check(NetworkSpec& spec) {
  for (const auto& [k, v] : spec.options) {
    if (k != "com.docker.network.bridge.name" && k != "bridge.name")
      return invalidArgument("bridge networks take no option " + quote(k) +
                             " (known: bridge.name)");
    if (v.empty() || v.size() > 15)
      return invalidArgument("option " + quote(k) + ": an interface name of 1-15 characters");
    spec.interface = v;
  }
  if (spec.interface.empty()) spec.interface = "br-" + spec.id.substr(0, 12);
  // berth removes the bridges of its networks: it must never adopt one it did not make.
  auto nl = sys::Netlink::open();
  if (!nl) return nl.error();
  if (nl->linkIndex(spec.interface))
    return conflict("interface " + quote(spec.interface) +
                    " exists already: choose another bridge.name");
  return okStatus();
}

Status BridgeDriver::up(const NetworkSpec& spec) {
  auto what = [&](const std::string& step) {
    return "set up bridge " + quote(spec.interface) + ": " + step;
  };
  auto nl = sys::Netlink::open();
  if (!nl) return nl.error().context(what("netlink"));
  auto link = nl->link(spec.interface);
  if (!link) {
    if (link.error().code() != ErrorCode::kNotFound) return link.error().context(what("look up"));
    if (auto c = nl->createBridge(spec.interface); !c) return c.error();
    link = nl->link(spec.interface);
    if (!link) return link.error().context(what("look up"));
  } else if (link->kind != "bridge") {
    return conflict(what("the interface exists and is a " +
                         (link->kind.empty() ? std::string("device") : link->kind) +
                         ", not a bridge"));
  }
  auto slash = spec.subnet.find('/');
  int prefix = std::stoi(spec.subnet.substr(slash + 1));
  bool has = false;
  if (auto addrs = nl->addresses(link->index)) {
    for (const auto& [a, p] : *addrs) has = has || (a == spec.gateway && p == prefix);
  }
  if (!has) {
    if (auto a = nl->addAddress(link->index, spec.gateway, prefix);
        !a && a.error().code() != ErrorCode::kAlreadyExists)
      return a.error().context(what("address"));
  }
  if (link->mtu != kLinkMtu)
    if (auto m = nl->setMtu(link->index, kLinkMtu); !m) return m.error().context(what("mtu"));
  if (auto u = nl->setUp(link->index); !u) return u.error().context(what("up"));
  // Published ports on 127.0.0.1 are DNATed to a container: the kernel must let a
  // loopback source leave through the bridge (the masquerade rule then rewrites it).
  if (auto s = sys::writeSysctl("net.ipv4.conf." + spec.interface + ".route_localnet", "1"); !s)
    return s.error().context(what("route_localnet"));
  if (auto f = sys::readSysctl("net.ipv4.ip_forward"); !f || f->rfind("1", 0) != 0) {
    if (auto s = sys::writeSysctl("net.ipv4.ip_forward", "1"); !s)
      return s.error().context(what("enable forwarding"));
  }
  return okStatus();
}

Status BridgeDriver::down(const NetworkSpec& spec) {
  auto nl = sys::Netlink::open();
  if (!nl) return nl.error();
  auto link = nl->link(spec.interface);
  if (!link) return link.error().code() == ErrorCode::kNotFound ? okStatus() : link.error();
  if (link->kind != "bridge")
    return conflict("remove bridge " + quote(spec.interface) + ": it is a " +
                    (link->kind.empty() ? std::string("device") : link->kind) +
                    ", not a bridge; left alone");
  auto d = nl->deleteLink(link->index);
  if (!d && d.error().code() != ErrorCode::kNotFound)
    return d.error().context("remove bridge " + quote(spec.interface));
  return okStatus();
}

Status BridgeDriver::plug(const NetworkSpec& spec, const std::string& host_if,
                          const std::string& if_name, int netns_fd) {
  auto nl = sys::Netlink::open();
  if (!nl) return nl.error();
  auto bridge = nl->linkIndex(spec.interface);
  if (!bridge) return bridge.error();
  if (auto c = nl->createVeth(host_if, if_name, netns_fd, kLinkMtu); !c) return c.error();
  auto cleanup = [&](const Error& e) {
    if (auto i = nl->linkIndex(host_if)) (void)nl->deleteLink(*i);
    return e;
  };
  auto host = nl->linkIndex(host_if);
  if (!host) return cleanup(host.error());
  if (auto s = nl->setMaster(*host, *bridge); !s) return cleanup(s.error());
  if (auto s = nl->setHairpin(*host, true); !s) return cleanup(s.error());
  if (auto s = nl->setUp(*host); !s) return cleanup(s.error());
  return okStatus();
}

Status BridgeDriver::attach(const NetworkSpec& spec, const EndpointSpec& ep, int netns_fd) {
  auto fail = [&](const Error& e) {
    return e.context("attach to network " + quote(spec.name) + " (" + ep.host_if + ")");
  };
  if (!ep.prepared) {
    if (auto p = plug(spec, ep.host_if, ep.if_name, netns_fd); !p) return fail(p.error());
  }
  if (auto s = configureInside(netns_fd, ep, kRouteMtu); !s) {
    (void)detach(spec, ep, netns_fd);
    return fail(s.error());
  }
  return okStatus();
}

Status BridgeDriver::detach(const NetworkSpec&, const EndpointSpec& ep, int) {
  // Deleting the host end takes the container's end with it.
  auto nl = sys::Netlink::open();
  if (!nl) return nl.error();
  auto index = nl->linkIndex(ep.host_if);
  if (!index) return index.error().code() == ErrorCode::kNotFound ? okStatus() : index.error();
  auto d = nl->deleteLink(*index);
  if (!d && d.error().code() != ErrorCode::kNotFound) return d.error();
  return okStatus();
}

Status configureInside(int netns_fd, const EndpointSpec& ep, int default_route_mtu) {
  auto in = sys::Netlink::openIn(netns_fd);
  if (!in) return in.error();
  auto index = in->linkIndex(ep.if_name);
  if (!index) return index.error();
  if (!ep.mac.empty()) BERTH_RETURN_IF_ERROR(in->setMac(*index, ep.mac));
  BERTH_RETURN_IF_ERROR(in->addAddress(*index, ep.ip, ep.prefix_len));
  BERTH_RETURN_IF_ERROR(in->setUp(*index));
  if (ep.default_route && !ep.gateway.empty())
    BERTH_RETURN_IF_ERROR(in->addRoute("0.0.0.0/0", ep.gateway, *index, default_route_mtu));
  return okStatus();
}

}  // namespace berth::network
