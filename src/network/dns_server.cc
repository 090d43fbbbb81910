#include "network/dns_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>

#include "common/log.h"
#include "common/strings.h"
#include "network/dns_message.h"
#include "network/dns_socket.h"
#include "sys/fd.h"

namespace berth::network {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kUdpBurst = 64;  // datagrams read from one socket before polling again
// A UDP query fits in far less (one question and an OPT record: 300 bytes; EDNS options
// such as cookies add tens): a larger datagram is no query of anyone's and is dropped.
constexpr size_t kUdpQueryMax = 4096;
constexpr size_t kAcceptBurst = 16;
// Replies kept (DnsReply::cacheable) per server; all go when it is full, which a flood of
// names nobody asks twice could otherwise grow without end.
constexpr size_t kMaxKept = 10000;

std::vector<SockAddr> parseUpstreams(const std::vector<std::string>& texts) {
  std::vector<SockAddr> out;
  for (const std::string& t : texts) {
    if (auto a = hostPortAddress(t, 53))
      out.push_back(*a);
    else
      log::warn("dns upstream " + quote(t) + ": not an ip address with an optional port");
  }
  return out;
}

bool wouldBlock(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

struct Listener {
  uint64_t id = 0;
  std::string addr;  // as inet_ntop writes it
  uint16_t port = 0;
  sys::Fd udp, tcp;
};
// What the loop polls: a copy of `listeners` made whenever they change.
struct ListenerView {
  std::string addr;
  int udp = -1, tcp = -1;
};

// A reply kept for a question (DnsReply::cacheable), and the answer to start the next
// reply with.
struct Kept {
  WireRecords records;
  size_t next = 0;
};

// A UDP reply waiting for the next sendmmsg: its bytes are udp_bytes[off, off + len).
struct UdpReply {
  uint64_t listener = 0;
  SockAddr peer;
  size_t off = 0, len = 0;
};

// Where a query came from, and so where its reply goes.
struct Source {
  bool tcp = false;
  uint64_t listener = 0;  // UDP: whose socket replies
  SockAddr peer;          // UDP
  uint64_t conn = 0;      // TCP
};

struct Conn {
  uint64_t id = 0;
  uint64_t listener = 0;
  sys::Fd fd;
  std::string local_addr, peer_addr;
  std::vector<uint8_t> in;   // bytes read, not yet a whole message
  std::vector<uint8_t> out;  // framed replies not yet written
  size_t out_off = 0;
  Clock::time_point last_active;
  size_t in_flight = 0;  // forwarded queries whose reply is owed
  bool peer_closed = false;
  bool dead = false;
};

struct Forward {
  uint64_t id = 0;
  Source src;
  std::vector<uint8_t> query;  // as the client sent it
  DnsQuery q;
  std::vector<SockAddr> upstreams;
  size_t current = 0;  // the upstream being asked
  bool tcp = false;    // asking it over TCP (its UDP reply was truncated)
  bool connecting = false;
  sys::Fd sock;
  std::vector<uint8_t> out, in;  // TCP only
  size_t out_off = 0;
  Clock::time_point attempt_deadline, deadline;
  // An upstream's SERVFAIL, REFUSED or truncated reply, relayed if nobody does better.
  std::vector<uint8_t> fallback;
  bool done = false;
};

enum class Kind { kWake, kUdp, kAccept, kConn, kForward };
struct Tag {
  Kind kind;
  uint64_t id;
};

// What every serving thread shares.
struct Shared {
  Shared(DnsHandler h, std::vector<SockAddr> ups, DnsServerOptions o, size_t loops)
      : handler(std::move(h)), options(o), upstreams(std::move(ups)), done_gen(loops, 0) {}

  const DnsHandler handler;
  const DnsServerOptions options;
  // invalidate() bumps it; each loop empties its kept replies before its next answer.
  std::atomic<uint64_t> generation{0};

  std::mutex mu;
  std::condition_variable cv;
  std::vector<SockAddr> upstreams;                   // GUARDED_BY(mu)
  std::vector<std::unique_ptr<Listener>> listeners;  // GUARDED_BY(mu)
  // Unlistened, each with the change that retired it, and closed once every loop has
  // seen that change, so that no loop ever polls a closed (or, worse, reused) descriptor.
  std::vector<std::pair<uint64_t, std::unique_ptr<Listener>>> retired;  // GUARDED_BY(mu)
  // listen and unlisten bump `changes`; each loop copies the listeners into its `view`
  // before its next poll, then sets its `done_gen` to what it saw.
  uint64_t changes = 0;            // GUARDED_BY(mu)
  std::vector<uint64_t> done_gen;  // GUARDED_BY(mu), one per loop
  uint64_t next_listener_id = 1;   // GUARDED_BY(mu)
  bool stopping = false;           // GUARDED_BY(mu)

  // The change every loop has seen. REQUIRES(mu)
  uint64_t seenByAll() const { return *std::min_element(done_gen.begin(), done_gen.end()); }
};

// One serving thread: it polls every listener's UDP socket (the kernel hands each datagram
// to one of the threads waiting), loop 0 also the TCP listeners and their connections, and
// each loop the upstream sockets of the queries it forwards.
struct Loop {
  Loop(Shared& s, size_t i) : shared(s), index(i) {}

  Shared& shared;
  const size_t index;
  sys::Fd wake_fd;  // eventfd: listen/unlisten/the destructor wake the loop
  std::thread thread;

  // This loop's thread only.
  std::unordered_map<uint64_t, ListenerView> view;
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns;
  std::unordered_map<uint64_t, std::unique_ptr<Forward>> forwards;
  uint64_t next_id = 1;
  std::vector<uint8_t> buf = std::vector<uint8_t>(kDnsMaxMessage + 1);
  std::vector<pollfd> pfds;
  std::vector<Tag> tags;
  // recvmmsg's datagrams, kUdpBurst slots of kUdpQueryMax bytes.
  std::vector<uint8_t> udp_in = std::vector<uint8_t>(kUdpBurst * kUdpQueryMax);
  std::vector<UdpReply> udp_out;  // replies not sent yet, in order
  std::vector<uint8_t> udp_bytes;
  std::vector<uint8_t> reply_buf;  // the reply being written
  // Kept replies by question: the name in wire form, lowercase, then the type's 2 bytes.
  std::unordered_map<std::string, Kept> kept;
  uint64_t kept_generation = 0;  // shared.generation when `kept` was last emptied
  std::string key;

  void run();
  bool refresh();
  void expire(Clock::time_point now);
  int pollTimeout(Clock::time_point now) const;
  void sweep();

  void readUdp(uint64_t listener, const ListenerView& l);
  void accept(uint64_t listener, const ListenerView& l);
  bool evictIdlest();
  void connEvent(Conn& c, short revents);
  void flush(Conn& c);

  void handleQuery(const Source& src, const std::string& local, std::span<const uint8_t> wire);
  bool answerKept(const Source& src, const DnsQuery& q);
  void send(const Source& src, std::span<const uint8_t> reply);
  void flushUdp();

  void startForward(const Source& src, std::span<const uint8_t> wire, const DnsQuery& q);
  void tryCurrent(Forward& f);
  bool open(Forward& f);
  void advance(Forward& f);
  void forwardEvent(Forward& f, short revents);
  void gotReply(Forward& f, std::span<const uint8_t> reply);
  void finish(Forward& f, std::span<const uint8_t> reply);
};

}  // namespace

struct DnsServer::Impl {
  Impl(DnsHandler h, std::vector<SockAddr> ups, DnsServerOptions o)
      : shared(std::move(h), std::move(ups), o, std::max<size_t>(o.threads, 1)) {
    for (size_t i = 0; i < shared.done_gen.size(); ++i)
      loops.push_back(std::make_unique<Loop>(shared, i));
  }

