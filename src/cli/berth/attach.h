#pragma once
// The client side of an attached container or exec: the hijacked connection's output to
// our stdout/stderr (frames demultiplexed, or raw with a terminal), our stdin to it, and
// signals that arrive meanwhile handed to a callback (forwarded with POST kill, or a
// window resize).

#include <csignal>
#include <functional>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "sys/fd.h"

namespace berth::cli {

// Blocks `signals` for the process and reads them from a signalfd instead, from
// construction (before the container starts, so none is lost) to destruction, which
// unblocks them again. One at a time per process; single-threaded callers.
class SignalWatch {
 public:
  explicit SignalWatch(std::vector<int> signals);
  ~SignalWatch();
  SignalWatch(const SignalWatch&) = delete;
  SignalWatch& operator=(const SignalWatch&) = delete;
  int fd() const { return fd_.get(); }
  // The next pending signal, 0 if none.
  int take();

 private:
  sigset_t set_{}, old_{};
  sys::Fd fd_;
};

struct PumpOptions {
  bool tty = false;         // raw output; otherwise frames
  bool send_stdin = false;  // copy stdin; shutdown(SHUT_WR) at its end
  SignalWatch* signals = nullptr;
  // Called for each signal; returning false stops pumping (pump returns that signal).
  std::function<bool(int signo)> on_signal;
};

// Pumps until the daemon closes the connection (the output ended): returns 0, or the
// signal for which on_signal asked to stop. `early` are stream bytes that came with the
// response head.
Result<int> pump(int conn, std::string_view early, const PumpOptions& options);

// The signals that run and start -a forward to the container without a terminal.
std::vector<int> forwardedSignals();

}  // namespace berth::cli
