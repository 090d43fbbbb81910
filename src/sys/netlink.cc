#include "sys/netlink.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>

#include "common/strings.h"
#include "sys/fs.h"
#include "sys/netns.h"

namespace berth::sys {

// Requests are small (names are at most 15 bytes; the largest, a veth with its peer, is
// under 200 bytes). Answers get the most the kernel ever puts in one datagram: it sizes
// dump datagrams by the biggest buffer we read with, up to 32 KiB.
struct Netlink::Buffers {
  alignas(nlmsghdr) char req[1024];
  alignas(nlmsghdr) char resp[32768];
};

namespace {

// What one exchange's callbacks share: the caller's data callback, and the error the
// kernel answered with.
struct Exchange {
  int (*fn)(const nlmsghdr*, void*);
  void* data;
  int err = 0;
  std::string* ext_msg;
};

int onData(const nlmsghdr* nlh, void* p) {
  auto* x = static_cast<Exchange*>(p);
  if (!x->fn) return MNL_CB_OK;
  int ret = x->fn(nlh, x->data);
  if (ret == MNL_CB_ERROR && x->err == 0) x->err = errno ? errno : EBADMSG;
  return ret;
}

int onExtAckAttr(const nlattr* attr, void* p) {
  auto* x = static_cast<Exchange*>(p);
  if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
      mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0 && x->ext_msg)
    *x->ext_msg = mnl_attr_get_str(attr);
  return MNL_CB_OK;
}

// The extended-ack attributes follow the error header at `offset` in the payload.
void parseExtAck(const nlmsghdr* nlh, size_t offset, Exchange* x) {
  if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) (void)mnl_attr_parse(nlh, offset, onExtAckAttr, x);
}

int onError(const nlmsghdr* nlh, void* p) {
  auto* x = static_cast<Exchange*>(p);
  if (mnl_nlmsg_get_payload_len(nlh) < sizeof(nlmsgerr)) {
    x->err = errno = EBADMSG;
    return MNL_CB_ERROR;
  }
  const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
  if (e->error == 0) return MNL_CB_STOP;  // the ack
  x->err = -e->error;
  // Without NETLINK_CAP_ACK (an old kernel) the request is echoed before the attributes.
  size_t offset = sizeof(nlmsgerr);
  if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && e->msg.nlmsg_len > sizeof(nlmsghdr))
    offset += e->msg.nlmsg_len - sizeof(nlmsghdr);
  parseExtAck(nlh, offset, x);
  errno = x->err;
  return MNL_CB_ERROR;
}

// The end of a dump; a dump that failed half-way carries the error here.
int onDone(const nlmsghdr* nlh, void* p) {
  auto* x = static_cast<Exchange*>(p);
  if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
    int err;
    std::memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof err);
    if (err < 0) {
      x->err = errno = -err;
      parseExtAck(nlh, sizeof(int), x);
      return MNL_CB_ERROR;
    }
  }
  return MNL_CB_STOP;
}

int onNoop(const nlmsghdr*, void*) { return MNL_CB_OK; }

int onOverrun(const nlmsghdr*, void* p) {
  static_cast<Exchange*>(p)->err = errno = ENOBUFS;
  return MNL_CB_ERROR;
}

// mnl_cb_run2 ignores control messages whose slot is empty, so every one is handled here.
// (Not const: libmnl's prototype takes a non-const array it never writes.)
mnl_cb_t kControl[NLMSG_MIN_TYPE] = {nullptr, onNoop, onError, onDone, onOverrun};

Error netlinkError(const std::string& what, int err, const std::string& ext_msg) {
  ErrorCode code = ErrorCode::kInternal;
  switch (err) {
    case EEXIST:
      code = ErrorCode::kAlreadyExists;
      break;
    case ENODEV:
    case ENOENT:
    case ESRCH:
    case EADDRNOTAVAIL:
      code = ErrorCode::kNotFound;
      break;
    case EINVAL:
    case ERANGE:
    case ENETUNREACH:
      code = ErrorCode::kInvalidArgument;
      break;
    case EBUSY:
    case ENETDOWN:
      code = ErrorCode::kConflict;
      break;
    case EOPNOTSUPP:
    case EAFNOSUPPORT:
    case EPROTONOSUPPORT:
      code = ErrorCode::kUnsupported;
      break;
    case EPERM:
    case EACCES:
      code = ErrorCode::kPermissionDenied;
      break;
    case ENOBUFS:
    case ENOMEM:
    case EAGAIN:
    case EINTR:
      code = ErrorCode::kUnavailable;
      break;
    default:
      break;
  }
  std::string message = errnoError(what, err).message();
  if (!ext_msg.empty()) {
    std::string ext = ext_msg;
    ext[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(ext[0])));
    message += " (" + ext + ")";
  }
  return Error(code, message);
}

