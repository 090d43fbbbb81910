#include "monitor/clients.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace berth::monitor {
namespace {

uint32_t bigEndian32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}

uint16_t bigEndian16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

}  // namespace

void ClientSet::acceptAll(int listen_fd) {
  while (true) {
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // EAGAIN, or out of descriptors: the connection waits in the backlog
    }
    int slot = -1;
    for (int i = 0; i < kMaxClients; ++i) {
      if (clients_[i].fd < 0) {
        slot = i;
        break;
      }
    }
    if (slot < 0) {
      ::close(fd);
      continue;
    }
    Client& c = clients_[slot];
    c = Client{};
    c.fd = fd;
    c.registered = paused_ ? 0u : uint32_t{EPOLLIN};
    struct epoll_event ev {};
    ev.events = c.registered;
    ev.data.u64 = tag_base_ + static_cast<uint64_t>(slot);
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      ::close(fd);
      c.fd = -1;
    }
  }
}

void ClientSet::onEvent(int slot, uint32_t events, AttachSink& sink) {
  if (slot < 0 || slot >= kMaxClients) return;
  Client& c = clients_[slot];
  if (c.fd < 0) return;
  if (events & EPOLLERR) {
    drop(slot);
    return;
  }
  if (events & EPOLLOUT) {
    flush(c);
    if (c.fd < 0) return;
  }
  if ((events & EPOLLIN) && !paused_ && !c.read_eof) {
    readFrom(c, sink);
    if (c.fd < 0) return;
  } else if (events & EPOLLHUP) {
    // Both directions are gone and nothing is left to read.
    drop(slot);
    return;
  }
  updateEvents(slot);
}

void ClientSet::readFrom(Client& c, AttachSink& sink) {
  uint8_t buf[4096];
  size_t room = sink.stdinRoom();
  if (room == 0) return;
  if (room > sizeof buf) room = sizeof buf;
  ssize_t n = ::read(c.fd, buf, room);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return;
    drop(static_cast<int>(&c - clients_));
    return;
  }
  if (n == 0) {
    // Half-closed: the client sends no more frames but may still read output.
    c.read_eof = true;
    return;
  }
  parse(c, buf, static_cast<size_t>(n), sink);
}

void ClientSet::parse(Client& c, const uint8_t* p, size_t n, AttachSink& sink) {
  while (n > 0) {
    if (c.header_len < kFrameHeader) {
      size_t take = kFrameHeader - c.header_len;
      if (take > n) take = n;
      std::memcpy(c.header + c.header_len, p, take);
      c.header_len += take;
      p += take;
      n -= take;
      if (c.header_len < kFrameHeader) return;
      c.frame_size = c.frame_left = bigEndian32(c.header + 4);
      if (c.frame_left > 0) continue;
    } else {
      size_t take = c.frame_left < n ? c.frame_left : n;
      uint32_t offset = c.frame_size - c.frame_left;
      if (c.header[0] == kStdin) {
        sink.stdinData(reinterpret_cast<const char*>(p), take);
      } else if (c.header[0] == kResize && offset < sizeof c.payload) {
        size_t keep = sizeof c.payload - offset;
        std::memcpy(c.payload + offset, p, take < keep ? take : keep);
      }
      c.frame_left -= static_cast<uint32_t>(take);
      p += take;
      n -= take;
      if (c.frame_left > 0) return;
    }
    // A whole frame is in: act on the ones that carry no data stream.
    if (c.header[0] == kCloseStdin) {
      sink.closeStdin();
    } else if (c.header[0] == kResize && c.frame_size == sizeof c.payload) {
      sink.resize(bigEndian16(c.payload), bigEndian16(c.payload + 2));
    }
    c.header_len = 0;
  }
}

