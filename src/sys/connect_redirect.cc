#include "sys/connect_redirect.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "common/strings.h"
#include "sys/fd.h"
#include "sys/mountinfo.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

// The compiled programs (bpf/connect_redirect.bpf.c), embedded by the build.
asm(".section .rodata\n"
    ".balign 8\n"
    ".global berth_connect_redirect_obj\n"
    "berth_connect_redirect_obj:\n"
    ".incbin \"" BERTH_CONNECT_REDIRECT_OBJ
    "\"\n"
    ".global berth_connect_redirect_obj_end\n"
    "berth_connect_redirect_obj_end:\n"
    ".previous\n");
extern "C" const char berth_connect_redirect_obj[];
extern "C" const char berth_connect_redirect_obj_end[];

namespace berth::sys {
namespace {

// Must match bpf/connect_redirect.bpf.c.
struct PublishedKey {
  uint32_t addr;  // network byte order; 0 every local address
  uint16_t port;  // network byte order
  uint8_t proto;
  uint8_t pad;
};
struct PublishedTarget {
  uint32_t addr;
  uint16_t port;
  uint16_t pad;
};
constexpr uint8_t kTcp = 6;

// Where the cgroup2 hierarchy is mounted: /sys/fs/cgroup, or /sys/fs/cgroup/unified in the
// hybrid layout.
Result<std::string> cgroup2Root() {
  for (const MountInfo& m : BERTH_TRY(readMountInfo())) {
    if (m.fstype == "cgroup2") return m.mount_point;
  }
  return unsupported("redirect connections to published ports: no cgroup2 hierarchy mounted");
}

Result<uint64_t> ownNetnsCookie() {
  Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (s.get() < 0) return errnoError("socket", errno);
  uint64_t cookie = 0;
  socklen_t len = sizeof cookie;
  if (::getsockopt(s.get(), SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) != 0)
    return unsupported("redirect connections to published ports: no network namespace cookie: " +
                       std::string(std::strerror(errno)));
  return cookie;
}

Result<uint32_t> address(const std::string& ip) {
  if (ip.empty()) return 0;
  in_addr a{};
  if (::inet_pton(AF_INET, ip.c_str(), &a) != 1)
    return invalidArgument("redirect a published port: not an IPv4 address: " + quote(ip));
  return a.s_addr;
}

Result<PublishedKey> keyOf(const RedirectedPort& p) {
  return PublishedKey{BERTH_TRY(address(p.host_ip)), htons(p.host_port), kTcp, 0};
}

// libbpf reports through errno (and a negative return for the int-returning calls).
Error bpfError(const std::string& what) {
  return errnoError("redirect connections to published ports: " + what, errno);
}

}  // namespace

Result<std::unique_ptr<ConnectRedirect>> ConnectRedirect::open() {
  std::string root = BERTH_TRY(cgroup2Root());
  uint64_t netns = BERTH_TRY(ownNetnsCookie());
  libbpf_set_print(nullptr);  // its messages would go to berthd's stderr unasked
  std::unique_ptr<ConnectRedirect> r(new ConnectRedirect());
  LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "berth_redirect");
  r->obj_ =
      bpf_object__open_mem(berth_connect_redirect_obj,
                           berth_connect_redirect_obj_end - berth_connect_redirect_obj, &opts);
  if (!r->obj_) return bpfError("open the programs");
  if (bpf_object__load(r->obj_) != 0) {
    int err = errno;
    return unsupported("redirect connections to published ports: load the programs: " +
                       std::string(std::strerror(err)));
  }
  bpf_map* published = bpf_object__find_map_by_name(r->obj_, "published");
  bpf_map* host = bpf_object__find_map_by_name(r->obj_, "host_netns");
  bpf_program* connect = bpf_object__find_program_by_name(r->obj_, "berth_connect4");
  bpf_program* peer = bpf_object__find_program_by_name(r->obj_, "berth_getpeername4");
  if (!published || !host || !connect || !peer)
    return internalError(
        "redirect connections to published ports: the embedded object lacks a "
        "program or map");
  r->published_ = bpf_map__fd(published);
  uint32_t zero = 0;
  if (bpf_map_update_elem(bpf_map__fd(host), &zero, &netns, BPF_ANY) != 0)
    return bpfError("record the network namespace");

  Fd cgroup(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (cgroup.get() < 0) return errnoError("open " + quote(root), errno);
  r->connect_ = bpf_program__attach_cgroup(connect, cgroup.get());
  if (!r->connect_) return bpfError("attach to " + quote(root));
  r->peer_name_ = bpf_program__attach_cgroup(peer, cgroup.get());
  if (!r->peer_name_) return bpfError("attach to " + quote(root));
  return r;
}

ConnectRedirect::~ConnectRedirect() {
  // The connect hook goes first: no socket is redirected without its getpeername answer.
  if (connect_) bpf_link__destroy(connect_);
  if (peer_name_) bpf_link__destroy(peer_name_);
  if (obj_) bpf_object__close(obj_);
}

Status ConnectRedirect::add(const RedirectedPort& p) {
  PublishedKey key = BERTH_TRY(keyOf(p));
  PublishedTarget to{BERTH_TRY(address(p.container_ip)), htons(p.container_port), 0};
  if (bpf_map_update_elem(published_, &key, &to, BPF_ANY) != 0)
    return bpfError("add port " + std::to_string(p.host_port));
  return okStatus();
}

Status ConnectRedirect::remove(const RedirectedPort& p) {
  PublishedKey key = BERTH_TRY(keyOf(p));
  if (bpf_map_delete_elem(published_, &key) != 0 && errno != ENOENT)
    return bpfError("remove port " + std::to_string(p.host_port));
  return okStatus();
}

Status ConnectRedirect::reset(const std::vector<RedirectedPort>& ports) {
  PublishedKey key{};
  while (bpf_map_get_next_key(published_, nullptr, &key) == 0) {
    if (bpf_map_delete_elem(published_, &key) != 0 && errno != ENOENT)
      return bpfError("empty the map");
  }
  for (const auto& p : ports) BERTH_RETURN_IF_ERROR(add(p));
  return okStatus();
}

}  // namespace berth::sys
