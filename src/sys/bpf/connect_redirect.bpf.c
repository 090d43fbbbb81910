// Published ports for clients on the host itself, without NAT (see ../connect_redirect.h).
// Compiled with clang -target bpf at build time and embedded into berthd.
//
// cgroup/connect4: a TCP connect() from the host's network namespace to a published
//   address:port (an exact host address, or any 127.0.0.0/8 address for a port published
//   on every address) is sent to the container's address:port instead; the original is
//   kept under the socket's cookie.
// cgroup/getpeername4: such a socket reports the address it asked for as its peer.
// Everything else (UDP, other namespaces, other hosts) keeps going through the nftables
// DNAT rules, which stay in place for every published port.

#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define SOCK_STREAM 1
#define PROTO_TCP 6

// Keys and values as user space writes them (connect_redirect.cc): addresses and ports
// in network byte order, padding zeroed.
struct published_key {
  __u32 addr;  // 0: every local address
  __u16 port;
  __u8 proto;
  __u8 pad;
};

struct published_target {
  __u32 addr;
  __u16 port;
  __u16 pad;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 65536);
  __type(key, struct published_key);
  __type(value, struct published_target);
} published SEC(".maps");

// [0]: the cookie of the network namespace whose sockets are redirected (berthd's).
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} host_netns SEC(".maps");

// Socket cookie → the address:port it connected to, for getpeername.
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, __u64);
  __type(value, struct published_key);
} original SEC(".maps");

static __always_inline int fromHost(struct bpf_sock_addr *ctx) {
  __u32 zero = 0;
  __u64 *cookie = bpf_map_lookup_elem(&host_netns, &zero);
  return cookie && *cookie != 0 && *cookie == bpf_get_netns_cookie(ctx);
}

SEC("cgroup/connect4")
int berth_connect4(struct bpf_sock_addr *ctx) {
  if (ctx->type != SOCK_STREAM || !fromHost(ctx)) return 1;
  struct published_key key = {};
  key.addr = ctx->user_ip4;
  key.port = (__u16)ctx->user_port;
  key.proto = PROTO_TCP;
  struct published_target *to = bpf_map_lookup_elem(&published, &key);
  if (!to) {
    if ((bpf_ntohl(key.addr) >> 24) != 127) return 1;
    key.addr = 0;
    to = bpf_map_lookup_elem(&published, &key);
    if (!to) return 1;
    key.addr = ctx->user_ip4;
  }
  __u64 sock = bpf_get_socket_cookie(ctx);
  bpf_map_update_elem(&original, &sock, &key, BPF_ANY);
  ctx->user_ip4 = to->addr;
  ctx->user_port = to->port;
  return 1;
}

SEC("cgroup/getpeername4")
int berth_getpeername4(struct bpf_sock_addr *ctx) {
  __u64 sock = bpf_get_socket_cookie(ctx);
  struct published_key *asked = bpf_map_lookup_elem(&original, &sock);
  if (!asked) return 1;
  ctx->user_ip4 = asked->addr;
  ctx->user_port = asked->port;
  return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
