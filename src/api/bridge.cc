#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "api/native_routes.h"
#include "engine/monitor_client.h"
#include "monitor/protocol.h"

namespace berth::api {

namespace {

bool sendAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

std::optional<int> bridge(int client, int monitor_fd, bool tty, bool want_stdin, bool want_stdout,
                          bool want_stderr) {
  std::string frames;  // from the monitor, not yet complete
  bool client_in = true;
  bool client_out = true;
  std::optional<int> exit_code;
  for (;;) {
    pollfd p[2] = {{monitor_fd, POLLIN, 0}, {client, POLLIN, 0}};
    nfds_t n = client_in ? 2 : 1;
    if (::poll(p, n, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    char buf[32768];
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = ::read(monitor_fd, buf, sizeof buf);
      if (r <= 0) break;
      frames.append(buf, static_cast<size_t>(r));
      while (auto f = engine::takeFrame(frames)) {
        if (auto code = engine::exitCodeIn(*f)) {
          exit_code = code;
        } else if (client_out && ((f->type == monitor::kStdout && want_stdout) ||
                                  (f->type == monitor::kStderr && want_stderr))) {
          std::string out = tty ? f->payload : engine::encodeFrame(f->type, f->payload);
          if (!sendAll(client, out.data(), out.size())) client_out = false;
        }
      }
      if (exit_code) break;
      if (!client_out && !client_in) break;
    }
    if (client_in && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t r = ::read(client, buf, sizeof buf);
      if (r <= 0) {
        // The client closed its sending side (end of stdin) or went away.
        client_in = false;
        if (want_stdin) (void)engine::writeFrame(monitor_fd, monitor::kCloseStdin, {});
        if (r < 0 || !client_out) break;
      } else if (want_stdin) {
        if (!engine::writeFrame(monitor_fd, monitor::kStdin, std::string_view(buf, r))) break;
      }
    }
  }
  ::shutdown(client, SHUT_RDWR);
  return exit_code;
}

}  // namespace berth::api
