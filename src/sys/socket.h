#pragma once
// Unix-socket helpers: connect by path, pass a file descriptor (SCM_RIGHTS), and open a
// pseudo-terminal pair, as the OCI --console-socket protocol needs.

#include <string>
#include <vector>

#include "common/result.h"

namespace berth::sys {

// A connected SOCK_STREAM unix socket to `path` (close-on-exec).
Result<int> connectUnix(const std::string& path);
// Sends `fd` with `payload` (the terminal's name, as runc does) in one message.
Status sendFd(int sock, int fd, const std::string& payload);
// Receives one descriptor sent with sendFd.
Result<int> recvFd(int sock);

// One message and the descriptors that came with it (close-on-exec), as a pooled runtime
// receives its request (src/monitor/protocol.h). An empty message without descriptors
// means the peer closed its end.
struct Message {
  std::string data;
  std::vector<int> fds;
};
Result<Message> recvMessage(int sock, size_t max_size, size_t max_fds);

struct Pty {
  int master = -1;
  int slave = -1;
  std::string slave_name;
};
// Opens /dev/ptmx as seen by the calling process (the container's devpts after
// pivot_root) and its slave.
Result<Pty> openPty();

}  // namespace berth::sys