// As the kernel's dev_valid_name().
bool validLinkName(std::string_view name) {
  if (name.empty() || name.size() >= IFNAMSIZ || name == "." || name == "..") return false;
  for (char c : name)
    if (c == '/' || c == ':' || c == '\0' || std::isspace(static_cast<unsigned char>(c)))
      return false;
  return true;
}

Error badLinkName(const std::string& what, std::string_view name) {
  return invalidArgument(what + ": " + quote(name) +
                         " is not a valid link name (1 to 15 bytes, no '/', ':' or whitespace)");
}

ifinfomsg* putIfinfo(nlmsghdr* nlh, int family, int index) {
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = static_cast<unsigned char>(family);
  ifi->ifi_index = index;
  return ifi;
}

// The kernel wants names NUL-terminated; a string_view is not. Names fit the small-string
// buffer, so this does not allocate.
void putName(nlmsghdr* nlh, uint16_t type, std::string_view name) {
  std::string z(name);
  mnl_attr_put_strz(nlh, type, z.c_str());
}

// Collects a message's or a nest's attributes by type into a table; unknown types are
// skipped (newer kernels add attributes).
struct AttrTable {
  const nlattr** tb;
  unsigned max;
};

int collectAttr(const nlattr* attr, void* p) {
  auto* t = static_cast<AttrTable*>(p);
  unsigned type = mnl_attr_get_type(attr);
  if (type <= t->max) t->tb[type] = attr;
  return MNL_CB_OK;
}

bool isString(const nlattr* a) { return a && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0; }
bool isU32(const nlattr* a) { return a && mnl_attr_validate(a, MNL_TYPE_U32) >= 0; }
bool isU8(const nlattr* a) { return a && mnl_attr_validate(a, MNL_TYPE_U8) >= 0; }

std::string formatMac(const nlattr* a) {
  static const char kHex[] = "0123456789abcdef";
  const auto* b = static_cast<const unsigned char*>(mnl_attr_get_payload(a));
  std::string out;
  for (uint16_t i = 0; i < mnl_attr_get_payload_len(a); ++i) {
    if (i) out += ':';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 0xf];
  }
  return out;
}

// A link message as we read it: the public facts plus its bridge-port state.
struct ParsedLink {
  LinkInfo info;
  std::string port_kind;  // IFLA_INFO_SLAVE_KIND: "bridge" for a bridge port
  int hairpin = -1;       // IFLA_BRPORT_MODE of a bridge port, -1 if absent
};

int parseLink(const nlmsghdr* nlh, ParsedLink* out) {
  if (nlh->nlmsg_type != RTM_NEWLINK) return MNL_CB_OK;
  if (mnl_nlmsg_get_payload_len(nlh) < sizeof(ifinfomsg)) {
    errno = EBADMSG;
    return MNL_CB_ERROR;
  }
  const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  const nlattr* tb[IFLA_MAX + 1] = {};
  AttrTable table{tb, IFLA_MAX};
  if (mnl_attr_parse(nlh, sizeof(ifinfomsg), collectAttr, &table) < 0) return MNL_CB_ERROR;
  LinkInfo& info = out->info;
  info.index = ifi->ifi_index;
  info.up = (ifi->ifi_flags & IFF_UP) != 0;
  if (isString(tb[IFLA_IFNAME])) info.name = mnl_attr_get_str(tb[IFLA_IFNAME]);
  if (isU32(tb[IFLA_MTU])) info.mtu = static_cast<int>(mnl_attr_get_u32(tb[IFLA_MTU]));
  if (isU32(tb[IFLA_MASTER])) info.master = static_cast<int>(mnl_attr_get_u32(tb[IFLA_MASTER]));
  if (tb[IFLA_ADDRESS]) info.mac = formatMac(tb[IFLA_ADDRESS]);
  if (tb[IFLA_LINKINFO]) {
    const nlattr* li[IFLA_INFO_MAX + 1] = {};
    AttrTable lt{li, IFLA_INFO_MAX};
    if (mnl_attr_parse_nested(tb[IFLA_LINKINFO], collectAttr, &lt) < 0) return MNL_CB_ERROR;
    if (isString(li[IFLA_INFO_KIND])) info.kind = mnl_attr_get_str(li[IFLA_INFO_KIND]);
    if (isString(li[IFLA_INFO_SLAVE_KIND]))
      out->port_kind = mnl_attr_get_str(li[IFLA_INFO_SLAVE_KIND]);
    if (out->port_kind == "bridge" && li[IFLA_INFO_SLAVE_DATA]) {
      const nlattr* bp[IFLA_BRPORT_MAX + 1] = {};
      AttrTable bt{bp, IFLA_BRPORT_MAX};
      if (mnl_attr_parse_nested(li[IFLA_INFO_SLAVE_DATA], collectAttr, &bt) < 0)
        return MNL_CB_ERROR;
      if (isU8(bp[IFLA_BRPORT_MODE])) out->hairpin = mnl_attr_get_u8(bp[IFLA_BRPORT_MODE]);
    }
  }
  return MNL_CB_OK;
}

