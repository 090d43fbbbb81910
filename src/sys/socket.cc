#include "sys/socket.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/strings.h"

namespace berth::sys {

Result<int> connectUnix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    return invalidArgument("socket path " + quote(path) + " is too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errnoError("create socket", errno);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    ::close(fd);
    return errnoError("connect to console socket " + quote(path), err);
  }
  return fd;
}

Status sendFd(int sock, int fd, const std::string& payload) {
  std::string data = payload.empty() ? std::string(1, '\0') : payload;
  iovec iov{const_cast<char*>(data.data()), data.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cm), &fd, sizeof(int));
  if (::sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) return errnoError("send terminal descriptor", errno);
  return okStatus();
}

Result<int> recvFd(int sock) {
  char buf[4096];
  iovec iov{buf, sizeof buf};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  if (::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) < 0) return errnoError("receive descriptor", errno);
  cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  if (!cm || cm->cmsg_type != SCM_RIGHTS) return internalError("receive descriptor: none was sent");
  int fd;
  std::memcpy(&fd, CMSG_DATA(cm), sizeof(int));
  return fd;
}

Result<Message> recvMessage(int sock, size_t max_size, size_t max_fds) {
  Message out;
  out.data.resize(max_size);
  iovec iov{out.data.data(), out.data.size()};
  std::vector<char> control(CMSG_SPACE(sizeof(int) * max_fds));
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  ssize_t n;
  while ((n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
  }
  if (n < 0) return errnoError("receive message", errno);
  out.data.resize(static_cast<size_t>(n));
  for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
      out.fds.push_back(fd);
    }
  }
  if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
    for (int fd : out.fds) ::close(fd);
    return invalidArgument("receive message: longer than " + std::to_string(max_size) +
                           " bytes or " + std::to_string(max_fds) + " descriptors");
  }
  return out;
}

Result<Pty> openPty() {
  Pty p;
  p.master = ::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (p.master < 0) return errnoError("open '/dev/ptmx'", errno);
  int unlock = 0;
  if (::ioctl(p.master, TIOCSPTLCK, &unlock) != 0) {
    int err = errno;
    ::close(p.master);
    return errnoError("unlock terminal", err);
  }
  // TIOCGPTPEER opens the slave through the master, immune to /dev/pts games.
  p.slave = ::ioctl(p.master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  int num = 0;
  if (p.slave < 0 || ::ioctl(p.master, TIOCGPTN, &num) != 0) {
    int err = errno;
    ::close(p.master);
    return errnoError("open terminal slave", err);
  }
  p.slave_name = "/dev/pts/" + std::to_string(num);
  return p;
}

}  // namespace berth::sys
