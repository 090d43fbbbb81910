#pragma once
// Unix-socket helpers: connect by path, pass a file descriptor (SCM_RIGHTS), and open a
// pseudo-terminal pair, as the OCI --console-socket protocol needs.

#include <string>

#include "common/result.h"

namespace berth::sys {

// A connected SOCK_STREAM unix socket to `path` (close-on-exec).
Result<int> connectUnix(const std::string& path);
// Sends `fd` with `payload` (the terminal's name, as runc does) in one message.
Status sendFd(int sock, int fd, const std::string& payload);
// Receives one descriptor sent with sendFd.
Result<int> recvFd(int sock);

struct Pty {
  int master = -1;
  int slave = -1;
  std::string slave_name;
};
// Opens /dev/ptmx as seen by the calling process (the container's devpts after
// pivot_root) and its slave.
Result<Pty> openPty();

}  // namespace berth::sys