  Shared shared;
  std::vector<std::unique_ptr<Loop>> loops;

  void wake() {
    uint64_t one = 1;
    for (const auto& l : loops)
      if (l->wake_fd.valid()) (void)!::write(l->wake_fd.get(), &one, sizeof one);
  }
  bool onLoopThread() const {
    for (const auto& l : loops)
      if (std::this_thread::get_id() == l->thread.get_id()) return true;
    return false;
  }
};

DnsServer::DnsServer(DnsHandler handler, std::vector<std::string> upstreams,
                     DnsServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(handler), parseUpstreams(upstreams), options)) {
  for (auto& loop : impl_->loops) {
    loop->wake_fd = sys::Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!loop->wake_fd.valid())  // the loop then looks around every 100 ms instead
      log::warn(std::string("start dns server: eventfd: ") + std::strerror(errno));
  }
  for (auto& loop : impl_->loops) loop->thread = std::thread([l = loop.get()] { l->run(); });
}

DnsServer::~DnsServer() {
  {
    std::lock_guard<std::mutex> lk(impl_->shared.mu);
    impl_->shared.stopping = true;
  }
  impl_->wake();
  for (auto& loop : impl_->loops) loop->thread.join();
}

Result<uint16_t> DnsServer::listen(const std::string& addr, uint16_t port) {
  std::string what = "listen dns on " + quote(hostPort(addr, port));
  std::optional<SockAddr> sa = ipAddress(addr, port);
  if (!sa) return invalidArgument(what + ": not an ip address");
  const std::string ip = sa->ip();
  Shared& sh = impl_->shared;
  auto taken = [&](uint16_t p) {  // REQUIRES(sh.mu)
    for (const auto& l : sh.listeners)
      if (l->addr == ip && l->port == p) return true;
    return false;
  };
  {
    std::lock_guard<std::mutex> lk(sh.mu);
    if (port != 0 && taken(port)) return alreadyExists(what + ": already listening");
  }
  sys::Fd udp, tcp;
  // Port 0: the kernel picks a free UDP port, which TCP may have in use; pick again then.
  for (int attempt = 0;; ++attempt) {
    sa->setPort(port);
    udp = BERTH_TRY(boundSocket(SOCK_DGRAM, *sa, what));
    sa->setPort(localPort(udp.get()));
    Result<sys::Fd> t = boundSocket(SOCK_STREAM, *sa, what);
    if (t.ok()) {
      tcp = std::move(*t);
      break;
    }
    if (port != 0 || attempt == 15) return t.error();
  }
  auto l = std::make_unique<Listener>();
  l->addr = ip;
  l->port = sa->port();
  l->udp = std::move(udp);
  l->tcp = std::move(tcp);
  {
    std::lock_guard<std::mutex> lk(sh.mu);
    if (taken(l->port)) return alreadyExists(what + ": already listening");
    l->id = sh.next_listener_id++;
    sh.listeners.push_back(std::move(l));
    ++sh.changes;
  }
  impl_->wake();
  return sa->port();
}