// The answer to a single get: one link, then stop.
int onOneLink(const nlmsghdr* nlh, void* p) {
  int ret = parseLink(nlh, static_cast<ParsedLink*>(p));
  return ret == MNL_CB_OK && nlh->nlmsg_type == RTM_NEWLINK ? MNL_CB_STOP : ret;
}

int onEachLink(const nlmsghdr* nlh, void* p) {
  if (nlh->nlmsg_type != RTM_NEWLINK) return MNL_CB_OK;
  ParsedLink link;
  int ret = parseLink(nlh, &link);
  if (ret == MNL_CB_OK) static_cast<std::vector<LinkInfo>*>(p)->push_back(std::move(link.info));
  return ret;
}

struct AddrDump {
  int index;
  std::vector<std::pair<std::string, int>> out;
};

int onEachAddress(const nlmsghdr* nlh, void* p) {
  auto* d = static_cast<AddrDump*>(p);
  if (nlh->nlmsg_type != RTM_NEWADDR) return MNL_CB_OK;
  if (mnl_nlmsg_get_payload_len(nlh) < sizeof(ifaddrmsg)) {
    errno = EBADMSG;
    return MNL_CB_ERROR;
  }
  const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
  // Older kernels (no strict checking) dump every link's addresses: filter here too.
  if (ifa->ifa_family != AF_INET || static_cast<int>(ifa->ifa_index) != d->index) return MNL_CB_OK;
  const nlattr* tb[IFA_MAX + 1] = {};
  AttrTable table{tb, IFA_MAX};
  if (mnl_attr_parse(nlh, sizeof(ifaddrmsg), collectAttr, &table) < 0) return MNL_CB_ERROR;
  // IFA_LOCAL is the link's own address; IFA_ADDRESS is the peer's on point-to-point links.
  const nlattr* a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
  if (!a || mnl_attr_get_payload_len(a) != sizeof(in_addr)) return MNL_CB_OK;
  char text[INET_ADDRSTRLEN];
  if (!inet_ntop(AF_INET, mnl_attr_get_payload(a), text, sizeof text)) return MNL_CB_ERROR;
  d->out.emplace_back(text, ifa->ifa_prefixlen);
  return MNL_CB_OK;
}

std::optional<in_addr> parseIpv4(std::string_view s) {
  if (s.size() >= INET_ADDRSTRLEN) return std::nullopt;
  std::string z(s);
  in_addr a;
  if (inet_pton(AF_INET, z.c_str(), &a) != 1) return std::nullopt;
  return a;
}

uint32_t prefixMask(int prefix) { return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix); }

// "10.1.0.2/24" as the kernel would want it: host bits zero.
struct Cidr {
  in_addr addr;
  int prefix;
};

