#pragma once
// Links, addresses and routes through rtnetlink (libmnl), and /proc/sys knobs: the kernel
// side of berthd's networking. Nothing here decides anything; src/network does.

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

struct mnl_socket;
struct nlmsghdr;

namespace berth::sys {

struct LinkInfo {
  int index = 0;
  std::string name;
  std::string kind;  // "veth", "bridge", "macvlan", "" if none (IFLA_INFO_KIND)
  int master = 0;    // ifindex of the bridge it is enslaved to, 0 if none
  bool up = false;   // IFF_UP (administratively up; says nothing of carrier)
  std::string mac;   // "02:42:ac:11:00:02" lowercase; "" when the link has no address
  int mtu = 0;
};

// A NETLINK_ROUTE socket bound to the network namespace it was opened in; every call acts
// on that namespace whichever namespace the calling thread is in later.
//
// Each call sends one request and waits for the kernel's answer: changes carry NLM_F_ACK
// and return once the kernel acknowledged them; a get is answered by its reply. Replies
// are matched by sequence number and port; stale ones left by an abandoned exchange are
// skipped. Errors carry the kernel's errno text, its extended-ack message when it gives one,
// and name the link: "create veth 'vb1234' with peer 'eth0': file exists". Codes:
//   EEXIST                                  → kAlreadyExists
//   ENODEV/ENOENT (unknown link), ESRCH,
//   EADDRNOTAVAIL (unknown address)         → kNotFound
//   EINVAL, ERANGE, ENETUNREACH, or input
//   rejected before sending (bad name, MAC,
//   address, prefix)                        → kInvalidArgument
//   EBUSY (link is up, in use), ENETDOWN    → kConflict
//   EOPNOTSUPP (kind not in this kernel)    → kUnsupported
//   EPERM/EACCES                            → kPermissionDenied
//   ENOBUFS/ENOMEM/EAGAIN                   → kUnavailable
// Link names are checked as the kernel checks them: 1 to 15 bytes, no '/', ':' or
// whitespace, not "." or "..".
//
// Move-only. Not thread-safe: one per thread, or guard it. A moved-from Netlink may only be
// destroyed or assigned to.
class Netlink {
 public:
  // A socket in the calling thread's netns (close-on-exec).
  static Result<Netlink> open();
  // A socket living in the netns `netns_fd`, made with the calling thread switched into it
  // for the moment (see netns.h): the thread is back in its own namespace afterwards.
  static Result<Netlink> openIn(int netns_fd);

  Netlink(Netlink&& o) noexcept;
  Netlink& operator=(Netlink&& o) noexcept;
  ~Netlink();

  Result<int> linkIndex(std::string_view name);  // kNotFound "no link 'x'"
  Result<LinkInfo> link(std::string_view name);  // kNotFound "no link 'x'"
  Result<LinkInfo> linkByIndex(int index);       // kNotFound "no link #7"
  Result<std::vector<LinkInfo>> links();         // all links (RTM_GETLINK dump)

  Status createBridge(std::string_view name);
  // A veth pair: `name` here; `peer` created directly in the netns `peer_netns_fd`
  // (-1: here). Both names must be free in their namespaces. `mtu` > 0 sets both ends'.
  Status createVeth(std::string_view name, std::string_view peer, int peer_netns_fd = -1,
                    int mtu = 0);
  // A macvlan in bridge mode (macvlans of one parent reach each other) on `parent_index`
  // (a link of this netns), created directly in `netns_fd` (-1: here).
  Status createMacvlan(std::string_view name, int parent_index, int netns_fd = -1);

  Status setMaster(int index, int master_index);  // 0: no master
  Status setUp(int index, bool up = true);
  // "aa:bb:cc:dd:ee:ff" (either case); must be a unicast, non-zero address.
  Status setMac(int index, std::string_view mac);
  Status setMtu(int index, int mtu);
  // Kernels before 6.2 refuse to rename a link that is up (EBUSY → kConflict): set it
  // down first, or name it right when creating it.
  Status setName(int index, std::string_view name);
  // Moves the link into the netns `netns_fd`; its index may change there (look it up
  // again through a Netlink opened in that netns).
  Status moveToNetns(int index, int netns_fd);
  // Deletes the link (and a veth's peer with it). kNotFound when already gone.
  Status deleteLink(int index);

  // IPv4 only for now: "10.1.0.2", prefix 24 (address, its broadcast computed for prefixes
  // up to 30). The same address twice is kAlreadyExists; deleting an absent one kNotFound.
  Status addAddress(int index, std::string_view ipv4, int prefix);
  Status delAddress(int index, std::string_view ipv4, int prefix);
  // The link's IPv4 addresses with their prefixes, in the kernel's order.
  Result<std::vector<std::pair<std::string, int>>> addresses(int index);

  // A route in the main table to `dst_cidr` ("0.0.0.0/0" for default; host bits must be
  // zero) via `gateway` ("" for on-link) out of `oif` (0 lets the kernel pick from the
  // gateway). An existing route to the same destination is kAlreadyExists. `mtu` > 0 is
  // the route's own MTU (its packets and TCP's MSS), below the link's.
  Status addRoute(std::string_view dst_cidr, std::string_view gateway, int oif, int mtu = 0);

  // Bridge port hairpin mode: frames may leave by the port they came in on (a container
  // reaching itself through a published port). kConflict when the link is not a port.
  Status setHairpin(int bridge_port_index, bool on);
  Result<bool> hairpin(int bridge_port_index);

 private:
  struct Buffers;
  using DataFn = int (*)(const nlmsghdr* nlh, void* data);

  Netlink(mnl_socket* nl, unsigned portid);
  // Starts a request of `type` in the request buffer with a fresh sequence number.
  nlmsghdr* begin(int type, int flags);
  // Sends the request and reads the answer, handing each data message to `fn`. Returns 0
  // or the kernel's errno (with its extended-ack text in `*ext_msg`).
  int exchange(nlmsghdr* nlh, DataFn fn, void* data, std::string* ext_msg);
  // exchange() for a request with no data in its answer; builds the message on failure only.
  template <typename Describe>
  Status change(nlmsghdr* nlh, const Describe& describe);
  Result<LinkInfo> getLink(int index, std::string_view name);
  // "link 'name'" or, when that lookup fails too, "link #7". For error messages only.
  std::string describeLink(int index);

  mnl_socket* nl_ = nullptr;
  unsigned portid_ = 0;
  unsigned seq_ = 0;
  std::unique_ptr<Buffers> buf_;
};

// /proc/sys/<key>: "net.ipv4.ip_forward" ('.' separators) or "net/ipv4/conf/eth0.10/rp_filter"
// ('/' separators, where dots are kept: for names with a dot in them). net.* keys act on
// the calling thread's netns; wrap the call in inNetns() for another one. A missing key is
// kNotFound; a key with ".." or an empty component is kInvalidArgument.
Status writeSysctl(std::string_view key, std::string_view value);
// The value without its trailing newline.
Result<std::string> readSysctl(std::string_view key);

}  // namespace berth::sys