void DnsServer::unlisten(const std::string& addr) {
  std::optional<SockAddr> sa = ipAddress(addr, 0);
  if (!sa) return;
  const std::string ip = sa->ip();
  Shared& sh = impl_->shared;
  uint64_t target = 0;
  {
    std::lock_guard<std::mutex> lk(sh.mu);
    std::vector<std::unique_ptr<Listener>> gone;
    for (auto it = sh.listeners.begin(); it != sh.listeners.end();) {
      if ((*it)->addr == ip) {
        gone.push_back(std::move(*it));
        it = sh.listeners.erase(it);
      } else {
        ++it;
      }
    }
    if (gone.empty()) return;
    target = ++sh.changes;
    for (auto& l : gone) sh.retired.emplace_back(target, std::move(l));
  }
  impl_->wake();
  if (impl_->onLoopThread()) return;  // from the handler
  std::unique_lock<std::mutex> lk(sh.mu);
  sh.cv.wait(lk, [&] { return sh.seenByAll() >= target || sh.stopping; });
}

void DnsServer::invalidate() { impl_->shared.generation.fetch_add(1, std::memory_order_acq_rel); }

void DnsServer::setUpstreams(std::vector<std::string> upstreams) {
  std::vector<SockAddr> parsed = parseUpstreams(upstreams);
  std::lock_guard<std::mutex> lk(impl_->shared.mu);
  impl_->shared.upstreams = std::move(parsed);
}