Result<Cidr> parseCidr(std::string_view s) {
  size_t slash = s.find('/');
  auto bad = [&](const std::string& why) { return invalidArgument(quote(s) + " " + why); };
  if (slash == std::string_view::npos) return bad("is not an IPv4 CIDR (like '10.1.0.0/24')");
  auto addr = parseIpv4(s.substr(0, slash));
  auto prefix = parseInt(s.substr(slash + 1));
  if (!addr || !prefix || *prefix < 0 || *prefix > 32)
    return bad("is not an IPv4 CIDR (like '10.1.0.0/24')");
  if ((ntohl(addr->s_addr) & ~prefixMask(static_cast<int>(*prefix))) != 0)
    return bad("has host bits set");
  return Cidr{*addr, static_cast<int>(*prefix)};
}

}  // namespace

Netlink::Netlink(mnl_socket* nl, unsigned portid)
    : nl_(nl), portid_(portid), buf_(new Buffers) {}  // not zeroed: requests start clean

Netlink::Netlink(Netlink&& o) noexcept
    : nl_(std::exchange(o.nl_, nullptr)),
      portid_(o.portid_),
      seq_(o.seq_),
      buf_(std::move(o.buf_)) {}

Netlink& Netlink::operator=(Netlink&& o) noexcept {
  if (this != &o) {
    if (nl_) mnl_socket_close(nl_);
    nl_ = std::exchange(o.nl_, nullptr);
    portid_ = o.portid_;
    seq_ = o.seq_;
    buf_ = std::move(o.buf_);
  }
  return *this;
}

Netlink::~Netlink() {
  if (nl_) mnl_socket_close(nl_);
}

Result<Netlink> Netlink::open() {
  mnl_socket* nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (!nl) return errnoError("open netlink socket", errno);
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    int err = errno;
    mnl_socket_close(nl);
    return errnoError("bind netlink socket", err);
  }
  // Best effort, all three: extended acks put the kernel's reason in our errors, capped
  // acks do not echo the request back, strict checking filters address dumps by link in
  // the kernel. Older kernels lack some and still work.
  int one = 1;
  (void)mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof one);
  (void)mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof one);
  (void)mnl_socket_setsockopt(nl, NETLINK_GET_STRICT_CHK, &one, sizeof one);
  return Netlink(nl, mnl_socket_get_portid(nl));
}

Result<Netlink> Netlink::openIn(int netns_fd) {
  Result<Netlink> out = internalError("open netlink socket: not attempted");
  BERTH_RETURN_IF_ERROR(inNetns(netns_fd, [&]() -> Status {
    out = open();
    return okStatus();
  }));
  return out;
}

nlmsghdr* Netlink::begin(int type, int flags) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf_->req);
  nlh->nlmsg_type = static_cast<uint16_t>(type);
  nlh->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
  if (++seq_ == 0) ++seq_;  // 0 would switch off libmnl's sequence check
  nlh->nlmsg_seq = seq_;
  return nlh;
}

int Netlink::exchange(nlmsghdr* nlh, DataFn fn, void* data, std::string* ext_msg) {
  Exchange x{fn, data, 0, ext_msg};
  if (mnl_socket_sendto(nl_, nlh, nlh->nlmsg_len) < 0) return errno;
  const unsigned seq = nlh->nlmsg_seq;
  while (true) {
    ssize_t n = mnl_socket_recvfrom(nl_, buf_->resp, sizeof buf_->resp);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;  // ENOSPC: a datagram bigger than our buffer (never, by its size)
    }
    // A datagram holds messages of one answer. One with another sequence number is the
    // rest of an earlier answer that was abandoned half-way (a dump that failed): skip it.
    const auto* first = reinterpret_cast<const nlmsghdr*>(buf_->resp);
    if (mnl_nlmsg_ok(first, static_cast<int>(n)) && first->nlmsg_seq != seq) continue;
    errno = 0;
    int ret = mnl_cb_run2(buf_->resp, static_cast<size_t>(n), seq, portid_, onData, &x, kControl,
                          NLMSG_MIN_TYPE);
    if (ret == MNL_CB_ERROR) return x.err ? x.err : (errno ? errno : EPROTO);
    if (ret == MNL_CB_STOP) return 0;
  }
}

template <typename Describe>
Status Netlink::change(nlmsghdr* nlh, const Describe& describe) {
  nlh->nlmsg_flags |= NLM_F_ACK;
  std::string ext;
  int err = exchange(nlh, nullptr, nullptr, &ext);
  if (err == 0) return okStatus();
  return netlinkError(describe(), err, ext);
}

