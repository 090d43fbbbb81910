#pragma once
// The local terminal for `run -it` and `exec -it`: raw mode that is always undone, and the
// window size to pass on to the container's terminal.

#include <termios.h>

#include <optional>

namespace berth::cli {

struct WindowSize {
  int rows = 0;
  int cols = 0;
};

// The size of the terminal on `fd`; nullopt when `fd` is not a terminal.
std::optional<WindowSize> windowSize(int fd);

// Raw mode on a terminal for the lifetime of the object. The saved settings are restored
// by restore() or the destructor, whichever comes first; a no-op when `fd` is not a
// terminal. Not copyable.
class RawTerminal {
 public:
  explicit RawTerminal(int fd);
  ~RawTerminal() { restore(); }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

  bool active() const { return active_; }
  void restore();

 private:
  int fd_;
  bool active_ = false;
  termios saved_{};
};

}  // namespace berth::cli