// ---- the loop ----

void Loop::run() {
  while (refresh()) {
    Clock::time_point now = Clock::now();
    expire(now);
    sweep();
    flushUdp();  // replies of this round: forwarded answers, SERVFAILs of expired forwards

    pfds.clear();
    tags.clear();
    auto add = [&](int fd, short events, Kind kind, uint64_t id) {
      pfds.push_back({fd, events, 0});
      tags.push_back({kind, id});
    };
    if (wake_fd.valid()) add(wake_fd.get(), POLLIN, Kind::kWake, 0);
    for (const auto& [id, l] : view) {
      add(l.udp, POLLIN, Kind::kUdp, id);
      if (l.tcp >= 0) add(l.tcp, POLLIN, Kind::kAccept, id);
    }
    for (const auto& [id, c] : conns) {
      // While replies wait to be written, read no more: the client must keep up.
      short ev = c->out.empty() ? (c->peer_closed ? 0 : POLLIN) : POLLOUT;
      add(c->fd.get(), ev, Kind::kConn, id);
    }
    for (const auto& [id, f] : forwards) {
      short ev = POLLIN;
      if (f->connecting || f->out_off < f->out.size()) ev = POLLOUT;
      add(f->sock.get(), ev, Kind::kForward, id);
    }

    int rc = ::poll(pfds.data(), pfds.size(), pollTimeout(now));
    if (rc < 0) {
      if (errno != EINTR) log::error(std::string("serve dns: poll: ") + std::strerror(errno));
      continue;
    }
    for (size_t i = 0; i < pfds.size() && rc > 0; ++i) {
      short re = pfds[i].revents;
      if (re == 0) continue;
      --rc;
      const Tag& t = tags[i];
      switch (t.kind) {
        case Kind::kWake: {
          uint64_t n;
          (void)!::read(wake_fd.get(), &n, sizeof n);
          break;
        }
        case Kind::kUdp:
          readUdp(t.id, view.at(t.id));
          break;
        case Kind::kAccept:
          accept(t.id, view.at(t.id));
          break;
        case Kind::kConn:
          // Looked up again: serving an earlier descriptor may have closed this one.
          if (auto it = conns.find(t.id); it != conns.end() && !it->second->dead)
            connEvent(*it->second, re);
          break;
        case Kind::kForward:
          if (auto it = forwards.find(t.id); it != forwards.end() && !it->second->done)
            forwardEvent(*it->second, re);
          break;
      }
    }
  }
}

bool Loop::refresh() {
  uint64_t seen = 0;
  {
    std::lock_guard<std::mutex> lk(shared.mu);
    if (shared.stopping) {
      shared.cv.notify_all();
      return false;
    }
    if (shared.done_gen[index] == shared.changes) return true;
    view.clear();
    for (const auto& l : shared.listeners)
      view[l->id] = {l->addr, l->udp.get(), index == 0 ? l->tcp.get() : -1};
    seen = shared.changes;
  }
  // Connections accepted on an address no longer served go with it.
  std::erase_if(conns, [&](const auto& kv) { return !view.contains(kv.second->listener); });
  {
    std::lock_guard<std::mutex> lk(shared.mu);
    shared.done_gen[index] = seen;
    const uint64_t all = shared.seenByAll();
    std::erase_if(shared.retired, [&](const auto& r) { return r.first <= all; });
  }
  shared.cv.notify_all();
  return true;
}

void Loop::expire(Clock::time_point now) {
  for (auto& [id, f] : forwards)
    if (!f->done && now >= f->attempt_deadline) advance(*f);
  for (auto& [id, c] : conns)
    if (c->in_flight == 0 && now - c->last_active >= shared.options.tcp_idle_timeout)
      c->dead = true;
}

void Loop::sweep() {
  std::erase_if(forwards, [](const auto& kv) { return kv.second->done; });
  std::erase_if(conns, [](const auto& kv) {
    const Conn& c = *kv.second;
    return c.dead || (c.peer_closed && c.in_flight == 0 && c.out.empty());
  });
}