Result<LinkInfo> Netlink::getLink(int index, std::string_view name) {
  std::string what = name.empty() ? "link #" + std::to_string(index) : "link " + quote(name);
  if (!name.empty() && !validLinkName(name)) return badLinkName("get link", name);
  // A get is answered by the link or an error; no ack needed.
  nlmsghdr* nlh = begin(RTM_GETLINK, 0);
  putIfinfo(nlh, AF_UNSPEC, index);
  if (!name.empty()) putName(nlh, IFLA_IFNAME, name);
  mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  ParsedLink link;
  std::string ext;
  int err = exchange(nlh, onOneLink, &link, &ext);
  if (err == ENODEV) return notFound("no " + what);
  if (err) return netlinkError("get " + what, err, ext);
  return std::move(link.info);
}

std::string Netlink::describeLink(int index) {
  auto l = getLink(index, {});
  return l.ok() ? "link " + quote(l->name) : "link #" + std::to_string(index);
}

Result<int> Netlink::linkIndex(std::string_view name) { return BERTH_TRY(getLink(0, name)).index; }

Result<LinkInfo> Netlink::link(std::string_view name) { return getLink(0, name); }

Result<LinkInfo> Netlink::linkByIndex(int index) {
  if (index <= 0) return notFound("no link #" + std::to_string(index));
  return getLink(index, {});
}

Result<std::vector<LinkInfo>> Netlink::links() {
  std::vector<LinkInfo> out;
  std::string ext;
  int err = 0;
  // A dump that raced with a change is flagged; three tries, then say so.
  for (int attempt = 0; attempt < 3; ++attempt) {
    out.clear();
    nlmsghdr* nlh = begin(RTM_GETLINK, NLM_F_DUMP);
    putIfinfo(nlh, AF_UNSPEC, 0);
    mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    err = exchange(nlh, onEachLink, &out, &ext);
    if (err != EINTR) break;
  }
  if (err) return netlinkError("list links", err, ext);
  return out;
}

Status Netlink::createBridge(std::string_view name) {
  auto what = [&] { return "create bridge " + quote(name); };
  if (!validLinkName(name)) return badLinkName(what(), name);
  nlmsghdr* nlh = begin(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  putIfinfo(nlh, AF_UNSPEC, 0);
  putName(nlh, IFLA_IFNAME, name);
  nlattr* linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
  mnl_attr_nest_end(nlh, linkinfo);
  return change(nlh, what);
}

Status Netlink::createVeth(std::string_view name, std::string_view peer, int peer_netns_fd,
                           int mtu) {
  auto what = [&] { return "create veth " + quote(name) + " with peer " + quote(peer); };
  if (!validLinkName(name)) return badLinkName(what(), name);
  if (!validLinkName(peer)) return badLinkName(what(), peer);
  if (mtu < 0) return invalidArgument(what() + ": negative MTU");
  nlmsghdr* nlh = begin(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  putIfinfo(nlh, AF_UNSPEC, 0);
  putName(nlh, IFLA_IFNAME, name);
  if (mtu > 0) mnl_attr_put_u32(nlh, IFLA_MTU, static_cast<uint32_t>(mtu));
  nlattr* linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
  nlattr* data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
  // The peer is described like a link of its own: an ifinfomsg, then its attributes. With
  // IFLA_NET_NS_FD it is born in that namespace: no move, no rename, no name clash here.
  nlattr* peer_info = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
  putIfinfo(nlh, AF_UNSPEC, 0);
  putName(nlh, IFLA_IFNAME, peer);
  if (mtu > 0) mnl_attr_put_u32(nlh, IFLA_MTU, static_cast<uint32_t>(mtu));
  if (peer_netns_fd >= 0)
    mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, static_cast<uint32_t>(peer_netns_fd));
  mnl_attr_nest_end(nlh, peer_info);
  mnl_attr_nest_end(nlh, data);
  mnl_attr_nest_end(nlh, linkinfo);
  return change(nlh, what);
}

Status Netlink::createMacvlan(std::string_view name, int parent_index, int netns_fd) {
  auto what = [&] { return "create macvlan " + quote(name) + " on " + describeLink(parent_index); };
  if (!validLinkName(name)) return badLinkName(what(), name);
  if (parent_index <= 0) return invalidArgument(what() + ": no parent link given");
  nlmsghdr* nlh = begin(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  putIfinfo(nlh, AF_UNSPEC, 0);
  putName(nlh, IFLA_IFNAME, name);
  // The parent is looked up in this socket's namespace, the name in the target's.
  mnl_attr_put_u32(nlh, IFLA_LINK, static_cast<uint32_t>(parent_index));
  if (netns_fd >= 0) mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, static_cast<uint32_t>(netns_fd));
  nlattr* linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "macvlan");
  nlattr* data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
  mnl_attr_put_u32(nlh, IFLA_MACVLAN_MODE, MACVLAN_MODE_BRIDGE);
  mnl_attr_nest_end(nlh, data);
  mnl_attr_nest_end(nlh, linkinfo);
  return change(nlh, what);
}

