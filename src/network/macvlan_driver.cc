#include "common/strings.h"
#include "network/bridge_driver.h"
#include "sys/netlink.h"

namespace berth::network {

Status MacvlanDriver::check(NetworkSpec& spec) {
  for (const auto& [k, v] : spec.options) {
    if (k != "parent" && k != "macvlan_mode")
      return invalidArgument("macvlan networks take no option " + quote(k) +
                             " (known: parent, macvlan_mode)");
    if (k == "macvlan_mode" && v != "bridge")
      return unsupported("option 'macvlan_mode': only bridge is supported (got " + quote(v) + ")");
  }
  auto parent = spec.options.find("parent");
  if (parent == spec.options.end() || parent->second.empty())
    return invalidArgument("a macvlan network needs its parent interface: -o parent=IFACE");
  auto nl = sys::Netlink::open();
  if (!nl) return nl.error();
  auto link = nl->link(parent->second);
  if (!link)
    return invalidArgument("option 'parent': no interface " + quote(parent->second) +
                           " on this host");
  if (link->name == "lo") return invalidArgument("option 'parent': macvlan cannot sit on 'lo'");
  spec.interface = parent->second;
  return okStatus();
}

Status MacvlanDriver::up(const NetworkSpec& spec) {
  auto nl = sys::Netlink::open();
  if (!nl) return nl.error();
  auto index = nl->linkIndex(spec.interface);
  if (!index) return index.error().context("network " + quote(spec.name) + ": its parent");
  return okStatus();
}

Status MacvlanDriver::down(const NetworkSpec&) { return okStatus(); }

Status MacvlanDriver::attach(const NetworkSpec& spec, const EndpointSpec& ep, int netns_fd) {
  auto fail = [&](const Error& e) { return e.context("attach to network " + quote(spec.name)); };
  auto nl = sys::Netlink::open();
  if (!nl) return fail(nl.error());
  auto parent = nl->linkIndex(spec.interface);
  if (!parent) return fail(parent.error());
  if (auto c = nl->createMacvlan(ep.if_name, *parent, netns_fd); !c) return fail(c.error());
  if (auto s = configureInside(netns_fd, ep); !s) {
    (void)detach(spec, ep, netns_fd);
    return fail(s.error());
  }
  return okStatus();
}

Status MacvlanDriver::detach(const NetworkSpec&, const EndpointSpec& ep, int netns_fd) {
  if (netns_fd < 0) return okStatus();  // went with the namespace
  auto in = sys::Netlink::openIn(netns_fd);
  if (!in) return in.error();
  auto index = in->linkIndex(ep.if_name);
  if (!index) return index.error().code() == ErrorCode::kNotFound ? okStatus() : index.error();
  auto d = in->deleteLink(*index);
  if (!d && d.error().code() != ErrorCode::kNotFound) return d.error();
  return okStatus();
}

}  // namespace berth::network