void ClientSet::broadcast(uint8_t type, const char* data, size_t len) {
  char header[kFrameHeader] = {static_cast<char>(type)};
  for (int i = 0; i < 4; ++i) header[4 + i] = static_cast<char>(len >> (24 - 8 * i));
  for (auto& c : clients_) {
    if (c.fd >= 0) send(c, header, data, len);
  }
}

void ClientSet::send(Client& c, const char* header, const char* data, size_t len) {
  int slot = static_cast<int>(&c - clients_);
  size_t sent = 0;
  if (!c.queue) {
    struct iovec iov[2] = {{const_cast<char*>(header), kFrameHeader},
                           {const_cast<char*>(data), len}};
    struct msghdr msg {};
    msg.msg_iov = iov;
    msg.msg_iovlen = len ? 2 : 1;
    ssize_t n = ::sendmsg(c.fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno != EAGAIN && errno != EINTR) {
        drop(slot);
        return;
      }
      n = 0;
    }
    sent = static_cast<size_t>(n);
    if (sent == kFrameHeader + len) return;
  }
  bool ok = true;
  if (sent < kFrameHeader) {
    ok = enqueue(c, header + sent, kFrameHeader - sent) && enqueue(c, data, len);
  } else {
    ok = enqueue(c, data + (sent - kFrameHeader), len - (sent - kFrameHeader));
  }
  if (!ok) {
    drop(slot);
    return;
  }
  updateEvents(slot);
}

bool ClientSet::enqueue(Client& c, const char* data, size_t len) {
  if (len == 0) return true;
  if (c.tail - c.head + len > kClientBufferMax) return false;
  if (!c.queue) {
    void* m = ::mmap(nullptr, kClientBufferMax, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) return false;
    c.queue = static_cast<char*>(m);
    c.head = c.tail = 0;
  }
  if (c.tail + len > kClientBufferMax) {
    std::memmove(c.queue, c.queue + c.head, c.tail - c.head);
    c.tail -= c.head;
    c.head = 0;
  }
  std::memcpy(c.queue + c.tail, data, len);
  c.tail += len;
  return true;
}

void ClientSet::flush(Client& c) {
  while (c.queue && c.head < c.tail) {
    ssize_t n = ::send(c.fd, c.queue + c.head, c.tail - c.head, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      drop(static_cast<int>(&c - clients_));
      return;
    }
    c.head += static_cast<size_t>(n);
  }
  if (c.queue) {
    ::munmap(c.queue, kClientBufferMax);
    c.queue = nullptr;
    c.head = c.tail = 0;
  }
}

void ClientSet::updateEvents(int slot) {
  Client& c = clients_[slot];
  if (c.fd < 0) return;
  uint32_t want =
      (paused_ || c.read_eof ? 0u : uint32_t{EPOLLIN}) | (c.queue ? uint32_t{EPOLLOUT} : 0u);
  if (want == c.registered) return;
  struct epoll_event ev {};
  ev.events = want;
  ev.data.u64 = tag_base_ + static_cast<uint64_t>(slot);
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev) == 0) c.registered = want;
}

void ClientSet::pauseInput(bool paused) {
  if (paused == paused_) return;
  paused_ = paused;
  for (int i = 0; i < kMaxClients; ++i) updateEvents(i);
}

bool ClientSet::anyQueued() const {
  for (const auto& c : clients_) {
    if (c.fd >= 0 && c.queue) return true;
  }
  return false;
}

int ClientSet::count() const {
  int n = 0;
  for (const auto& c : clients_) n += c.fd >= 0;
  return n;
}

void ClientSet::drop(int slot) {
  Client& c = clients_[slot];
  if (c.fd < 0) return;
  // Explicitly: a runtime child between fork and exec may still share the descriptor.
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
  ::close(c.fd);
  if (c.queue) ::munmap(c.queue, kClientBufferMax);
  c = Client{};
}

void ClientSet::closeAll() {
  for (int i = 0; i < kMaxClients; ++i) drop(i);
}

}  // namespace berth::monitor