Status Netlink::setMaster(int index, int master_index) {
  nlmsghdr* nlh = begin(RTM_SETLINK, 0);
  putIfinfo(nlh, AF_UNSPEC, index);
  mnl_attr_put_u32(nlh, IFLA_MASTER, static_cast<uint32_t>(master_index));
  return change(nlh, [&] {
    if (master_index == 0) return "remove master of " + describeLink(index);
    return "set master of " + describeLink(index) + " to " + describeLink(master_index);
  });
}

Status Netlink::setUp(int index, bool up) {
  nlmsghdr* nlh = begin(RTM_SETLINK, 0);
  ifinfomsg* ifi = putIfinfo(nlh, AF_UNSPEC, index);
  ifi->ifi_change = IFF_UP;
  ifi->ifi_flags = up ? IFF_UP : 0;
  return change(nlh, [&] { return "set " + describeLink(index) + (up ? " up" : " down"); });
}

Status Netlink::setMac(int index, std::string_view mac) {
  auto what = [&] { return "set mac of " + describeLink(index) + " to " + quote(mac); };
  // Exactly "xx:xx:xx:xx:xx:xx"; a multicast or all-zero address cannot be a link's own.
  unsigned char bytes[6] = {};
  bool ok = mac.size() == 17;
  for (size_t i = 0; ok && i < 17; ++i) {
    char c = mac[i];
    if (i % 3 == 2) {
      ok = c == ':';
      continue;
    }
    int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
            : c >= 'a' && c <= 'f'                      ? c - 'a' + 10
            : c >= 'A' && c <= 'F'                      ? c - 'A' + 10
                                                        : -1;
    ok = v >= 0;
    if (ok) bytes[i / 3] = static_cast<unsigned char>(bytes[i / 3] << 4 | v);
  }
  if (!ok) return invalidArgument(what() + ": not a mac address (like '02:42:ac:11:00:02')");
  if (bytes[0] & 1) return invalidArgument(what() + ": a multicast address");
  if (std::all_of(std::begin(bytes), std::end(bytes), [](unsigned char b) { return b == 0; }))
    return invalidArgument(what() + ": the all-zero address");
  nlmsghdr* nlh = begin(RTM_SETLINK, 0);
  putIfinfo(nlh, AF_UNSPEC, index);
  mnl_attr_put(nlh, IFLA_ADDRESS, sizeof bytes, bytes);
  return change(nlh, what);
}

Status Netlink::setMtu(int index, int mtu) {
  auto what = [&] { return "set mtu of " + describeLink(index) + " to " + std::to_string(mtu); };
  if (mtu <= 0) return invalidArgument(what() + ": not a positive number");
  nlmsghdr* nlh = begin(RTM_SETLINK, 0);
  putIfinfo(nlh, AF_UNSPEC, index);
  mnl_attr_put_u32(nlh, IFLA_MTU, static_cast<uint32_t>(mtu));
  return change(nlh, what);
}

Status Netlink::setName(int index, std::string_view name) {
  auto what = [&] { return "rename " + describeLink(index) + " to " + quote(name); };
  if (!validLinkName(name)) return badLinkName(what(), name);
  nlmsghdr* nlh = begin(RTM_SETLINK, 0);
  putIfinfo(nlh, AF_UNSPEC, index);
  putName(nlh, IFLA_IFNAME, name);
  return change(nlh, what);
}

Status Netlink::moveToNetns(int index, int netns_fd) {
  auto what = [&] {
    return "move " + describeLink(index) + " to netns fd " + std::to_string(netns_fd);
  };
  if (netns_fd < 0) return invalidArgument(what() + ": no netns given");
  nlmsghdr* nlh = begin(RTM_SETLINK, 0);
  putIfinfo(nlh, AF_UNSPEC, index);
  mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, static_cast<uint32_t>(netns_fd));
  return change(nlh, what);
}