int Loop::pollTimeout(Clock::time_point now) const {
  std::optional<Clock::time_point> next;
  auto consider = [&](Clock::time_point t) {
    if (!next || t < *next) next = t;
  };
  for (const auto& [id, f] : forwards) consider(f->attempt_deadline);
  for (const auto& [id, c] : conns)
    if (c->in_flight == 0) consider(c->last_active + shared.options.tcp_idle_timeout);
  int cap = wake_fd.valid() ? -1 : 100;
  if (!next) return cap;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(*next - now).count();
  ms = std::max<decltype(ms)>(ms, 0);
  if (cap >= 0) ms = std::min<decltype(ms)>(ms, cap);
  return static_cast<int>(std::min<decltype(ms)>(ms, 60000));
}

// ---- clients ----

// One recvmmsg takes what has queued up (to kUdpBurst datagrams); their replies go out
// together in flushUdp. Under load that is two system calls for dozens of queries.
void Loop::readUdp(uint64_t listener, const ListenerView& l) {
  std::array<mmsghdr, kUdpBurst> msgs{};
  std::array<iovec, kUdpBurst> iov{};
  std::array<SockAddr, kUdpBurst> peers;
  for (size_t i = 0; i < kUdpBurst; ++i) {
    iov[i] = {udp_in.data() + i * kUdpQueryMax, kUdpQueryMax};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = peers[i].sa();
    msgs[i].msg_hdr.msg_namelen = peers[i].len;
  }
  // Drained, or an error that concerns one datagram and is forgotten.
  int n = ::recvmmsg(l.udp, msgs.data(), kUdpBurst, MSG_DONTWAIT, nullptr);
  for (int i = 0; i < n; ++i) {
    if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) continue;
    Source src;
    src.listener = listener;
    src.peer = peers[i];
    src.peer.len = msgs[i].msg_hdr.msg_namelen;
    handleQuery(src, l.addr,
                std::span<const uint8_t>(udp_in.data() + i * kUdpQueryMax, msgs[i].msg_len));
  }
  flushUdp();
}

