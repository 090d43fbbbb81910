#include "cli/berth/attach.h"

#include <poll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "cli/berth/frames.h"

namespace berth::cli {

namespace {

Status writeAll(int fd, std::string_view data, const char* what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errnoError(std::string("write ") + what, errno);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return okStatus();
}

class Output {
 public:
  explicit Output(bool tty) : tty_(tty) {}

  Status take(std::string_view data) {
    if (tty_) return writeAll(1, data, "stdout");
    Status out;
    auto s = decoder_.feed(data, [&](StreamId id, std::string_view payload) {
      if (!out) return;
      bool err = id == StreamId::kStderr || id == StreamId::kSystemErr;
      out = writeAll(err ? 2 : 1, payload, err ? "stderr" : "stdout");
    });
    if (!s) return s;
    return out;
  }

 private:
  bool tty_;
  FrameDecoder decoder_;
};

}  // namespace

SignalWatch::SignalWatch(std::vector<int> signals) {
  sigemptyset(&set_);
  for (int s : signals) sigaddset(&set_, s);
  ::sigprocmask(SIG_BLOCK, &set_, &old_);
  fd_ = sys::Fd(::signalfd(-1, &set_, SFD_CLOEXEC | SFD_NONBLOCK));
}

SignalWatch::~SignalWatch() {
  fd_.reset();
  ::sigprocmask(SIG_SETMASK, &old_, nullptr);
}

int SignalWatch::take() {
  signalfd_siginfo info{};
  if (!fd_.valid() || ::read(fd_.get(), &info, sizeof(info)) != sizeof(info)) return 0;
  return static_cast<int>(info.ssi_signo);
}

std::vector<int> forwardedSignals() { return {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}; }

Result<int> pump(int conn, std::string_view early, const PumpOptions& o) {
  Output output(o.tty);
  if (!early.empty()) BERTH_RETURN_IF_ERROR(output.take(early));
  bool stdin_open = o.send_stdin;
  std::string buf(64 * 1024, '\0');
  while (true) {
    pollfd fds[3];
    nfds_t n = 0;
    fds[n++] = {conn, POLLIN, 0};
    int sig_index = -1, in_index = -1;
    if (o.signals && o.signals->fd() >= 0) {
      sig_index = static_cast<int>(n);
      fds[n++] = {o.signals->fd(), POLLIN, 0};
    }
    if (stdin_open) {
      in_index = static_cast<int>(n);
      fds[n++] = {0, POLLIN, 0};
    }
    if (::poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      return errnoError("poll", errno);
    }
    if (sig_index >= 0 && fds[sig_index].revents) {
      for (int sig; (sig = o.signals->take()) != 0;)
        if (o.on_signal && !o.on_signal(sig)) return sig;
    }
    if (fds[0].revents) {
      ssize_t got = ::read(conn, buf.data(), buf.size());
      if (got < 0 && errno == EINTR) continue;
      if (got < 0 && errno != ECONNRESET) return errnoError("read from the daemon", errno);
      if (got <= 0) return 0;
      BERTH_RETURN_IF_ERROR(output.take(std::string_view(buf.data(), static_cast<size_t>(got))));
    }
    if (in_index >= 0 && fds[in_index].revents) {
      ssize_t got = ::read(0, buf.data(), buf.size());
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {  // end of input (or a hung-up terminal): close the container's stdin
        stdin_open = false;
        ::shutdown(conn, SHUT_WR);
        continue;
      }
      auto s = writeAll(conn, std::string_view(buf.data(), static_cast<size_t>(got)), "stdin");
      if (!s) {  // the container closed its stdin; its output may still come
        stdin_open = false;
      }
    }
  }
}

}  // namespace berth::cli