Status Netlink::deleteLink(int index) {
  if (index <= 0) return notFound("delete link #" + std::to_string(index) + ": no such device");
  nlmsghdr* nlh = begin(RTM_DELLINK, 0);
  putIfinfo(nlh, AF_UNSPEC, index);
  return change(nlh, [&] { return "delete " + describeLink(index); });
}

namespace {

// RTM_NEWADDR / RTM_DELADDR for one IPv4 address.
struct AddrRequest {
  in_addr addr;
  int prefix;
};

Result<AddrRequest> checkAddress(std::string_view ipv4, int prefix) {
  auto addr = parseIpv4(ipv4);
  if (!addr) return invalidArgument(quote(ipv4) + " is not an IPv4 address");
  if (prefix < 0 || prefix > 32)
    return invalidArgument("prefix " + std::to_string(prefix) + " is not in 0..32");
  return AddrRequest{*addr, prefix};
}

void putAddress(nlmsghdr* nlh, int index, const AddrRequest& a) {
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = static_cast<unsigned char>(a.prefix);
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = static_cast<unsigned>(index);
  mnl_attr_put(nlh, IFA_LOCAL, sizeof a.addr, &a.addr);
  // With IFA_ADDRESS the kernel also matches the prefix when deleting.
  mnl_attr_put(nlh, IFA_ADDRESS, sizeof a.addr, &a.addr);
}

}  // namespace

