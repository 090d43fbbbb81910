#include "runtime/terminal.h"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <initializer_list>

namespace berth::runtime {
namespace {

volatile pid_t g_forward_to = 0;
void forwardSignal(int sig) {
  if (g_forward_to > 0) ::kill(g_forward_to, sig);
}

}  // namespace

void forwardSignalsTo(pid_t pid) {
  g_forward_to = pid;
  if (pid == 0) return;
  struct sigaction sa {};
  sa.sa_handler = forwardSignal;
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH}) {
    ::sigaction(sig, &sa, nullptr);
  }
}

void proxyTerminal(int master) {
  struct termios saved {};
  bool raw = ::isatty(0) && ::tcgetattr(0, &saved) == 0;
  if (raw) {
    struct termios t = saved;
    ::cfmakeraw(&t);
    ::tcsetattr(0, TCSANOW, &t);
    struct winsize ws {};
    if (::ioctl(0, TIOCGWINSZ, &ws) == 0) ::ioctl(master, TIOCSWINSZ, &ws);
  }
  bool stdin_open = true;
  char buf[8192];
  while (true) {
    struct pollfd fds[2] = {{master, POLLIN, 0},
                            {0, static_cast<short>(stdin_open ? POLLIN : 0), 0}};
    int r = ::poll(fds, stdin_open ? 2 : 1, -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(master, buf, sizeof buf);
      if (n <= 0) break;
      (void)!::write(1, buf, static_cast<size_t>(n));
    }
    if (stdin_open && (fds[1].revents & (POLLIN | POLLHUP))) {
      ssize_t n = ::read(0, buf, sizeof buf);
      if (n <= 0) {
        stdin_open = false;
        char eot = 4;  // end of input for the container's line discipline
        (void)!::write(master, &eot, 1);
      } else {
        (void)!::write(master, buf, static_cast<size_t>(n));
      }
    }
  }
  if (raw) ::tcsetattr(0, TCSANOW, &saved);
}

}  // namespace berth::runtime
