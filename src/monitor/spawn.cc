#include "monitor/spawn.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include <initializer_list>

#include "monitor/io.h"
#include "monitor/json_log.h"
#include "monitor/text.h"

namespace berth::monitor {

pid_t forkWithStdio(const int stdio[3]) {
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig : {SIGINT, SIGHUP, SIGPIPE, SIGTERM}) ::sigaction(sig, &dfl, nullptr);
  // dup2 clears close-on-exec on the copies; the originals are close-on-exec.
  for (int fd = 0; fd < 3; ++fd) {
    if (stdio[fd] >= 0 && stdio[fd] != fd) ::dup2(stdio[fd], fd);
  }
  return 0;
}

void execOrReport(const char* const* argv, const char* error_log) {
  ::execv(argv[0], const_cast<char* const*>(argv));
  int err = errno;
  TextBuf<1024> msg;
  msg.add("berth-monitor: exec '").add(argv[0]).add("': ");
  addErrno(msg, err);
  appendErrorLine(error_log, msg.c_str());
  ::_exit(127);
}

}  // namespace berth::monitor