Status Netlink::addAddress(int index, std::string_view ipv4, int prefix) {
  auto what = [&] {
    return "add address " + quote(std::string(ipv4) + "/" + std::to_string(prefix)) + " to " +
           describeLink(index);
  };
  auto a = checkAddress(ipv4, prefix);
  if (!a.ok()) return a.error().context(what());
  nlmsghdr* nlh = begin(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  putAddress(nlh, index, *a);
  // /31 and /32 have no broadcast address (RFC 3021).
  if (prefix <= 30) {
    in_addr bcast{htonl(ntohl(a->addr.s_addr) | ~prefixMask(prefix))};
    mnl_attr_put(nlh, IFA_BROADCAST, sizeof bcast, &bcast);
  }
  return change(nlh, what);
}

Status Netlink::delAddress(int index, std::string_view ipv4, int prefix) {
  auto what = [&] {
    return "delete address " + quote(std::string(ipv4) + "/" + std::to_string(prefix)) + " from " +
           describeLink(index);
  };
  auto a = checkAddress(ipv4, prefix);
  if (!a.ok()) return a.error().context(what());
  nlmsghdr* nlh = begin(RTM_DELADDR, 0);
  putAddress(nlh, index, *a);
  return change(nlh, what);
}

Result<std::vector<std::pair<std::string, int>>> Netlink::addresses(int index) {
  AddrDump dump{index, {}};
  std::string ext;
  int err = 0;
  for (int attempt = 0; attempt < 3; ++attempt) {
    dump.out.clear();
    nlmsghdr* nlh = begin(RTM_GETADDR, NLM_F_DUMP);
    // With strict checking the kernel dumps this link's addresses only.
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
    ifa->ifa_family = AF_INET;
    ifa->ifa_index = static_cast<unsigned>(index);
    err = exchange(nlh, onEachAddress, &dump, &ext);
    if (err != EINTR) break;
  }
  if (err == ENODEV) return notFound("no link #" + std::to_string(index));
  if (err) return netlinkError("list addresses of " + describeLink(index), err, ext);
  return std::move(dump.out);
}

Status Netlink::addRoute(std::string_view dst_cidr, std::string_view gateway, int oif, int mtu) {
  auto what = [&] {
    std::string s = "add route to " + quote(dst_cidr);
    if (!gateway.empty()) s += " via " + quote(gateway);
    if (oif > 0) s += " out of " + describeLink(oif);
    if (mtu > 0) s += " with mtu " + std::to_string(mtu);
    return s;
  };
  if (mtu < 0) return invalidArgument(what() + ": negative MTU");
  auto dst = parseCidr(dst_cidr);
  if (!dst.ok()) return dst.error().context(what());
  std::optional<in_addr> gw;
  if (!gateway.empty()) {
    gw = parseIpv4(gateway);
    if (!gw) return invalidArgument(what() + ": " + quote(gateway) + " is not an IPv4 address");
  }
  if (!gw && oif <= 0) return invalidArgument(what() + ": neither a gateway nor a link");
  nlmsghdr* nlh = begin(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  rtm->rtm_family = AF_INET;
  rtm->rtm_dst_len = static_cast<unsigned char>(dst->prefix);
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = RTPROT_STATIC;
  // Without a gateway the destination is on the link itself.
  rtm->rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  rtm->rtm_type = RTN_UNICAST;
  if (dst->prefix > 0) mnl_attr_put(nlh, RTA_DST, sizeof dst->addr, &dst->addr);
  if (gw) mnl_attr_put(nlh, RTA_GATEWAY, sizeof *gw, &*gw);
  if (oif > 0) mnl_attr_put_u32(nlh, RTA_OIF, static_cast<uint32_t>(oif));
  if (mtu > 0) {
    nlattr* metrics = mnl_attr_nest_start(nlh, RTA_METRICS);
    mnl_attr_put_u32(nlh, RTAX_MTU, static_cast<uint32_t>(mtu));
    mnl_attr_nest_end(nlh, metrics);
  }
  return change(nlh, what);
}

Status Netlink::setHairpin(int bridge_port_index, bool on) {
  // Bridge port flags go to the bridge (AF_BRIDGE), nested in IFLA_PROTINFO.
  nlmsghdr* nlh = begin(RTM_SETLINK, NLM_F_ACK);
  putIfinfo(nlh, AF_BRIDGE, bridge_port_index);
  nlattr* protinfo = mnl_attr_nest_start(nlh, IFLA_PROTINFO);
  mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE, on ? 1 : 0);
  mnl_attr_nest_end(nlh, protinfo);
  std::string ext;
  int err = exchange(nlh, nullptr, nullptr, &ext);
  if (err == 0) return okStatus();
  std::string what =
      "turn hairpin " + std::string(on ? "on" : "off") + " for " + describeLink(bridge_port_index);
  // No bridge above the link: the kernel finds nobody to hand the flag to.
  if (err == EOPNOTSUPP) return conflict(what + ": not a bridge port");
  return netlinkError(what, err, ext);
}

Result<bool> Netlink::hairpin(int bridge_port_index) {
  // A port's bridge settings come with the link itself (IFLA_INFO_SLAVE_DATA): one get,
  // not an AF_BRIDGE dump of every port.
  nlmsghdr* nlh = begin(RTM_GETLINK, 0);
  putIfinfo(nlh, AF_UNSPEC, bridge_port_index);
  mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  ParsedLink link;
  std::string ext;
  int err = exchange(nlh, onOneLink, &link, &ext);
  std::string what = "read hairpin of link #" + std::to_string(bridge_port_index);
  if (err == ENODEV) return notFound(what + ": no such device");
  if (err) return netlinkError(what, err, ext);
  if (link.port_kind != "bridge" || link.hairpin < 0)
    return conflict("read hairpin of link " + quote(link.info.name) + ": not a bridge port");
  return link.hairpin != 0;
}

namespace {

Result<std::string> sysctlPath(std::string_view key) {
  std::string rel(key);
  // With '/' separators dots are part of names ("eth0.10"), as sysctl(8) reads them.
  if (rel.find('/') == std::string::npos)
    for (char& c : rel)
      if (c == '.') c = '/';
  bool ok = !rel.empty();
  for (const auto& part : split(rel, '/'))
    if (part.empty() || part == "." || part == "..") ok = false;
  if (!ok) return invalidArgument("sysctl " + quote(key) + ": not a valid key");
  return "/proc/sys/" + rel;
}

}  // namespace

Status writeSysctl(std::string_view key, std::string_view value) {
  std::string path = BERTH_TRY(sysctlPath(key));
  Status s = writeFile(path, std::string(value));
  if (!s.ok()) return s.error().context("set sysctl " + quote(key));
  return okStatus();
}

Result<std::string> readSysctl(std::string_view key) {
  std::string path = BERTH_TRY(sysctlPath(key));
  auto r = readFile(path);
  if (!r.ok()) return r.error().context("read sysctl " + quote(key));
  std::string v = std::move(*r);
  while (!v.empty() && v.back() == '\n') v.pop_back();
  return v;
}

}  // namespace berth::sys
