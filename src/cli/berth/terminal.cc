#include "cli/berth/terminal.h"

#include <sys/ioctl.h>
#include <unistd.h>

namespace berth::cli {

std::optional<WindowSize> windowSize(int fd) {
  winsize ws{};
  if (!::isatty(fd) || ::ioctl(fd, TIOCGWINSZ, &ws) != 0) return std::nullopt;
  return WindowSize{ws.ws_row, ws.ws_col};
}

RawTerminal::RawTerminal(int fd) : fd_(fd) {
  if (!::isatty(fd) || ::tcgetattr(fd, &saved_) != 0) return;
  termios raw = saved_;
  ::cfmakeraw(&raw);
  if (::tcsetattr(fd, TCSANOW, &raw) == 0) active_ = true;
}

void RawTerminal::restore() {
  if (!active_) return;
  ::tcsetattr(fd_, TCSANOW, &saved_);
  active_ = false;
}

}  // namespace berth::cli