void Loop::accept(uint64_t listener, const ListenerView& l) {
  for (size_t i = 0; i < kAcceptBurst; ++i) {
    SockAddr peer;
    sys::Fd fd(::accept4(l.tcp, peer.sa(), &peer.len, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd.valid()) return;
    if (conns.size() >= shared.options.max_tcp_connections && !evictIdlest())
      continue;  // closes fd
    auto c = std::make_unique<Conn>();
    c->id = next_id++;
    c->listener = listener;
    c->fd = std::move(fd);
    c->local_addr = l.addr;
    c->peer_addr = peer.ip();
    c->last_active = Clock::now();
    conns[c->id] = std::move(c);
  }
}

// Makes room for a new connection by closing the one idle longest; an idle connection
// costs the server nothing but a slot, and slots held open must not lock others out.
bool Loop::evictIdlest() {
  Conn* victim = nullptr;
  for (auto& [id, c] : conns)
    if (c->in_flight == 0 && (!victim || c->last_active < victim->last_active)) victim = c.get();
  if (!victim) return false;
  conns.erase(victim->id);
  return true;
}

void Loop::connEvent(Conn& c, short revents) {
  if (revents & POLLOUT) flush(c);
  if ((revents & POLLIN) && !c.dead) {
    ssize_t n = ::recv(c.fd.get(), buf.data(), buf.size(), 0);
    if (n == 0) {
      c.peer_closed = true;
    } else if (n < 0) {
      if (!wouldBlock(errno)) c.dead = true;
    } else {
      c.last_active = Clock::now();
      c.in.insert(c.in.end(), buf.begin(), buf.begin() + n);
      // RFC 1035 §4.2.2: each message is preceded by its length in two bytes.
      size_t off = 0;
      while (!c.dead && c.in.size() - off >= 2) {
        size_t len = (size_t{c.in[off]} << 8) | c.in[off + 1];
        if (len == 0) {
          c.dead = true;
          break;
        }
        if (c.in.size() - off - 2 < len) break;
        Source src;
        src.tcp = true;
        src.conn = c.id;
        handleQuery(src, c.local_addr, std::span<const uint8_t>(c.in.data() + off + 2, len));
        off += 2 + len;
      }
      c.in.erase(c.in.begin(), c.in.begin() + off);
    }
  }
  if ((revents & (POLLERR | POLLHUP)) && !(revents & POLLIN)) c.dead = true;
}

void Loop::flush(Conn& c) {
  while (c.out_off < c.out.size()) {
    ssize_t n = ::send(c.fd.get(), c.out.data() + c.out_off, c.out.size() - c.out_off,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (!wouldBlock(errno)) c.dead = true;
      return;
    }
    c.out_off += n;
    c.last_active = Clock::now();
  }
  c.out.clear();
  c.out_off = 0;
}

void Loop::handleQuery(const Source& src, const std::string& local, std::span<const uint8_t> wire) {
  DecodedQuery d = decodeQuery(wire);
  if (d.action == DecodedQuery::Action::kDrop) return;
  if (d.action == DecodedQuery::Action::kReply) {
    send(src, d.reply);
    return;
  }
  const DnsQuery& q = d.query;
  // Read before the handler runs: an invalidate() while it runs makes its reply one not
  // to keep.
  const uint64_t gen = shared.generation.load(std::memory_order_acquire);
  if (q.qclass == kClassIn && answerKept(src, q)) return;
  std::string client;
  if (src.tcp) {
    if (auto it = conns.find(src.conn); it != conns.end()) client = it->second->peer_addr;
  } else {
    client = src.peer.ip();
  }
  DnsQuestion question{handlerName(q), q.qtype, local, std::move(client)};
  DnsReply reply;  // other classes (CHAOS "version.bind"…) are the upstream's business
  if (q.qclass == kClassIn) {
    try {
      reply = shared.handler(question);
    } catch (const std::exception& e) {
      log::warn("answer dns query " + quote(question.name) + ": " + e.what());
      send(src, encodeError(q, kRcodeServFail));
      return;
    } catch (...) {
      log::warn("answer dns query " + quote(question.name) + ": unknown exception");
      send(src, encodeError(q, kRcodeServFail));
      return;
    }
  }
  if (reply.verdict == DnsVerdict::kForward) {
    startForward(src, wire, q);
    return;
  }
  Result<WireRecords> records = encodeRecords(q, reply);
  if (!records.ok()) {
    log::warn("answer dns query " + quote(question.name) + ": " + records.error().message());
    send(src, encodeError(q, kRcodeServFail));
    return;
  }
  const size_t limit = src.tcp ? kDnsMaxMessage : udpLimit(q);
  if (reply.cacheable && shared.generation.load(std::memory_order_acquire) == gen) {
    if (kept.size() >= kMaxKept) kept.clear();
    Kept& k = kept[key];  // answerKept left the question's key there
    k = Kept{std::move(*records), 0};
    writeReply(q, k.records, k.next++, limit, reply_buf);
  } else {
    writeReply(q, *records, 0, limit, reply_buf);
  }
  send(src, reply_buf);
}

// Answers `q` from a kept reply, if there is one; leaves the question's key in `key`.
bool Loop::answerKept(const Source& src, const DnsQuery& q) {
  const uint64_t gen = shared.generation.load(std::memory_order_acquire);
  if (gen != kept_generation) {
    kept.clear();
    kept_generation = gen;
  }
  key.clear();
  for (char c : q.qname) key += (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  key += static_cast<char>(q.qtype >> 8);
  key += static_cast<char>(q.qtype & 0xff);
  auto it = kept.find(key);
  if (it == kept.end()) return false;
  writeReply(q, it->second.records, it->second.next++, src.tcp ? kDnsMaxMessage : udpLimit(q),
             reply_buf);
  send(src, reply_buf);
  return true;
}

void Loop::send(const Source& src, std::span<const uint8_t> reply) {
  if (!src.tcp) {
    if (udp_out.size() >= kUdpBurst) flushUdp();
    udp_out.push_back({src.listener, src.peer, udp_bytes.size(), reply.size()});
    udp_bytes.insert(udp_bytes.end(), reply.begin(), reply.end());
    return;
  }
  auto it = conns.find(src.conn);
  if (it == conns.end() || it->second->dead) return;
  Conn& c = *it->second;
  if (reply.size() > kDnsMaxMessage) return;
  c.out.push_back(static_cast<uint8_t>(reply.size() >> 8));
  c.out.push_back(static_cast<uint8_t>(reply.size() & 0xff));
  c.out.insert(c.out.end(), reply.begin(), reply.end());
  flush(c);
}

// Sends the UDP replies waiting, one sendmmsg for each run of replies from one listener.
// A full socket buffer loses replies as the network would; the clients ask again.
void Loop::flushUdp() {
  std::array<mmsghdr, kUdpBurst> msgs{};
  std::array<iovec, kUdpBurst> iov{};
  size_t i = 0;
  while (i < udp_out.size()) {
    const uint64_t listener = udp_out[i].listener;
    size_t n = 0;
    while (i + n < udp_out.size() && n < kUdpBurst && udp_out[i + n].listener == listener) {
      UdpReply& r = udp_out[i + n];
      iov[n] = {udp_bytes.data() + r.off, r.len};
      msgs[n] = {};
      msgs[n].msg_hdr.msg_iov = &iov[n];
      msgs[n].msg_hdr.msg_iovlen = 1;
      msgs[n].msg_hdr.msg_name = r.peer.sa();
      msgs[n].msg_hdr.msg_namelen = r.peer.len;
      ++n;
    }
    auto it = view.find(listener);  // unlistened meanwhile: nowhere to send from
    for (size_t sent = 0; it != view.end() && sent < n;) {
      int rc = ::sendmmsg(it->second.udp, msgs.data() + sent, n - sent, MSG_DONTWAIT);
      if (rc < 0 && errno == EINTR) continue;
      if (rc < 0 && wouldBlock(errno)) break;
      sent += rc < 0 ? 1 : rc;  // an error of the first datagram's own: skip it
    }
    i += n;
  }
  udp_out.clear();
  udp_bytes.clear();
}

// ---- forwarding ----

void Loop::startForward(const Source& src, std::span<const uint8_t> wire, const DnsQuery& q) {
  std::vector<SockAddr> ups;
  {
    std::lock_guard<std::mutex> lk(shared.mu);
    ups = shared.upstreams;
  }
  if (ups.empty() || forwards.size() >= shared.options.max_forwards) {
    send(src, encodeError(q, kRcodeServFail));
    return;
  }
  auto f = std::make_unique<Forward>();
  f->id = next_id++;
  f->src = src;
  f->query.assign(wire.begin(), wire.end());
  f->q = q;
  f->upstreams = std::move(ups);
  f->deadline = Clock::now() + shared.options.forward_timeout;
  if (src.tcp) ++conns.at(src.conn)->in_flight;
  Forward& ref = *f;
  forwards[f->id] = std::move(f);
  tryCurrent(ref);
}

// Asks upstreams from `current` on until one takes the query; each gets an equal share of
// the time left, so one that stays silent cannot use up the others' turn.
void Loop::tryCurrent(Forward& f) {
  const size_t n = f.upstreams.size();
  while (f.current < n) {
    Clock::time_point now = Clock::now();
    if (now >= f.deadline) break;
    f.attempt_deadline = now + (f.deadline - now) / (n - f.current);
    if (open(f)) return;
    ++f.current;
    f.tcp = false;
  }
  if (!f.fallback.empty()) {
    std::vector<uint8_t> reply = std::move(f.fallback);
    finish(f, reply);
  } else {
    finish(f, encodeError(f.q, kRcodeServFail));
  }
}

bool Loop::open(Forward& f) {
  const SockAddr& u = f.upstreams[f.current];
  f.sock = sys::Fd(
      ::socket(u.family(), (f.tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!f.sock.valid()) return false;
  // A connected UDP socket of its own per query: only the upstream's datagrams reach it,
  // from a fresh random port, and the query goes out with the client's own ID.
  int rc = ::connect(f.sock.get(), u.sa(), u.len);
  if (!f.tcp) {
    return rc == 0 && ::send(f.sock.get(), f.query.data(), f.query.size(), MSG_DONTWAIT) >= 0;
  }
  if (rc != 0 && errno != EINPROGRESS) return false;
  f.connecting = rc != 0;
  f.out.clear();
  f.out.push_back(static_cast<uint8_t>(f.query.size() >> 8));
  f.out.push_back(static_cast<uint8_t>(f.query.size() & 0xff));
  f.out.insert(f.out.end(), f.query.begin(), f.query.end());
  f.out_off = 0;
  f.in.clear();
  return true;
}

void Loop::advance(Forward& f) {
  f.sock.reset();
  f.connecting = false;
  f.out.clear();
  f.out_off = 0;
  ++f.current;
  f.tcp = false;
  tryCurrent(f);
}

void Loop::forwardEvent(Forward& f, short revents) {
  if (!f.tcp) {
    while (true) {
      ssize_t n = ::recv(f.sock.get(), buf.data(), buf.size(), 0);
      if (n < 0) {
        if (!wouldBlock(errno)) advance(f);  // ICMP unreachable: ECONNREFUSED
        return;
      }
      std::span<const uint8_t> reply(buf.data(), n);
      if (reply.size() < kDnsHeaderSize) continue;
      DnsHeader h = readHeader(reply);
      if (!h.qr || h.id != f.q.id) continue;  // not an answer to this query: ignore it
      gotReply(f, reply);
      return;
    }
  }
  if (f.connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(f.sock.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return advance(f);
    if (!(revents & (POLLOUT | POLLERR | POLLHUP))) return;
    f.connecting = false;
  }
  while (f.out_off < f.out.size()) {
    ssize_t n = ::send(f.sock.get(), f.out.data() + f.out_off, f.out.size() - f.out_off,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (!wouldBlock(errno)) advance(f);
      return;
    }
    f.out_off += n;
  }
  if (!(revents & (POLLIN | POLLHUP | POLLERR))) return;
  ssize_t n = ::recv(f.sock.get(), buf.data(), buf.size(), 0);
  if (n < 0) {
    if (!wouldBlock(errno)) advance(f);
    return;
  }
  if (n == 0) return advance(f);  // closed before the whole reply came
  f.in.insert(f.in.end(), buf.begin(), buf.begin() + n);
  if (f.in.size() < 2) return;
  size_t len = (size_t{f.in[0]} << 8) | f.in[1];
  if (f.in.size() < 2 + len) return;
  std::vector<uint8_t> reply(f.in.begin() + 2, f.in.begin() + 2 + len);
  if (reply.size() < kDnsHeaderSize || !readHeader(reply).qr || readHeader(reply).id != f.q.id)
    return advance(f);
  gotReply(f, reply);
}

void Loop::gotReply(Forward& f, std::span<const uint8_t> reply) {
  DnsHeader h = readHeader(reply);
  if (h.tc && f.src.tcp && !f.tcp) {
    // The client came over TCP to get it all: ask the same upstream the same way, and
    // relay the truncated answer if that fails everywhere.
    f.fallback.assign(reply.begin(), reply.end());
    f.tcp = true;
    f.sock.reset();
    Clock::time_point now = Clock::now();
    f.attempt_deadline = now + (f.deadline - now) / (f.upstreams.size() - f.current);
    if (!open(f)) advance(f);
    return;
  }
  if ((h.rcode == kRcodeServFail || h.rcode == kRcodeRefused) &&
      f.current + 1 < f.upstreams.size()) {
    f.fallback.assign(reply.begin(), reply.end());
    return advance(f);
  }
  finish(f, reply);
}

void Loop::finish(Forward& f, std::span<const uint8_t> reply) {
  send(f.src, reply);
  if (f.src.tcp) {
    if (auto it = conns.find(f.src.conn); it != conns.end()) {
      --it->second->in_flight;
      it->second->last_active = Clock::now();
    }
  }
  f.sock.reset();
  f.done = true;
}

}  // namespace berth::network
